"""Job workers: claim queued jobs from the ``jobs`` table and run them.

The embedded backend runs job threads inside ``obsapp serve``; ``obsapp worker`` runs them alone, or, with
``OBSAPP_JOB_BACKEND=celery``, a Celery worker whose tasks call :func:`execute` (``celery_backend.py``).

Leases: a claim (a conditional UPDATE, so one worker wins) gives the job a holder token and a lease expiry
(``OBSAPP_JOB_LEASE_SECONDS``) that a heartbeat thread renews while the job runs. Only the holder may record
progress and the job's end (every such write is conditional on its token). :func:`sweep`, run by every
worker at start and then every few seconds, queues again the jobs whose lease expired (or whose worker
process on this machine is gone), or fails them once out of attempts, so nothing stays ``running``; it also
ends ffmpeg processes a dead worker of this machine left behind, and removes their working files.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import traceback
import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy import or_, select, update

from obsapp import logs, uow
from obsapp.accounts.models import utcnow
from obsapp.errors import ObsError
from obsapp.extensions import db
from obsapp.jobs import queue
from obsapp.jobs.models import Job
from obsapp.media import MediaError
from obsapp.media import run as media_run
from obsapp.storage import media_store

log = logging.getLogger(__name__)
HEARTBEAT_S = 10  # at most; a third of the lease when that is shorter
POLL_S = 2.0
HOST = media_run.HOST  # host name and pid namespace: where a worker's process id means that process


def lease_seconds(app: Flask) -> int:
    return int(app.config.get("JOB_LEASE_SECONDS") or 120)


def heartbeat_seconds(app: Flask) -> float:
    return min(HEARTBEAT_S, lease_seconds(app) / 3)


def sweep_seconds(app: Flask) -> float:
    """How often each worker sweeps: a dead worker's job is queued again at most a lease and this later."""
    return min(60.0, lease_seconds(app) / 2)


def process_records(app: Flask):
    """Where this machine's workers record the ffmpeg processes they run (see media.run.reap_orphans)."""
    from pathlib import Path

    return Path(app.instance_path) / "run" / "processes"


class JobStop:
    """Whether a running job must stop: its worker is shutting down, or its lease was lost (another worker
    took the job over). Given to the task and to ffmpeg as ``cancel``."""

    def __init__(self, shutdown: threading.Event):
        self.shutdown = shutdown
        self.lease_lost = threading.Event()

    def is_set(self) -> bool:
        return self.shutdown.is_set() or self.lease_lost.is_set()


class Interrupted(Exception):
    """The worker is shutting down; the job goes back to the queue without using an attempt."""


class JobContext:
    """What a task sees of its job: its id, progress reporting, and whether to stop."""

    def __init__(self, job: Job, engine, stop):
        self.job_id = job.id
        self.token = job.lease_token
        self.args = dict(job.args or {})
        self.attempt = job.attempts
        self._engine = engine
        self.stop = stop
        self._last_write = 0.0
        self._last_value = -1.0
        self._lock = threading.Lock()

    def progress(self, fraction: float) -> None:
        """Record progress (0..1); safe from any thread; written at most twice a second."""
        fraction = min(max(float(fraction), 0.0), 0.999)
        now = time.monotonic()
        with self._lock:
            if fraction - self._last_value < 0.01 and now - self._last_write < 0.5:
                return
            if now - self._last_write < 0.5 and fraction < 0.999:
                return
            self._last_write, self._last_value = now, fraction
        with self._engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id, Job.state == "running", _holds(self.token))
                         .values(progress=round(fraction, 4), heartbeat_at=utcnow()))

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted()


def _holds(token: str | None):
    """The condition that the lease of the row is (still) ``token``."""
    return Job.lease_token.is_(None) if token is None else Job.lease_token == token


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _worker_gone(worker: str | None) -> bool:
    """Whether the worker process of ``host:pid:...`` ran on this machine and is gone."""
    host, _, rest = (worker or "").partition(":")
    pid = rest.split(":")[0]
    return host == HOST and pid.isdigit() and not _pid_alive(int(pid))


def _aware(moment):
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=utcnow().tzinfo)
    return moment


