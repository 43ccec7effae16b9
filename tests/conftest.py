"""Shared fixtures: the app on one database per test run, each test inside a transaction that is rolled back
(tests that run jobs get a copy of the freshly initialised database instead), factories, API clients, sample
videos made with ffmpeg, a real `obsapp serve` and Playwright on Debian's chromium."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, event

from obsapp import create_app
from obsapp.extensions import db, limiter
from tests.servers import database as test_database
from tests.servers.oidc import sso_site  # noqa: F401 - obsapp serve signing in through a throwaway OIDC provider
from tests.servers.redis import redis_server  # noqa: F401 - the session's throwaway redis-server fixture
from tests.servers.s3 import s3_server  # noqa: F401 - the session's throwaway SeaweedFS (S3) fixture
from tests.waiting import wait_for_server

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("OBSAPP_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
PASSWORD = "pw-12345678"
_counter = itertools.count(1)
# OBSAPP_TEST_STORAGE=s3: the app fixtures (and the `obsapp serve` the tests start) keep media in a bucket of a
# throwaway SeaweedFS (tests/servers/s3.py) instead of a local folder.
TEST_STORAGE = os.environ.get("OBSAPP_TEST_STORAGE", "local")


def storage_settings(request, env: bool = False) -> dict:
    """The storage settings of an app under test: none (local) or a new bucket (OBSAPP_TEST_STORAGE=s3);
    ``env``: as OBSAPP_* environment variables for a process."""
    if TEST_STORAGE != "s3":
        return {}
    server = request.getfixturevalue("s3_server")
    settings = {"STORAGE": "s3", "S3_ENDPOINT_URL": server.endpoint_url, "S3_BUCKET": server.bucket(),
                "S3_REGION": "us-east-1"}
    return {f"OBSAPP_{k}": v for k, v in settings.items()} if env else settings


def stored_file(key: str) -> Path:
    """A local file with a stored key's bytes, to probe: the file itself (local store) or a download into the
    scratch folder (S3 store; emptied after each test)."""
    from obsapp.storage import LocalStore, media_store

    store = media_store()
    if isinstance(store, LocalStore):
        return store.path(key)
    target = store.tmp_root / f"stored-{next(_counter)}" / Path(key).name
    target.parent.mkdir(parents=True)
    store.client.download_file(store.bucket, key, str(target))
    return target


# --- the app and its database ---------------------------------------------------------------------
# SQLite by default; OBSAPP_TEST_DATABASE=postgresql runs every test on a throwaway PostgreSQL server
# (tests/servers/database.py), including the real `obsapp serve` processes the tests start.

@pytest.fixture(scope="session", autouse=True)
def _database_server():
    with test_database.database_server():
        yield


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.sqlite_only(reason=...)`: a test about SQLite or the embedded default itself is skipped, with
    its reason shown, when the run's database is PostgreSQL."""
    if not test_database.on_postgresql():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason="SQLite only: " + marker.kwargs["reason"]))


