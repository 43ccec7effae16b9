"""``obsapp demo``: a small demo school anyone can sign in to. Safe to run again."""

from __future__ import annotations

import logging
import subprocess
import tempfile
import threading
from pathlib import Path

from flask import Flask
from sqlalchemy import select, update

from obsapp import uow
from obsapp.accounts import services as accounts
from obsapp.accounts.models import Mentorship, User
from obsapp.annotations import services as annotations
from obsapp.annotations.models import Annotation
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework
from obsapp.jobs.models import Job
from obsapp.jobs.worker import run_job
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.mentoring import services as mentoring
from obsapp.mentoring.models import Goal
from obsapp.storage import media_store

log = logging.getLogger(__name__)

PEOPLE = [
    # email, name, admin
    ("admin@demo.school", "Aisha Rahman (admin)", True),
    ("mentor@demo.school", "Mei Ling Tan", False),
    ("teacher@demo.school", "Daniel Lim", False),
    ("colleague@demo.school", "Priya Nair", False),
]


def _user(email: str, name: str, admin: bool, password: str) -> tuple[User, bool]:
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is not None:
        return user, False
    return accounts.create_user(None, email=email, name=name, password=password, is_admin=admin), True


def _demo_video(path: Path, seconds: int = 60) -> None:
    """A generated 'lesson': colour bars with a moving pattern and a tone, 720p, H.264/AAC."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=960x540:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=330:beep_factor=4:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60",
         "-c:a", "aac", "-b:a", "96k", "-shortest", str(path)],
        check=True, timeout=300)


def load(app: Flask, *, password: str) -> list[str]:
    lines = []
    users = {}
    for email, name, admin in PEOPLE:
        users[email], created = _user(email, name, admin, password)
        lines.append(f"{'Created' if created else 'Kept'} {email} ({name})")
    mentor, teacher = users["mentor@demo.school"], users["teacher@demo.school"]
    paired = db.session.execute(select(Mentorship).where(
        Mentorship.mentor_id == mentor.id, Mentorship.mentee_id == teacher.id, Mentorship.ended_at.is_(None))).first()
    if not paired:
        accounts.create_mentorship(None, mentor, teacher)
        lines.append(f"{mentor.name} now mentors {teacher.name}")

    lesson = db.session.execute(select(Lesson).where(Lesson.owner_id == teacher.id,
                                                     Lesson.title == "Demo: Fractions, P4")).scalar_one_or_none()
    if lesson is None:

        lesson = lessons.create_lesson(teacher, {"title": "Demo: Fractions, P4", "subject": "Mathematics",
                                                 "level": "Primary 4",
                                                 "description": "A generated demo recording."})
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(tmp) / "demo-lesson.mp4"
            _demo_video(video)

            staged = media_store().tmp_root / f"demo-{lesson.id}.mp4"
            staged.parent.mkdir(parents=True, exist_ok=True)
            video.replace(staged) if video.stat().st_dev == staged.parent.stat().st_dev else staged.write_bytes(
                video.read_bytes())
            job = lessons.start_processing(lesson, staged, filename="demo-lesson.mp4", size=staged.stat().st_size)
        _process_now(app, job.id)
        lines.append(f"Added the lesson {lesson.title!r} ({lesson.status}).")
    if lesson.status == "ready" and not lesson_has_annotations(lesson):
        _annotate(lesson, mentor, teacher)
        lines.append("Added the mentor's feedback on it, tagged with STP and Rosenshine criteria.")
    if not db.session.execute(select(Goal.id).where(Goal.teacher_id == teacher.id).limit(1)).first():
        checking = _criterion("stp", "AF.1")
        goal = mentoring.create_goal(mentor, {
            "teacher_id": teacher.id, "title": "See every pupil's answer",
            "success": "In each lesson I check the understanding of the whole class at least twice.",
            "criterion_ids": [checking.id] if checking is not None else []})
        mentoring.add_evidence(mentor, goal, {"lesson_id": lesson.id})
        mentoring.start_cycle(mentor, {"mentee_id": teacher.id, "focus": "Checking for understanding",
                                       "look_fors": "Mini-whiteboards; cold calling", "goal_ids": [goal.id]})
        lines.append("Added a goal with the lesson as evidence, and a planned observation cycle.")
    uow.commit()
    lines.append("")
    lines.append(f"Sign in at /login with any of the emails above and the password {password!r}.")
    return lines


def _process_now(app: Flask, job_id: int) -> None:
    """Run the demo lesson's ingest here and now, so the demo is ready to watch when the server starts."""
    result = db.session.execute(update(Job).where(Job.id == job_id, Job.state == "queued")
                                .values(state="running", worker="demo", attempts=Job.attempts + 1))
    uow.commit()  # the demo is its own job runner: what it made so far is saved before the job runs
    if result.rowcount == 1:
        run_job(app, job_id, "demo", threading.Event())
    db.session.expire_all()


def lesson_has_annotations(lesson: Lesson) -> bool:
    stmt = select(Annotation.id).where(Annotation.lesson_id == lesson.id).limit(1)
    return db.session.execute(stmt).first() is not None


def _criterion(slug: str, code: str):
    return db.session.execute(select(Criterion).join(Framework).where(
        Framework.slug == slug, Criterion.code == code, Framework.retired_at.is_(None))).scalar_one_or_none()


def _annotate(lesson: Lesson, mentor: User, teacher: User) -> None:
    feedback = [
        (3000, 9000, "strength", [("rosenshine", "R1"), ("stp", "LE.1")],
         "A quick **review of last lesson** got everyone thinking before the new material."),
        (15000, None, "question", [("stp", "LE.8")], "What made you choose this example first?"),
        (24000, 33000, "growth", [("rosenshine", "R6"), ("stp", "AF.1")],
         "Only two pupils answered here. Try mini-whiteboards so you can see every answer."),
        (45000, 52000, "strength", [("stp", "LE.5")], "Clear explanation with a worked model."),
    ]
    first = None
    for start, end, kind, codes, body in feedback:
        ids = [c.id for c in (_criterion(s, k) for s, k in codes) if c is not None]
        data = {"start_ms": start, "kind": kind, "body": body, "criterion_ids": ids}
        if end:
            data["end_ms"] = end
        annotation = annotations.create(mentor, lesson, data)
        first = first or annotation
    annotations.add_reply(teacher, first, "Thanks! I will keep the review to five minutes.")
