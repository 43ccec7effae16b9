"""Annotation speed: a 45-minute lesson with 5,000 annotations.

Times, server-side through the Flask test client (no network): the first page of the list
(100 and 500 per page), the summary by kind and criterion, and each export format, median of several runs.
Targets: a list page under 100 ms; all exports together under 2 s.

    .venv/bin/python bench/annotations.py [--annotations 5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from obsapp import create_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotations", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="obsapp-bench-"))
    app = create_app({"INSTANCE_PATH": str(tmp), "ENV": "testing", "TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "MEDIA_ROOT": str(tmp / "media"),
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    from obsapp import setup
    from obsapp.accounts import services as accounts
    from obsapp.annotations.models import Annotation
    from obsapp.extensions import db
    from obsapp.frameworks.models import Criterion
    from obsapp.lessons.models import Lesson

    with app.app_context():
        setup.initialise(app)
        mentor = accounts.create_user(None, email="m@bench.test", name="Mentor", password="bench-pass")
        owner = accounts.create_user(None, email="o@bench.test", name="Owner", password="bench-pass")
        accounts.create_mentorship(None, mentor, owner)
        lesson = Lesson(owner_id=owner.id, title="Bench lesson", status="ready", duration_ms=45 * 60 * 1000)
        db.session.add(lesson)
        db.session.commit()
        criteria = list(db.session.query(Criterion).all())
        rng = random.Random(7)
        started = time.perf_counter()
        for n in range(args.annotations):
            start = rng.randrange(0, lesson.duration_ms - 10_000)
            db.session.add(Annotation(
                lesson_id=lesson.id, author_id=mentor.id, start_ms=start,
                end_ms=start + rng.randrange(1000, 9000) if n % 2 else None,
                body=f"Observation {n}: students respond to **question** {n % 17}.",
                kind=("strength", "growth", "question", "note")[n % 4], criteria=rng.sample(criteria, 2)))
        db.session.commit()
        print(f"created {args.annotations} annotations in {time.perf_counter() - started:.1f} s")
        _, token = accounts.create_token(None, mentor, "bench")
        lesson_id = lesson.id

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def timed(path: str) -> float:
        samples = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = client.get(path, headers=headers)
            response.get_data()
            samples.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        return statistics.median(samples) * 1000

    rows = [(f"list, {n} per page", timed(f"/api/v1/lessons/{lesson_id}/annotations?per_page={n}"), 100)
            for n in (100, 500)]
    rows.append(("summary", timed(f"/api/v1/lessons/{lesson_id}/annotations/summary"), None))
    exports = [(f"export {fmt}", timed(f"/api/v1/lessons/{lesson_id}/annotations/export?format={fmt}"), None)
               for fmt in ("csv", "vtt", "w3c", "eaf")]
    print(f"\n{'what':<24}{'median ms':>12}{'target ms':>12}")
    for name, ms, target in rows + exports:
        print(f"{name:<24}{ms:>12.1f}{(target or ''):>12}")
    total = sum(ms for _, ms, _ in exports)
    print(f"{'all exports':<24}{total:>12.1f}{2000:>12}")


if __name__ == "__main__":
    main()
