"""Job leases on the run's database (SQLite, or PostgreSQL with OBSAPP_TEST_DATABASE=postgresql): one claim wins,
the holder renews its lease, only the holder records progress and the end, and sweep() takes back the jobs of
workers that stopped answering (and only those)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from obsapp import uow
from obsapp.accounts.models import utcnow
from obsapp.extensions import db
from obsapp.jobs import queue, worker
from obsapp.jobs.models import Job

SEEN: dict[str, list] = {}  # what the test tasks saw, by task name


def _record(ctx, **args):
    SEEN.setdefault("test.record", []).append((ctx.job_id, ctx.attempt))
    return {"ran": True}


def _taken_over_meanwhile(ctx, **args):
    """As if this worker stalled past its lease: another worker's sweep takes the job back and claims it."""
    app = args_app[0]
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == ctx.job_id).values(lease_expires_at=utcnow() - timedelta(1)))
        uow.commit()
    assert worker.sweep(app) == 1
    with app.app_context():
        SEEN["new_token"] = worker.claim(app, ctx.job_id, "other-host:1:0")
    ctx.progress(0.5)  # the former holder's progress is not written any more
    return {"from": "the former holder"}


args_app: list = []


@pytest.fixture
def tasks(app, monkeypatch):
    SEEN.clear()
    args_app[:] = [app]
    monkeypatch.setitem(queue.TASKS, "test.record", queue.Task("test.record", _record, max_attempts=2))
    monkeypatch.setitem(queue.TASKS, "test.takeover", queue.Task("test.takeover", _taken_over_meanwhile))


def queued(kind: str = "test.record") -> int:
    job_id = queue.enqueue(kind).id
    uow.commit()
    return job_id


def row(job_id: int) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_of_many_racing_claims_exactly_one_wins(app, own_database, tasks):
    jobs = [queued() for _ in range(4)]
    for job_id in jobs:
        start = threading.Barrier(6)
        tokens: list = []

        def race(n: int, job_id=job_id, start=start, tokens=tokens) -> None:
            with app.app_context():
                start.wait()
                tokens.append(worker.claim(app, job_id, f"racer:{n}"))

        threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        winners = [token for token in tokens if token is not None]
        assert len(tokens) == 6 and len(winners) == 1
        job = row(job_id)
        assert (job.state, job.attempts, job.lease_token) == ("running", 1, winners[0])
        assert job.lease_expires_at > utcnow()


def test_the_holder_renews_its_lease_and_a_lost_lease_stops_its_job(app, own_database, tasks):
    job_id = queued()
    token = worker.claim(app, job_id, "me:1:0")
    first_expiry = row(job_id).lease_expires_at
    stop = worker.JobStop(threading.Event())
    lease = worker.Lease(app, job_id, token, stop)
    assert lease.renew() is True
    assert row(job_id).lease_expires_at >= first_expiry

    db.session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    uow.commit()
    assert worker.sweep(app) == 1
    job = row(job_id)
    assert (job.state, job.attempts, job.lease_token, job.worker) == ("queued", 1, None, None)
    assert lease.renew() is False  # no longer this worker's
    app.config["JOB_LEASE_SECONDS"], saved = 5, app.config["JOB_LEASE_SECONDS"]
    try:
        with worker.Lease(app, job_id, token, stop):  # its heartbeat finds the lease gone and stops the job
            assert stop.lease_lost.wait(30)
    finally:
        app.config["JOB_LEASE_SECONDS"] = saved
    assert stop.is_set()


def test_the_end_of_a_job_taken_over_is_not_recorded_by_its_former_holder(app, own_database, tasks):
    job_id = queued("test.takeover")
    assert worker.execute(app, job_id, "me:1:0", threading.Event()) is True
    job = row(job_id)
    # the other worker holds it now: neither the former holder's result nor its progress was written
    assert (job.state, job.worker, job.lease_token, job.result) == ("running", "other-host:1:0", SEEN["new_token"],
                                                                    None)
    assert job.attempts == 2 and job.progress == 0.0


def test_a_job_runs_to_done_under_its_lease(app, own_database, tasks):
    job_id = queued()
    assert worker.execute(app, job_id, "me:1:0", threading.Event()) is True
    job = row(job_id)
    assert (job.state, job.result, job.lease_token, job.lease_expires_at) == ("done", {"ran": True}, None, None)
    assert SEEN["test.record"] == [(job_id, 1)]
    assert worker.execute(app, job_id, "me:1:0", threading.Event()) is False  # a second message: nothing runs


def test_sweep_takes_back_only_jobs_whose_worker_stopped_answering(app, own_database, tasks):
    now = utcnow()
    live, dead_here, expired, spent = (queued() for _ in range(4))
    values = {
        live: {"worker": "another-host:1:0", "lease_expires_at": now + timedelta(minutes=5), "attempts": 1},
        dead_here: {"worker": f"{worker.HOST}:{dead_pid()}:0", "lease_expires_at": now + timedelta(minutes=5),
                    "attempts": 1},
        expired: {"worker": "another-host:1:0", "lease_expires_at": now - timedelta(seconds=1), "attempts": 1},
        spent: {"worker": "another-host:1:0", "lease_expires_at": now - timedelta(seconds=1), "attempts": 2},
    }
    for job_id, changes in values.items():
        db.session.execute(update(Job).where(Job.id == job_id).values(state="running", lease_token=f"t{job_id}",
                                                                      **changes))
    uow.commit()
    assert worker.sweep(app) == 3
    assert [row(j).state for j in (live, dead_here, expired, spent)] == ["running", "queued", "queued", "failed"]
    assert row(live).lease_token == f"t{live}"
    assert row(spent).error["code"] == "interrupted"
    assert worker.sweep(app) == 0  # nothing more to take back


def test_a_job_claimed_before_leases_existed_is_judged_by_its_heartbeat(app, own_database, tasks):
    fresh, stale = queued(), queued()
    for job_id, beat in ((fresh, utcnow()), (stale, utcnow() - timedelta(minutes=10))):
        db.session.execute(update(Job).where(Job.id == job_id).values(state="running", worker="another-host:1:0",
                                                                      attempts=1, heartbeat_at=beat))
    uow.commit()
    assert worker.sweep(app) == 1
    assert (row(fresh).state, row(stale).state) == ("running", "queued")
