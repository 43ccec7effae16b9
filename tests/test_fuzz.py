"""The API under a fuzzer: schemathesis generates requests from the OpenAPI document (valid and invalid ones,
path ids beyond any integer, bodies of the wrong shape ...) against a real `obsapp serve`, signed in as a
teacher with data, and checks every answer: never a 5xx, and status, content type, headers and body as the
document declares them (`--checks all`, less what tests/schemathesis.toml excludes and says why).

Bounded by a number of examples per operation and a fixed seed, so a run is repeatable; docs/api.md says how
to run the same fuzzer by hand for longer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, ROOT, VENV_BIN, _free_port
from tests.servers.database import new_database_url

pytestmark = pytest.mark.slow

CONFIG = Path(__file__).with_name("schemathesis.toml")
FUZZ_EMAIL = "fuzz.teacher@school.test"


def seed() -> None:
    """Run in a subprocess with the server's OBSAPP_* environment: a teacher with a mentor, lessons (one ready,
    with a timeline but no media files; one awaiting its upload; a colleague's shared with them), annotations
    (shared, private, the mentor's), a reply and a share. Prints the teacher's API token."""
    from obsapp import create_app
    from obsapp.accounts import services as accounts
    from obsapp.annotations import services as annotations
    from obsapp.extensions import db
    from obsapp.lessons import services as lessons

    app = create_app()
    with app.app_context():
        teacher = accounts.create_user(None, email=FUZZ_EMAIL, name="Fuzz Teacher", password=PASSWORD)
        mentor = accounts.create_user(None, email="fuzz.mentor@school.test", name="Fuzz Mentor", password=PASSWORD)
        colleague = accounts.create_user(None, email="fuzz.colleague@school.test", name="Fuzz Colleague",
                                         password=PASSWORD)
        accounts.create_mentorship(None, mentor, teacher)
        ready = lessons.create_lesson(teacher, {"title": "Fractions, P4", "subject": "Mathematics"})
        ready.status, ready.duration_ms, ready.width, ready.height, ready.fps, ready.has_audio = (
            "ready", 60_000, 640, 360, "25/1", False)
        lessons.create_lesson(teacher, {"title": "Waiting for its video"})
        theirs = lessons.create_lesson(colleague, {"title": "A colleague's lesson"})
        db.session.commit()
        lessons.share(colleague, theirs, teacher.id, "commenter")
        lessons.share(teacher, ready, colleague.id, "viewer")
        first = annotations.create(mentor, ready, {"start_ms": 3_000, "end_ms": 9_000, "kind": "strength",
                                                   "body": "A quick **review** to start."})
        annotations.create(teacher, ready, {"start_ms": 15_000, "kind": "question", "body": "Why this example?"})
        annotations.create(teacher, ready, {"start_ms": 30_000, "kind": "note", "body": "Only for me.",
                                            "visibility": "private"})
        annotations.add_reply(teacher, first, "Thanks, I will keep it short.")
        db.session.commit()
        print(accounts.create_token(None, teacher, "fuzz")[1])


def _drain(stream, log: Path, ready: threading.Event) -> None:
    with log.open("w") as out:
        for line in stream:
            out.write(line)
            out.flush()
            if "Listening at:" in line:
                ready.set()
    ready.set()  # the server ended: the waiter finds it dead


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A real `obsapp serve` of its own (the fuzzer's sign-in attempts must not rate-limit other tests' server),
    without the job worker: clips the fuzzer asks for stay queued instead of running ffmpeg meanwhile."""
    base = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": new_database_url(base, "fuzz"), "OBSAPP_LOG_LEVEL": "INFO",
           "OBSAPP_LOG_FORMAT": "json"}  # one JSON object per line: the access lines are read below
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    token = subprocess.run([sys.executable, "-c", "from tests.test_fuzz import seed; seed()"], env=env, cwd=ROOT,
                           check=True, capture_output=True, text=True, timeout=120).stdout.strip().splitlines()[-1]
    port = _free_port()
    log = base / "server.log"
    process = subprocess.Popen([obsapp, "serve", "--port", str(port), "--no-jobs"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    ready = threading.Event()
    drain = threading.Thread(target=_drain, args=(process.stdout, log, ready), daemon=True)
    drain.start()
    ready.wait(120)
    assert process.poll() is None, "obsapp serve did not start:\n" + log.read_text()
    yield {"url": f"http://127.0.0.1:{port}", "token": token, "log": log}
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
    drain.join(10)


def test_every_generated_request_gets_a_documented_answer_and_never_a_server_error(fuzz_server):
    result = subprocess.run(
        [str(VENV_BIN / "schemathesis"), "--config-file", str(CONFIG), "--no-color", "run",
         fuzz_server["url"] + "/api/v1/openapi.json", "--checks", "all",
         "--report", "json", "--report-json-path", str(fuzz_server["log"].with_name("report.json"))],
        env={**os.environ, "OBSAPP_FUZZ_TOKEN": fuzz_server["token"]}, cwd=fuzz_server["log"].parent,
        capture_output=True, text=True, timeout=1200)
    output = result.stdout + result.stderr
    fuzz_server["log"].with_name("schemathesis.txt").write_text(output)
    assert result.returncode == 0, output[-30000:]
    report = json.loads(fuzz_server["log"].with_name("report.json").read_text())
    assert report["complete"] and report["failures"] == [] and report["errors"] == [], output[-30000:]
    assert report["operations"]["tested"] == report["operations"]["selected"] >= 70
    assert report["test_cases"]["generated"] >= 1000
    lines = [json.loads(line) for line in fuzz_server["log"].read_text().splitlines() if line.startswith("{")]
    access = [(line["method"], line["path"], line["status"]) for line in lines if line["logger"] == "obsapp.access"]
    assert len(access) >= 1000, "the server's access lines are missing"
    assert not [line for line in access if line[2] >= 500], [line for line in access if line[2] >= 500][:20]
    assert not [line for line in lines if line.get("exception")], [line for line in lines if line.get("exception")][:3]
    # The fuzzer was signed in and reached the views: the teacher's data came back, not only 401s and 404s.
    assert ("GET", "/api/v1/me", 200) in access
    assert ("GET", "/api/v1/lessons", 200) in access
