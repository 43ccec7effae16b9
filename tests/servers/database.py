"""Which database the test run uses, and new empty databases of that kind for whatever needs its own (the app's
test database, a real `obsapp serve`, a CLI run).

SQLite by default. `OBSAPP_TEST_DATABASE=postgresql`: a throwaway PostgreSQL server for the run
(tests/servers/postgres.py). `OBSAPP_TEST_DATABASE_URL=postgresql+psycopg://...`: the app's tests use that
database, and the other databases are made beside it on the same server (its role needs CREATEDB).
"""

from __future__ import annotations

import itertools
import os
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url

from tests.servers.postgres import postgres_server

_names = itertools.count(1)
_admin_url: URL | None = None  # the run's PostgreSQL server (its maintenance database), when the run uses one
_made: list[str] = []


def kind() -> str:
    """'sqlite' or 'postgresql': the backend this test run's databases use."""
    external = os.environ.get("OBSAPP_TEST_DATABASE_URL")
    if external:
        return make_url(external).get_backend_name()
    return os.environ.get("OBSAPP_TEST_DATABASE", "sqlite")


def on_postgresql() -> bool:
    return kind() == "postgresql"


@contextmanager
def database_server():
    """For the whole run (a session fixture): start (or reach) the run's database server."""
    global _admin_url
    wanted = kind()
    if wanted == "sqlite":
        yield
        return
    if wanted != "postgresql":
        raise pytest.UsageError(f"OBSAPP_TEST_DATABASE={wanted!r}: use sqlite or postgresql")
    with ExitStack() as stack:
        external = os.environ.get("OBSAPP_TEST_DATABASE_URL")
        if external:
            _admin_url = make_url(external).set(database="postgres")
        else:
            _admin_url = make_url(stack.enter_context(postgres_server()).url())
        try:
            yield
        finally:
            if external:  # a server of the developer's own: leave it as it was
                _drop(*_made)
            _admin_url = None


def admin_engine():
    """An AUTOCOMMIT engine on the server's maintenance database (CREATE/DROP DATABASE); dispose it after use."""
    return create_engine(_admin_url, isolation_level="AUTOCOMMIT")


def new_database_url(folder: Path, name: str) -> str:
    """The URL of a new, empty database named after `name`: a file in `folder` on SQLite, else a database of its
    own on the run's PostgreSQL server."""
    if _admin_url is None:
        if on_postgresql():
            raise RuntimeError("the PostgreSQL server is not started (tests/conftest.py's _database_server)")
        return f"sqlite:///{Path(folder) / name}.db"
    database = f"obsapp_{name}_{os.getpid()}_{next(_names)}"
    _drop(database)
    engine = admin_engine()
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    engine.dispose()
    _made.append(database)
    return _admin_url.set(database=database).render_as_string(hide_password=False)


def _drop(*databases: str) -> None:
    if not databases:
        return
    engine = admin_engine()
    with engine.connect() as conn:
        for database in databases:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    engine.dispose()
