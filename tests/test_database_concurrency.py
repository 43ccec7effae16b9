"""What must hold when several connections change the database at once: on SQLite (the embedded default) and,
in `make test`'s second run, on PostgreSQL (OBSAPP_TEST_DATABASE=postgresql, tests/servers/database.py).
Each test has a database of its own (own_database): the connections commit for real."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import select, text

from obsapp.extensions import db
from tests.servers import database as test_database
from tests.waiting import HANG_GUARD_S

pg_only = pytest.mark.skipif(not test_database.on_postgresql(), reason=(
    "waits until PostgreSQL reports the second connection blocked on the first one's row lock "
    "(pg_stat_activity); SQLite has one writer and no such view"))


def test_the_run_uses_the_database_it_was_asked_for(app):
    """The PostgreSQL run must not quietly test SQLite (nor the other way round)."""
    assert db.engine.dialect.name == test_database.kind()
    if os.environ.get("OBSAPP_TEST_DATABASE") == "postgresql":
        assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg"


def _in_threads(app, count: int, work) -> list:
    """Run work(n) in `count` threads at once (each with its own app context, so its own session and connection);
    return their results, re-raising the first error."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(HANG_GUARD_S)
                results[n] = work(n)
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD_S)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]
    return results


def test_concurrent_claims_never_run_a_job_twice(app, own_database):
    from obsapp.jobs.models import Job
    from obsapp.jobs.worker import claim_next

    jobs = [Job(kind="tests.noop", args={"n": n}) for n in range(60)]
    db.session.add_all(jobs)
    db.session.commit()
    ids = sorted(job.id for job in jobs)

    def claim_all(n: int) -> list[int]:
        claimed = []
        while (job_id := claim_next(f"tests:{n}")) is not None:
            claimed.append(job_id)
        return claimed

    per_worker = _in_threads(app, 4, claim_all)
    claimed = sorted(job_id for worker in per_worker for job_id in worker)
    assert claimed == ids  # every job claimed, and none twice
    db.session.expire_all()
    rows = {job.id: job for job in db.session.execute(select(Job)).scalars()}
    for n, worker in enumerate(per_worker):
        for job_id in worker:  # the row says who has it, and that it was claimed once
            assert (rows[job_id].state, rows[job_id].worker, rows[job_id].attempts) == ("running", f"tests:{n}", 1)


def _blocked_on_a_lock(engine, application_name: str) -> None:
    """Wait until the connection named `application_name` waits for a lock (PostgreSQL's own view of it)."""
    deadline = time.monotonic() + HANG_GUARD_S
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name AND wait_event_type = 'Lock'"),
                {"name": application_name}).scalar()
            conn.commit()  # a fresh snapshot of the view each time
            if waiting:
                return
    raise AssertionError(f"{application_name} never waited for the lock")


@pg_only
def test_a_claim_waiting_for_another_claim_of_the_same_job_gets_nothing(app, own_database):
    """The conditional UPDATE ... WHERE state = 'queued' under READ COMMITTED: the second claimer waits for the
    first one's row lock, then re-checks the row, which is no longer queued."""
    from sqlalchemy import create_engine, update

    from obsapp.jobs.models import Job

    job = Job(kind="tests.noop", args={})
    db.session.add(job)
    db.session.commit()
    url = db.engine.url
    first = create_engine(url, connect_args={"application_name": "claim-first"})
    second = create_engine(url, connect_args={"application_name": "claim-second"})
    claim = update(Job).where(Job.id == job.id, Job.state == "queued").values(state="running", worker="w")
    outcome: dict = {}
    try:
        with first.connect() as a:
            assert a.execute(claim.values(worker="first")).rowcount == 1  # not committed yet: the row is locked

            def second_claims():
                with second.connect() as b:
                    outcome["rowcount"] = b.execute(claim.values(worker="second")).rowcount
                    b.commit()

            thread = threading.Thread(target=second_claims)
            thread.start()
            _blocked_on_a_lock(db.engine, "claim-second")
            a.commit()
            thread.join(HANG_GUARD_S)
            assert not thread.is_alive()
    finally:
        first.dispose()
        second.dispose()
    assert outcome["rowcount"] == 0
    db.session.expire_all()
    assert db.session.get(Job, job.id).worker == "first"


