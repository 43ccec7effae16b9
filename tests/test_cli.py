"""The command line of the contract, run as a real process from another working directory."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.waiting import HANG_GUARD_S, wait_for_server

OBSAPP = str(Path(sys.executable).parent / "obsapp")


@pytest.fixture
def cli_env(tmp_path):
    import os

    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp_path / "inst"), "OBSAPP_MEDIA_ROOT": str(tmp_path / "media"),
           "OBSAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args, check=True):
        return subprocess.run([OBSAPP, *args], env=env, cwd="/", capture_output=True, text=True, timeout=120,
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
        proc.wait(20)


def test_demo_school_is_ready_to_use_and_idempotent(cli_env):
    cli_env("init")
    first = cli_env("demo")
    assert "teacher@demo.school" in first.stdout and "(ready)" in first.stdout
    second = cli_env("demo")
    assert "Kept teacher@demo.school" in second.stdout and "Added the lesson" not in second.stdout
    import sqlite3

    db = sqlite3.connect(str(cli_env.tmp / "cli.db"))
    assert db.execute("select count(*) from lessons where status = 'ready'").fetchone()[0] == 1
    assert db.execute("select count(*) from annotations").fetchone()[0] == 4
    assert db.execute("select count(*) from annotation_replies").fetchone()[0] == 1
