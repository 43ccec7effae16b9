"""`obsapp db copy --to URL`: an install's rows into another, empty database of the other kind (SQLite into a
throwaway PostgreSQL server on the SQLite run; PostgreSQL into a SQLite file on the PostgreSQL run), through the
real command line, and the copy then serving as the install's database."""

from __future__ import annotations

import itertools
import os
import subprocess
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, func, select, table, text

from tests.conftest import PASSWORD, VENV_BIN
from tests.servers import database as test_database
from tests.servers.postgres import postgres_server

_names = itertools.count(1)
COUNTED = ("users", "mentorships", "api_tokens", "frameworks", "criteria")


@pytest.fixture(scope="module", name="other_server")
def other_database_server():
    """A throwaway PostgreSQL server when the run is on SQLite (one for the module)."""
    with ExitStack() as stack:
        yield None if test_database.on_postgresql() else stack.enter_context(postgres_server())


@pytest.fixture(name="install")
def obsapp_install(tmp_path, other_server):
    """An `obsapp` command line on a fresh install (the run's kind of database), and an empty database of the
    other kind to copy into."""
    with ExitStack():
        if other_server is None:
            target = f"sqlite:///{tmp_path / 'copy.db'}"
        else:
            target = other_server.create_database(f"obsapp_copy_{next(_names)}")
        env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp_path / "instance"),
               "OBSAPP_MEDIA_ROOT": str(tmp_path / "media"), "OBSAPP_SECRET_KEY": "a-secret-for-the-copy-test",
               "OBSAPP_DATABASE_URL": test_database.new_database_url(tmp_path, "source")}

        def obsapp(*args: str, url: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
            run_env = {**env, "OBSAPP_DATABASE_URL": url} if url else env
            result = subprocess.run([str(VENV_BIN / "obsapp"), *args], env=run_env, capture_output=True, text=True,
                                    timeout=300)
            assert not check or result.returncode == 0, result.stderr
            return result

        obsapp.env = env
        yield obsapp, env["OBSAPP_DATABASE_URL"], target


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        found = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in COUNTED}
    engine.dispose()
    return found


def test_copy_moves_every_row_and_the_copy_serves_the_install(install):
    obsapp, source, target = install
    obsapp("init")
    obsapp("users", "create", "mentor@school.test", "--name", "Mei Mentor", "--password", PASSWORD)
    obsapp("users", "create", "teacher@school.test", "--name", "Tan Teacher", "--password", PASSWORD)
    obsapp("mentorships", "create", "mentor@school.test", "teacher@school.test")
    token = obsapp("tokens", "create", "teacher@school.test").stdout.strip()
    before = counts(source)
    assert before["users"] == 2 and before["mentorships"] == 1 and before["criteria"] > 20

    result = obsapp("db", "copy", "--to", target)
    assert counts(target) == before
    assert "users: 2 rows" in result.stdout and "Copied" in result.stdout

    # the copy is the install's database now: its people sign in, its token still works, new rows get new ids
    obsapp("users", "create", "newcomer@school.test", "--name", "New Comer", "--password", PASSWORD, url=target)
    engine = create_engine(target)
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT email, id FROM users")).all())
    engine.dispose()
    assert ids["newcomer@school.test"] > max(ids["mentor@school.test"], ids["teacher@school.test"])
    assert counts(source)["users"] == 2  # the source is left as it was
    check = subprocess.run([str(VENV_BIN / "python"), "-c", CHECK_TOKEN, token], capture_output=True, text=True,
                           timeout=120, env={**obsapp.env, "OBSAPP_DATABASE_URL": target})
    assert check.stdout.strip() == "Tan Teacher", check.stderr


CHECK_TOKEN = """
import sys
from obsapp import create_app
app = create_app({"TESTING": True})
response = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer " + sys.argv[1]})
print(response.get_json()["name"] if response.status_code == 200 else response.status_code)
"""


def test_copy_refuses_a_database_that_holds_data_and_changes_nothing(install):
    obsapp, _source, target = install
    obsapp("init")
    obsapp("users", "create", "one@school.test", "--name", "One Person", "--password", PASSWORD)
    obsapp("db", "copy", "--to", target)
    copied = counts(target)
    obsapp("users", "create", "two@school.test", "--name", "Two Person", "--password", PASSWORD)

    again = obsapp("db", "copy", "--to", target, check=False)
    assert again.returncode == 1
    assert "already holds obsapp data" in again.stderr and "Traceback" not in again.stderr
    assert counts(target) == copied


def test_a_bad_target_is_one_readable_line(install):
    obsapp, source, _target = install
    obsapp("init")
    for url, words in (("not a url", "is not a database URL"),
                       ("mysql://someone@localhost/obsapp", "SQLite or PostgreSQL"),
                       (source, "this install's own database")):
        result = obsapp("db", "copy", "--to", url, check=False)
        assert result.returncode == 1 and words in result.stderr, (url, result.stderr)
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