@pytest.fixture
def annotation(make_user, make_lesson):
    from obsapp.annotations import services

    owner = make_user()
    lesson = make_lesson(owner, status="ready", duration_ms=60_000)
    note = services.create(owner, lesson, {"start_ms": 1000, "body": "first words", "kind": "note"})
    db.session.commit()
    return owner, note.id


def test_two_edits_from_the_same_etag_one_wins_the_other_gets_412(app, own_database, annotation, api_as):
    """Two people (two connections) both loaded version 1; the second change to reach the database must be
    refused, even though its If-Match was right when its request began."""
    from obsapp.annotations import services
    from obsapp.errors import PreconditionFailed

    owner, annotation_id = annotation
    loaded = threading.Barrier(2)
    first_committed = threading.Event()

    def edit(n: int) -> str:
        with db.session.no_autoflush:
            actor = db.session.get(type(owner), owner.id)
            note = services.get_annotation(actor, annotation_id)
            etag = services.etag(note)
            loaded.wait(HANG_GUARD_S)  # both have read version 1
            if n == 1:
                assert first_committed.wait(HANG_GUARD_S)
            try:
                services.update(actor, note, {"body": f"edit {n}"}, etag)
                db.session.commit()
                return "changed"
            except PreconditionFailed:
                db.session.rollback()
                return "412"
            finally:
                if n == 0:
                    first_committed.set()

    assert _in_threads(app, 2, edit) == ["changed", "412"]
    # the first edit stands, and the API still answers with its version
    response = api_as(owner).get(f"/api/v1/annotations/{annotation_id}")
    assert response.json["body"] == "edit 0" and response.headers["ETag"] == f'"{annotation_id}-2"'


@pg_only
def test_a_patch_waiting_for_a_concurrent_patch_gets_412_not_a_lost_update(app, own_database, annotation):
    """Both PATCHes passed the If-Match check; the second one's UPDATE waits for the first one's row lock and then
    finds the version moved on: 412, and the first change is kept."""
    from obsapp.annotations import services
    from obsapp.annotations.models import Annotation
    from obsapp.errors import PreconditionFailed

    owner, annotation_id = annotation
    first_flushed = threading.Event()
    second_loaded = threading.Event()
    first_may_commit = threading.Event()
    outcome: dict = {}

    def first():
        with app.app_context():
            actor = db.session.get(type(owner), owner.id)
            note = services.get_annotation(actor, annotation_id)
            assert second_loaded.wait(HANG_GUARD_S)
            services.update(actor, note, {"body": "first"}, services.etag(note))  # flushed: the row is locked
            first_flushed.set()
            assert first_may_commit.wait(HANG_GUARD_S)
            db.session.commit()

    def second():
        with app.app_context():
            db.session.execute(text("SET application_name = 'patch-second'"))  # for _blocked_on_a_lock
            actor = db.session.get(type(owner), owner.id)
            note = services.get_annotation(actor, annotation_id)
            etag = services.etag(note)
            second_loaded.set()
            assert first_flushed.wait(HANG_GUARD_S)
            try:
                services.update(actor, note, {"body": "second"}, etag)
                db.session.commit()
                outcome["second"] = "changed"
            except PreconditionFailed:
                db.session.rollback()
                outcome["second"] = "412"

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    _blocked_on_a_lock(db.engine, "patch-second")
    first_may_commit.set()
    for thread in threads:
        thread.join(HANG_GUARD_S)
        assert not thread.is_alive()
    assert outcome == {"second": "412"}
    db.session.expire_all()
    stored = db.session.get(Annotation, annotation_id)
    assert (stored.body, stored.version) == ("first", 2)
