"""The command line of the contract, run as a real process from another working directory."""

import json
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.servers.database import new_database_url
from tests.waiting import HANG_GUARD_S, wait_for_server

OBSAPP = str(Path(sys.executable).parent / "obsapp")


@pytest.fixture
def cli_env(tmp_path):
    import os

    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp_path / "inst"), "OBSAPP_MEDIA_ROOT": str(tmp_path / "media"),
           "OBSAPP_DATABASE_URL": new_database_url(tmp_path, "cli")}

    def run(*args, check=True, **settings):
        """``settings``: environment variables to set for this run (None removes one)."""
        run_env = {**env, **settings}
        run_env = {k: v for k, v in run_env.items() if v is not None}
        return subprocess.run([OBSAPP, *args], env=run_env, cwd="/", capture_output=True, text=True, timeout=300,
                              check=check)

    run.env = env
    run.tmp = tmp_path
    return run


def test_init_is_idempotent_and_creates_the_store(cli_env):
    first = cli_env("init")
    assert "Database ready" in first.stdout
    second = cli_env("init")
    assert second.returncode == 0
    for area in ("originals", "renditions", "derived", "tmp"):
        assert (cli_env.tmp / "media" / area).is_dir()


def test_users_tokens_mentorships(cli_env):
    cli_env("init")
    out = cli_env("users", "create", "boss@school.test", "--name", "Boss", "--password", "boss-pass-1", "--admin")
    assert "administrator boss@school.test" in out.stdout
    cli_env("users", "create", "m@school.test", "--name", "Mentor", "--password", "mentor-pass")
    cli_env("users", "create", "t@school.test", "--name", "Teacher", "--password", "teacher-pass")
    token = cli_env("tokens", "create", "t@school.test", "--name", "laptop")
    assert token.stdout.strip().startswith("obs_") and len(token.stdout.strip().splitlines()) == 1
    paired = cli_env("mentorships", "create", "m@school.test", "t@school.test")
    assert "Mentor now mentors Teacher" in paired.stdout
    again = cli_env("mentorships", "create", "m@school.test", "t@school.test", check=False)
    assert again.returncode == 1 and "already mentors" in again.stderr
    dup = cli_env("users", "create", "BOSS@school.test", "--name", "B", "--password", "whatever-1", check=False)
    assert dup.returncode == 1 and "already an account" in dup.stderr
    missing = cli_env("tokens", "create", "ghost@school.test", check=False)
    assert missing.returncode == 1 and "No account" in missing.stderr


def test_serve_answers_health_and_api(cli_env):
    import socket

    cli_env("init")
    cli_env("users", "create", "a@school.test", "--name", "A", "--password", "a-password")
    token = cli_env("tokens", "create", "a@school.test").stdout.strip()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([OBSAPP, "serve", "--port", str(port), "--no-jobs"], env=cli_env.env, cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(f"http://127.0.0.1:{port}", proc)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=HANG_GUARD_S)
        assert health.json() == {"status": "ok"}
        me = requests.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                          timeout=HANG_GUARD_S)
        assert me.json()["email"] == "a@school.test"
        assert "gunicorn" in (me.headers.get("Server") or "").lower()  # not the development server
    finally:
        proc.terminate()
        proc.wait(HANG_GUARD_S)  # gunicorn's graceful stop can take its time on a loaded machine


def test_demo_school_is_ready_to_use_and_idempotent(cli_env):
    cli_env("init")
    first = cli_env("demo", OBSAPP_LOG_FORMAT="json")
    assert "teacher@demo.school" in first.stdout and "(ready)" in first.stdout
    # JSON logs: every line one object; the lesson's ingest job logs with its job id
    entries = [json.loads(line) for line in first.stderr.splitlines() if line.strip()]
    job_lines = [e for e in entries if e["logger"] == "obsapp.jobs.worker" and "job_id" in e]
    assert job_lines, first.stderr
    for entry in job_lines:
        assert entry["message"].startswith(f"Job {entry['job_id']} ") and entry["level"] == "INFO"
        assert {"time", "level", "logger", "message"} <= entry.keys()
    assert any(e["message"].endswith("done") for e in job_lines)
    second = cli_env("demo")
    assert "Kept teacher@demo.school" in second.stdout and "Added the lesson" not in second.stdout
    assert "Added a goal" in first.stdout and "Added a goal" not in second.stdout
    from sqlalchemy import create_engine

    engine = create_engine(cli_env.env["OBSAPP_DATABASE_URL"])
    with engine.connect() as db:
        assert db.exec_driver_sql("select count(*) from lessons where status = 'ready'").scalar() == 1
        assert db.exec_driver_sql("select count(*) from annotations").scalar() == 4
        assert db.exec_driver_sql("select count(*) from annotation_replies").scalar() == 1
    engine.dispose()