def sweep(app: Flask) -> int:
    """Queue again (or fail, out of attempts) the running jobs whose lease expired or whose worker process on
    this machine is gone; end orphaned ffmpeg of this machine. Safe to run by every worker at once: each
    change is conditional on the lease it saw. Returns how many jobs it took back."""
    recovered = 0
    with app.app_context():
        media_run.reap_orphans(process_records(app))
        lease = timedelta(seconds=lease_seconds(app))
        now = utcnow()
        running = db.session.execute(
            select(Job.id, Job.worker, Job.lease_token, Job.lease_expires_at, Job.heartbeat_at, Job.started_at,
                   Job.created_at).where(Job.state == "running")).all()
        uow.rollback()
        for job_id, worker, token, expires, heartbeat, started, created in running:
            expires = _aware(expires)
            if expires is None:  # claimed before leases existed: the heartbeat tells
                seen = _aware(heartbeat or started or created)
                expires = seen + lease if seen is not None else now
            if expires > now and not _worker_gone(worker):
                continue
            if _take_back(app, job_id, token):
                recovered += 1
    return recovered


def _take_back(app: Flask, job_id: int, token: str | None) -> bool:
    job = db.session.get(Job, job_id)
    if job is None or job.state != "running" or job.lease_token != token:
        uow.rollback()
        return False
    fence = update(Job).where(Job.id == job_id, Job.state == "running", _holds(token))
    if job.attempts < job.max_attempts:
        taken = db.session.execute(fence.values(state="queued", worker=None, progress=0.0, lease_token=None,
                                                lease_expires_at=None)).rowcount == 1
        if taken:
            uow.after_commit(queue.dispatch, app, job_id, queue.queue_of(job.kind, job.args))
            log.warning("Job %s (%s) was interrupted (its worker stopped answering); queueing it again", job_id,
                        job.kind)
    else:
        taken = _fail(job_id, token, "interrupted", "The work was interrupted too many times (the server stopped "
                                                    "while it ran). Try again.")
    if taken:
        uow.commit()
    else:
        uow.rollback()
    return taken


def recover_interrupted(app: Flask) -> int:
    """At start: what :func:`sweep` does (the name the embedded worker has always used)."""
    return sweep(app)


def _fail(job_id: int, token: str | None, code: str, message: str, detail: str | None = None) -> bool:
    """Fail the job if ``token`` still holds it (in the caller's unit of work, with the task's failure hook)."""
    error = {"code": code, "message": message, **({"detail": detail[-2000:]} if detail else {})}
    done = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", _holds(token))
        .values(state="failed", finished_at=utcnow(), error=error, lease_token=None, lease_expires_at=None)
        .execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:
        return False
    job = db.session.get(Job, job_id)
    task = queue.TASKS.get(job.kind)
    if task and task.on_failure:
        try:
            task.on_failure(job, message)
        except Exception:  # noqa: BLE001 - the failure hook must never keep the job from failing
            log.exception("on_failure hook of job %s failed", job.id)
    return True


def claim(app: Flask, job_id: int, worker_id: str) -> str | None:
    """Take job ``job_id`` if it is queued: returns the lease token, or None when another worker has it or it
    is not waiting. Its own short transaction."""
    token = uuid.uuid4().hex
    now = utcnow()
    result = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "queued")
        .values(state="running", worker=worker_id, started_at=now, heartbeat_at=now, attempts=Job.attempts + 1,
                progress=0.0, error=None, lease_token=token,
                lease_expires_at=now + timedelta(seconds=lease_seconds(app))))
    uow.commit()
    return token if result.rowcount == 1 else None


def claim_next(worker_id: str) -> int | None:
    """Atomically take the oldest queued job (portable: a conditional UPDATE, no SELECT FOR UPDATE)."""
    from flask import current_app

    app = current_app._get_current_object()
    candidates = db.session.execute(
        select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(5)).scalars().all()
    uow.commit()
    for job_id in candidates:
        if claim(app, job_id, worker_id) is not None:
            return job_id
    return None