@pytest.fixture(scope="session")
def app(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("obsapp")
    app = create_app({
        **storage_settings(request),
        "INSTANCE_PATH": str(base / "instance"),
        "ENV": "testing",
        "TESTING": True,
        "DATABASE_URL": os.environ.get("OBSAPP_TEST_DATABASE_URL") or test_database.new_database_url(base, "test"),
        "MEDIA_ROOT": str(base / "media"),
        # Argon2id still, with cheap parameters so hundreds of accounts are quick to make.
        "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
        "JOB_WORKERS": 1,
    })
    from obsapp import setup

    with app.app_context():
        setup.initialise(app)
        engine = db.engine
        app.config["TEST_TEMPLATE_DATABASE"] = _make_template(engine, base)
        if engine.dialect.name == "sqlite":
            _transactional_sqlite(engine)
    # Tests join the per-test outer transaction through savepoints: a commit in the code under test releases
    # one, a rollback returns to it, and the outer transaction is rolled back after the test.
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    return app


def _transactional_sqlite(engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINT: let SQLAlchemy emit BEGIN itself (the
    workaround from SQLAlchemy's SQLite dialect documentation)."""

    @event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    engine.dispose()


def _make_template(engine, base: Path) -> str:
    """A copy of the freshly initialised database that tests running jobs start from."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        template = base / "template.db"
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        source, target = sqlite3.connect(url.database), sqlite3.connect(template)
        with target:
            source.backup(target)
        source.close()
        target.close()
        return str(template)
    name = f"{url.database}_template"
    engine.dispose()  # CREATE DATABASE ... TEMPLATE needs the template to have no other connection
    admin = test_database.admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    admin.dispose()
    return name


@contextmanager
def _own_database(app, engines, tmp_path):
    """A fresh copy of the template database, for code that commits from other connections or threads."""
    template = app.config["TEST_TEMPLATE_DATABASE"]
    url = engines[None].url
    if url.get_backend_name() == "sqlite":
        copy = tmp_path / "own.db"
        source, target = sqlite3.connect(template), sqlite3.connect(copy)
        with target:
            source.backup(target)
        source.close()
        target.close()
        engine = create_engine(url.set(database=str(copy)))
        yield engine
        engine.dispose()
        return
    name = f"{url.database}_own"
    admin = test_database.admin_engine()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    engine = create_engine(url.set(database=name), pool_pre_ping=True)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:  # FORCE: a job thread of the test may still hold a connection
            conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def own_database():
    """Request this (run_jobs does) for a test whose code commits from other connections: it gets its own copy
    of the initialised database instead of the rolled-back transaction (see _isolated)."""


@pytest.fixture(autouse=True)
def _isolated(request, app, tmp_path_factory):
    """Each test runs in a transaction that is rolled back (no table is ever wiped), with an empty media
    store and fresh rate limits."""
    ctx = app.app_context()
    ctx.push()
    engines = db.engines  # Flask-SQLAlchemy's binds of this app: what every session of the app connects to
    engine = engines[None]
    with ExitStack() as stack:
        if "own_database" in request.fixturenames:
            engines[None] = stack.enter_context(_own_database(app, engines, tmp_path_factory.mktemp("db")))
        else:
            connection = stack.enter_context(engine.connect())
            outer = connection.begin()
            stack.callback(outer.rollback)
            engines[None] = connection
        try:
            yield
        finally:
            db.session.remove()
            engines[None] = engine
    limiter.reset()
    # watch-together live state kept in this process's memory belongs to the rolled-back database: a session left
    # by one test must not meet the next test's lesson of the same id
    app.extensions.pop("obsapp.watch_state", None)
    media_root = Path(app.config["MEDIA_ROOT"])
    for area in ("originals", "renditions", "derived", "tmp"):
        shutil.rmtree(media_root / area, ignore_errors=True)
    from obsapp.storage import LocalStore, S3Store

    store = app.extensions["obsapp.media_store"]
    if isinstance(store, S3Store):  # an empty bucket for the next test
        for area in ("originals", "renditions", "derived", "tmp"):
            store.delete_prefix(area)
    LocalStore(media_root).ensure_layout()
    ctx.pop()


# --- factories ---------------------------------------------------------------------------------------

@pytest.fixture
def make_user():
    from obsapp.accounts import services

    def make(email: str | None = None, name: str | None = None, *, password: str = PASSWORD, admin: bool = False,
             active: bool = True):
        n = next(_counter)
        user = services.create_user(None, email=email or f"user{n}@school.test", name=name or f"Teacher {n}",
                                    password=password, is_admin=admin)
        if not active:
            services.update_user(None, user, active=False)
        db.session.commit()  # the test is the unit of work's boundary here
        return user

    return make


@pytest.fixture
def make_mentorship():
    from obsapp.accounts import services

    def make(mentor, mentee):
        mentorship = services.create_mentorship(None, mentor, mentee)
        db.session.commit()
        return mentorship

    return make


@pytest.fixture
def make_lesson():
    """A lesson row (no media) in any state, for permission and listing tests."""
    from obsapp.lessons.models import Lesson

    def make(owner, title: str = "A lesson", status: str = "awaiting_upload", **fields):
        lesson = Lesson(owner_id=owner.id, title=title, status=status, **fields)
        db.session.add(lesson)
        db.session.commit()
        return lesson

    return make


@pytest.fixture
def share():
    from obsapp.lessons.models import LessonShare

    def make(lesson, user, role="viewer"):
        row = LessonShare(lesson_id=lesson.id, user_id=user.id, role=role)
        db.session.add(row)
        db.session.commit()
        return row

    return make


# --- clients -----------------------------------------------------------------------------------------

class ApiClient:
    """Flask test client that calls the API as a user with a bearer token."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)


@pytest.fixture
def api_as(app):
    """api_as(user) -> ApiClient with a fresh token for that user; api_as(None) is anonymous."""
    from obsapp.accounts import services

    def make(user):
        token = services.create_token(None, user, "tests")[1] if user is not None else None
        db.session.commit()
        return ApiClient(app, token)

    return make


def csrf_token_of(client) -> str:
    html = client.get("/login", follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.fixture
def browser_client(app):
    """A cookie-session client signed in through the HTML form (CSRF and all)."""

    def make(user, password: str = PASSWORD):
        client = app.test_client()
        token = csrf_token_of(client)
        response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        client.csrf = csrf_token_of(client)
        return client

    return make


# --- sample media ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def media_samples(tmp_path_factory):
    from tests.media_samples import generate_samples

    return generate_samples(tmp_path_factory.mktemp("samples"))


# --- a real server and a real browser -------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    env: dict
    admin_token: str
    process: subprocess.Popen

    def cli(self, *args: str) -> str:
        result = subprocess.run([str(VENV_BIN / "obsapp"), *args], env=self.env, capture_output=True, text=True,
                                timeout=120, check=True)
        return result.stdout.strip()

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.admin_token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else self.url + path
        return requests.request(method, url, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def make_user(self, email: str | None = None, name: str | None = None, password: str = PASSWORD,
                  admin: bool = False) -> dict:
        n = next(_counter)
        email = email or f"person{n}-{time.time_ns() % 10**8}@school.test"
        response = self.api("POST", "/api/v1/users", json={"email": email, "name": name or f"Person {n}",
                                                            "password": password, "is_admin": admin})
        assert response.status_code == 201, response.text
        return response.json()

    def token_for(self, email: str) -> str:
        return self.cli("tokens", "create", email)

    def mentor(self, mentor_email: str, mentee_email: str) -> None:
        self.cli("mentorships", "create", mentor_email, mentee_email)


@pytest.fixture(scope="session")
def live_server(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("live")
    port = _free_port()
    env = {**os.environ, **storage_settings(request, env=True), "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": test_database.new_database_url(base, "live"), "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING"}
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([obsapp, "users", "create", "root@school.test", "--name", "Root Admin", "--password", PASSWORD,
                    "--admin"], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run([obsapp, "tokens", "create", "root@school.test"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    log = (base / "server.log").open("w")
    process = subprocess.Popen([obsapp, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for_server(url, process, base / "server.log")  # fails at once, with the log, if the server exits
    server = LiveServer(url=url, env=env, admin_token=token, process=process)
    yield server
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
            "--mute-audio"])
        yield browser
        browser.close()


def _track_errors(page):
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = _track_errors(context.new_page())
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def new_page(browser):
    """new_page() -> another signed-out page in its own browser context (a second person)."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = _track_errors(context.new_page())
        page.set_default_timeout(15000)
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def sign_in():
    def do(page, live_server, email: str, password: str = PASSWORD):
        page.goto(live_server.url + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")

    return do


# --- running jobs in the test process -------------------------------------------------------------------

@pytest.fixture
def run_jobs(app, own_database):
    """run_jobs() runs every queued job to its end in this thread (the real task code), returns how many.
    Jobs report progress on connections of their own, so these tests have a database of their own."""
    import threading

    from obsapp.jobs.worker import claim_next, run_job

    def run(limit: int = 20) -> int:
        count = 0
        while count < limit:
            job_id = claim_next("tests:0")
            if job_id is None:
                return count
            run_job(app, job_id, "tests:0", threading.Event())
            count += 1
        return count

    return run


@pytest.fixture
def upload_lesson(api_as, run_jobs):
    """upload_lesson(owner, path, title=..., **fields) -> a ready lesson's JSON (the real upload and ingest job)."""

    def make(person, path, title="Fractions P4", **fields):
        api = api_as(person)
        response = api.post("/api/v1/lessons", json={"title": title, **fields})
        assert response.status_code == 201, response.json
        lesson = response.json
        with open(path, "rb") as handle:
            response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                                content_type="multipart/form-data")
        assert response.status_code == 202, response.json
        run_jobs()
        lesson = api.get(f"/api/v1/lessons/{lesson['id']}").json
        assert lesson["status"] == "ready", lesson["error"]
        return lesson

    return make