def _one_line_error(result) -> str:
    """A failure is exit status 1 and one line on stderr starting 'Error:' (the last), never a traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and result.stderr.rstrip().splitlines()[-1] == errors[0], result.stderr
    return errors[0]


@pytest.mark.database_neutral(reason="the default SQLite file in a new instance folder, and a SQLite path; no other "
                                      "database")
def test_init_creates_a_missing_instance_folder(cli_env):
    instance = cli_env.tmp / "not" / "there" / "yet"
    done = cli_env("init", OBSAPP_INSTANCE_PATH=str(instance), OBSAPP_DATABASE_URL=None,
                   OBSAPP_SECRET_KEY="a-long-random-secret-for-this-test-0123456789")
    assert "Database ready" in done.stdout
    assert (instance / "obsapp.db").is_file()
    nested_db = cli_env.tmp / "db" / "in" / "here.db"
    cli_env("init", OBSAPP_DATABASE_URL=f"sqlite:///{nested_db}")
    assert nested_db.is_file()


@pytest.mark.database_neutral(reason="settings refused at start, and a SQLite path that cannot be opened")
@pytest.mark.parametrize(("settings", "expected"), [
    ({"OBSAPP_INSTANCE_PATH": "{file}"}, "is a file, not a folder"),
    ({"OBSAPP_JOB_BACKEND": "celery", "OBSAPP_REDIS_URL": ""}, "OBSAPP_JOB_BACKEND=celery needs OBSAPP_REDIS_URL"),
    ({"OBSAPP_DATABASE_URL": "sqlite:///{folder}"}, "The database could not be used (unable to open database file)"),
])
def test_a_setting_that_cannot_work_is_one_line(cli_env, settings, expected):
    """Each bad setting's own message is checked in tests/test_settings.py; here, that the command says it
    in one line, for settings read at start and for a database that cannot be opened."""
    (cli_env.tmp / "a-file").write_text("not a folder")
    (cli_env.tmp / "a-folder").mkdir()
    values = {k: v.format(file=cli_env.tmp / "a-file", folder=cli_env.tmp / "a-folder") for k, v in settings.items()}
    line = _one_line_error(cli_env("init", check=False, **values))
    assert expected in line


@pytest.mark.database_neutral(reason="--help opens no database")
def test_help_answers_despite_a_bad_setting(cli_env):
    helped = cli_env("--help", check=False, OBSAPP_LOG_FORMAT="xml")
    assert helped.returncode == 0 and "Traceback" not in helped.stderr
    assert helped.stderr.strip() == "Error: OBSAPP_LOG_FORMAT='xml' is not valid: use text or json."
    for command in ("init", "serve", "demo", "worker", "users", "tokens", "mentorships"):
        assert re.search(rf"^  {command} ", helped.stdout, re.M), helped.stdout


@pytest.mark.database_neutral(reason="how a failure is printed: a media folder, a short password, an unknown command")
def test_failures_during_a_command_are_one_line(cli_env):
    (cli_env.tmp / "a-file").write_text("not a folder")
    media = cli_env("init", check=False, OBSAPP_MEDIA_ROOT=str(cli_env.tmp / "a-file" / "media"))
    assert "Not a directory" in _one_line_error(media)
    cli_env("init")
    short = cli_env("users", "create", "x@school.test", "--name", "X", "--password", "short", check=False)
    assert "8" in _one_line_error(short)
    wrong = cli_env("nosuchcommand", check=False)
    assert wrong.returncode == 2 and "No such command" in wrong.stderr and "Traceback" not in wrong.stderr


def _lines_of(stream, lines: queue.Queue):
    for line in stream:
        lines.put(line)
    lines.put(None)


@pytest.mark.database_neutral(reason="the request id in the logs; the requests read no rows")
def test_json_logs_carry_the_request_id(cli_env):
    import socket

    cli_env("init")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([OBSAPP, "serve", "--port", str(port), "--no-jobs"], cwd="/", text=True,
                            env={**cli_env.env, "OBSAPP_LOG_FORMAT": "json"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_lines_of, args=(proc.stdout, lines), daemon=True).start()
    output = []
    try:
        while not any("obsapp serving on" in line for line in output):
            line = lines.get(timeout=120)
            assert line is not None, "".join(output)
            output.append(line)
        base = f"http://127.0.0.1:{port}"
        given = requests.get(f"{base}/healthz", headers={"X-Request-Id": "client-42.a:b"}, timeout=10)
        assert given.headers["X-Request-Id"] == "client-42.a:b"
        dirty = requests.get(f"{base}/api/v1/me", headers={"X-Request-Id": "evil\" id<script>" + "x" * 300},
                             timeout=10)
        assert dirty.status_code == 401
        cleaned = dirty.headers["X-Request-Id"]
        assert cleaned.startswith("evilidscriptxxx") and len(cleaned) == 128
        made = requests.get(f"{base}/login", timeout=10).headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made)
    finally:
        proc.terminate()
        proc.wait(30)
    while (line := lines.get(timeout=30)) is not None:
        output.append(line)
    entries = [json.loads(line) for line in output if line.strip()]  # every line is one JSON object
    access = {e["request_id"]: e for e in entries if e["logger"] == "obsapp.access"}
    assert access["client-42.a:b"] | {"time": None, "duration_ms": None} == {
        "time": None, "level": "INFO", "logger": "obsapp.access", "message": access["client-42.a:b"]["message"],
        "request_id": "client-42.a:b", "method": "GET", "path": "/healthz", "status": 200, "duration_ms": None,
        "remote_addr": "127.0.0.1"}
    assert isinstance(access["client-42.a:b"]["duration_ms"], float)
    assert access[cleaned]["status"] == 401 and access[cleaned]["path"] == "/api/v1/me"
    assert access[made]["path"] == "/login" and access[made]["status"] == 200
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # the server's own lines are JSON too