@logs.job_scope  # every line logged while the job runs carries its job_id
def run_job(app: Flask, job_id: int, worker_id: str, stop) -> None:
    """Run one claimed job: the task's changes and the job's end are committed together, once, and only while
    this worker still holds the job's lease (else they are rolled back: another worker has taken it over)."""
    job = db.session.get(Job, job_id)
    token = job.lease_token
    task = queue.TASKS.get(job.kind)
    if task is None:
        _fail(job_id, token, "unknown_task", f"This server does not know how to run {job.kind!r} jobs.")
        uow.commit()
        return
    ctx = JobContext(job, db.engine, stop)
    log.info("Job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
    try:
        result = task.run(ctx, **(job.args or {}))
        ended = db.session.execute(
            update(Job).where(Job.id == job_id, Job.state == "running", _holds(token))
            .values(state="done", progress=1.0, finished_at=utcnow(), result=result or None, lease_token=None,
                    lease_expires_at=None).execution_options(synchronize_session="fetch")).rowcount == 1
        if not ended:
            _lost(job_id)
            return
        uow.commit()
    except Interrupted:
        _requeue(app, job_id, token)
        return
    except (MediaError, ObsError) as exc:
        if stop.is_set():  # ffmpeg was killed because we are shutting down, or the job was taken over
            _requeue(app, job_id, token)
            return
        uow.rollback()
        message = getattr(exc, "message", str(exc))
        if not _fail(job_id, token, getattr(exc, "code", "failed"), message, getattr(exc, "stderr", None)):
            _lost(job_id)
            return
        uow.commit()
        log.info("Job %s (%s) failed: %s", job_id, job.kind, message)
        return
    except Exception as exc:  # noqa: BLE001 - an unexpected error: retry, then fail visibly
        uow.rollback()
        job = db.session.get(Job, job_id)
        log.exception("Job %s (%s) crashed", job_id, job.kind)
        if job.attempts < job.max_attempts and not stop.is_set():
            retried = db.session.execute(
                update(Job).where(Job.id == job_id, Job.state == "running", _holds(token))
                .values(state="queued", worker=None, lease_token=None, lease_expires_at=None,
                        error={"code": "retrying", "message": f"Attempt {job.attempts} failed; trying again."})
                .execution_options(synchronize_session="fetch")).rowcount == 1
            if retried:
                uow.after_commit(queue.dispatch, app, job_id, queue.queue_of(job.kind, job.args))
        else:
            retried = _fail(job_id, token, "internal_error", "Something went wrong while processing. Try again, "
                            "or ask an administrator to look at the server log.",
                            "".join(traceback.format_exception(exc)))
        if not retried:
            _lost(job_id)
            return
        uow.commit()
        return
    log.info("Job %s (%s) done", job_id, job.kind)


def _lost(job_id: int) -> None:
    uow.rollback()
    log.warning("Job %s: this worker's lease was lost (another worker took the job over); its result is "
                "dropped", job_id)


def _requeue(app: Flask, job_id: int, token: str | None) -> None:
    """Back to the queue without using an attempt (the worker is stopping), if this worker still holds it."""
    uow.rollback()
    job = db.session.get(Job, job_id)
    back = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", _holds(token))
        .values(state="queued", worker=None, attempts=max(0, job.attempts - 1), lease_token=None,
                lease_expires_at=None).execution_options(synchronize_session="fetch")).rowcount == 1
    if not back:
        _lost(job_id)
        return
    uow.after_commit(queue.dispatch, app, job_id, queue.queue_of(job.kind, job.args))
    uow.commit()


class Lease:
    """Renews a claimed job's lease from a thread of its own while the job runs; when the renewal finds the
    lease gone (the job was taken over after this worker stalled), it stops the job."""

    def __init__(self, app: Flask, job_id: int, token: str, stop: JobStop):
        self.app, self.job_id, self.token, self.stop = app, job_id, token, stop
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"obsapp-lease-{job_id}", daemon=True)

    def __enter__(self) -> Lease:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.done.set()
        self.thread.join(5)

    def renew(self) -> bool:
        """Push the expiry on; False when the lease is no longer this worker's."""
        with self.app.app_context():
            engine = db.engine
        now = utcnow()
        with engine.begin() as conn:
            renewed = conn.execute(
                update(Job).where(Job.id == self.job_id, Job.state == "running", Job.lease_token == self.token)
                .values(heartbeat_at=now, lease_expires_at=now + timedelta(seconds=lease_seconds(self.app))))
        return renewed.rowcount == 1

    def _renew(self) -> None:
        while not self.done.wait(heartbeat_seconds(self.app)):
            try:
                if not self.renew():
                    log.warning("Job %s: lease lost; stopping it here", self.job_id)
                    self.stop.lease_lost.set()
                    return
            except Exception:  # noqa: BLE001 - the database is away for a moment: try again at the next beat
                log.warning("renewing the lease of job %s failed", self.job_id)


def execute(app: Flask, job_id: int, worker_id: str, shutdown: threading.Event) -> bool:
    """Claim job ``job_id`` and, when this worker got it, run it under a renewed lease (inside an app
    context). Returns whether it ran here."""
    with app.app_context():
        token = claim(app, job_id, worker_id)
        if token is None:
            return False
        stop = JobStop(shutdown)
        with Lease(app, job_id, token, stop):
            run_job(app, job_id, worker_id, stop)
    return True


def start_sweeping(app: Flask, stop: threading.Event) -> threading.Thread:
    """Every worker process sweeps (see :func:`sweep`) at start and then every few seconds, until ``stop``."""
    media_run.record_processes_in(process_records(app), _scratch_root(app))

    def loop() -> None:
        while True:
            try:
                sweep(app)
            except Exception:  # noqa: BLE001 - e.g. the database briefly away: next round
                log.exception("sweeping jobs failed")
            if stop.wait(sweep_seconds(app)):
                return

    thread = threading.Thread(target=loop, name="obsapp-job-sweep", daemon=True)
    thread.start()
    return thread


def start_housekeeping(app: Flask, stop: threading.Event) -> threading.Thread:
    """Every few minutes, until ``stop``: the domains' chores (expire abandoned uploads, sweep tmp)."""

    def loop() -> None:
        while not stop.wait(300):
            try:
                for chore in queue.HOUSEKEEPING:
                    with app.app_context(), uow.transaction():
                        chore()
            except Exception:  # noqa: BLE001
                log.exception("housekeeping failed")

    thread = threading.Thread(target=loop, name="obsapp-job-housekeeping", daemon=True)
    thread.start()
    return thread


def _scratch_root(app: Flask):
    with app.app_context():
        return media_store().tmp_root


class WorkerPool:
    def __init__(self, app: Flask, count: int):
        self.app = app
        self.count = max(1, count)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.id_base = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        sweep(self.app)
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, args=(f"{self.id_base}:{n}",),
                                      name=f"obsapp-job-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)
        start_sweeping(self.app, self.stop)
        start_housekeeping(self.app, self.stop)

    def _loop(self, worker_id: str) -> None:
        while not self.stop.is_set():
            try:
                with self.app.app_context():
                    job_id = claim_next_id()
                if job_id is not None and execute(self.app, job_id, worker_id, self.stop):
                    continue
                if job_id is not None:
                    continue  # another worker was quicker: look again at once
            except Exception:  # noqa: BLE001 - keep the worker alive (e.g. database briefly locked)
                log.exception("Job worker loop error")
                time.sleep(1)
            queue.wakeup.wait(POLL_S)
            queue.wakeup.clear()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        queue.wakeup.set()
        media_run.kill_all()
        for thread in self.threads:
            thread.join(timeout)


def claim_next_id() -> int | None:
    """The oldest queued job's id (not claimed: :func:`execute` claims it)."""
    job_id = db.session.execute(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1)).scalar()
    uow.commit()
    return job_id


_pool: WorkerPool | None = None


def start_embedded(app: Flask, count: int | None = None) -> WorkerPool | None:
    """The embedded job threads of ``obsapp serve`` (none with the celery backend: Celery workers run jobs)."""
    global _pool
    if app.config.get("JOB_BACKEND") == "celery":
        return None
    if _pool is None:
        _pool = WorkerPool(app, count or app.config["JOB_WORKERS"])
        _pool.start()
    return _pool


def stop_embedded() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown()
        _pool = None


def run_standalone(app: Flask, workers: int | None = None) -> None:
    pool = WorkerPool(app, workers or app.config["JOB_WORKERS"])
    stopping = threading.Event()

    def on_signal(_sig, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool.start()
    log.info("obsapp worker running %s job thread(s); Ctrl+C to stop", pool.count)
    stopping.wait()
    pool.shutdown()


def active_jobs_filter():
    return or_(Job.state == "queued", Job.state == "running")
