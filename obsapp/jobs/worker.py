"""Job workers: threads that claim queued jobs from the ``jobs`` table and run them.

The embedded backend runs these threads inside ``obsapp serve``; ``obsapp worker`` runs them alone.
A job that was running when its process died is found on the next start (its worker's process is
gone, or its heartbeat went stale) and is queued again or, out of attempts, failed — never left running.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
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

log = logging.getLogger(__name__)
HEARTBEAT_S = 10
STALE_AFTER = timedelta(minutes=2)
POLL_S = 2.0
HOST = socket.gethostname()


class Interrupted(Exception):
    """The worker is shutting down; the job goes back to the queue without using an attempt."""


class JobContext:
    """What a task sees of its job: its id, progress reporting, and whether to stop."""

    def __init__(self, job: Job, engine, stop: threading.Event):
        self.job_id = job.id
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
            conn.execute(update(Job).where(Job.id == self.job_id, Job.state == "running")
                         .values(progress=round(fraction, 4), heartbeat_at=utcnow()))

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(app: Flask) -> int:
    """Requeue (or fail, when out of attempts) jobs left 'running' by a process that is gone."""
    recovered = 0
    with app.app_context():
        now = utcnow()
        running = db.session.execute(select(Job).where(Job.state == "running")).scalars().all()
        for job in running:
            host, _, rest = (job.worker or "").partition(":")
            pid = int(rest.split(":")[0]) if rest.split(":")[0].isdigit() else None
            heartbeat = job.heartbeat_at or job.started_at or job.created_at
            if heartbeat is not None and heartbeat.tzinfo is None:
                heartbeat = heartbeat.replace(tzinfo=now.tzinfo)
            dead = (host == HOST and pid is not None and not _pid_alive(pid)) or (
                heartbeat is not None and now - heartbeat > STALE_AFTER)
            if not dead:
                continue
            recovered += 1
            if job.attempts < job.max_attempts:
                log.warning("Job %s (%s) was interrupted; queueing it again", job.id, job.kind)
                job.state, job.worker, job.progress = "queued", None, 0.0
            else:
                _mark_failed(job, "interrupted", "The work was interrupted too many times (the server stopped "
                                                 "while it ran). Try again.")
        uow.commit()
    return recovered


def _mark_failed(job: Job, code: str, message: str, detail: str | None = None) -> None:
    job.state = "failed"
    job.finished_at = utcnow()
    job.error = {"code": code, "message": message, **({"detail": detail[-2000:]} if detail else {})}
    task = queue.TASKS.get(job.kind)
    if task and task.on_failure:
        try:
            task.on_failure(job, message)
        except Exception:  # noqa: BLE001 - the failure hook must never keep the job from failing
            log.exception("on_failure hook of job %s failed", job.id)


def claim_next(worker_id: str) -> int | None:
    """Atomically take the oldest queued job (portable: a conditional UPDATE, no SELECT FOR UPDATE)."""
    candidates = db.session.execute(
        select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(5)).scalars().all()
    for job_id in candidates:
        now = utcnow()
        result = db.session.execute(
            update(Job).where(Job.id == job_id, Job.state == "queued")
            .values(state="running", worker=worker_id, started_at=now, heartbeat_at=now,
                    attempts=Job.attempts + 1, progress=0.0, error=None))
        uow.commit()  # the claim is the runner's own short transaction
        if result.rowcount == 1:
            return job_id
    return None


@logs.job_scope  # every line logged while the job runs carries its job_id
def run_job(app: Flask, job_id: int, worker_id: str, stop: threading.Event) -> None:
    """Run one claimed job: the task's changes and the job's end are committed together, once."""
    job = db.session.get(Job, job_id)
    task = queue.TASKS.get(job.kind)
    if task is None:
        _mark_failed(job, "unknown_task", f"This server does not know how to run {job.kind!r} jobs.")
        uow.commit()
        return
    ctx = JobContext(job, db.engine, stop)
    log.info("Job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
    try:
        result = task.run(ctx, **(job.args or {}))
        job = db.session.get(Job, job_id)
        job.state, job.progress, job.finished_at, job.result = "done", 1.0, utcnow(), result or None
        uow.commit()
    except Interrupted:
        _requeue(job_id)
        return
    except (MediaError, ObsError) as exc:
        if stop.is_set():  # ffmpeg was killed because we are shutting down
            _requeue(job_id)
            return
        uow.rollback()
        job = db.session.get(Job, job_id)
        _mark_failed(job, getattr(exc, "code", "failed"), getattr(exc, "message", str(exc)),
                     getattr(exc, "stderr", None))
        uow.commit()
        log.info("Job %s (%s) failed: %s", job.id, job.kind, job.error["message"])
        return
    except Exception as exc:  # noqa: BLE001 - an unexpected error: retry, then fail visibly
        uow.rollback()
        job = db.session.get(Job, job_id)
        log.exception("Job %s (%s) crashed", job.id, job.kind)
        if job.attempts < job.max_attempts and not stop.is_set():
            job.state, job.worker = "queued", None
            job.error = {"code": "retrying", "message": f"Attempt {job.attempts} failed; trying again."}
        else:
            _mark_failed(job, "internal_error", "Something went wrong while processing. Try again, or ask an "
                         "administrator to look at the server log.", "".join(traceback.format_exception(exc)))
        uow.commit()
        return
    log.info("Job %s (%s) done", job.id, job.kind)


def _requeue(job_id: int) -> None:
    """Back to the queue without using an attempt (the worker is stopping)."""
    uow.rollback()
    job = db.session.get(Job, job_id)
    job.state, job.worker, job.attempts = "queued", None, max(0, job.attempts - 1)
    uow.commit()


class WorkerPool:
    def __init__(self, app: Flask, count: int):
        self.app = app
        self.count = max(1, count)
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.id_base = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

    def start(self) -> None:
        recover_interrupted(self.app)
        for n in range(self.count):
            thread = threading.Thread(target=self._loop, args=(f"{self.id_base}:{n}",),
                                      name=f"obsapp-job-{n}", daemon=True)
            thread.start()
            self.threads.append(thread)
        threading.Thread(target=self._housekeeping, name="obsapp-job-housekeeping", daemon=True).start()

    def _loop(self, worker_id: str) -> None:
        while not self.stop.is_set():
            try:
                with self.app.app_context():
                    job_id = claim_next(worker_id)
                    if job_id is not None:
                        heartbeat = threading.Thread(target=self._heartbeat, args=(job_id,), daemon=True)
                        done = threading.Event()
                        heartbeat.done = done  # type: ignore[attr-defined]
                        heartbeat.start()
                        try:
                            run_job(self.app, job_id, worker_id, self.stop)
                        finally:
                            done.set()
                        continue
            except Exception:  # noqa: BLE001 - keep the worker alive (e.g. database briefly locked)
                log.exception("Job worker loop error")
                time.sleep(1)
            queue.wakeup.wait(POLL_S)
            queue.wakeup.clear()

    def _heartbeat(self, job_id: int) -> None:
        me = threading.current_thread()
        with self.app.app_context():
            engine = db.engine
        while not me.done.wait(HEARTBEAT_S):  # type: ignore[attr-defined]
            try:
                with engine.begin() as conn:
                    conn.execute(update(Job).where(Job.id == job_id, Job.state == "running")
                                 .values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001
                log.warning("heartbeat for job %s failed", job_id)

    def _housekeeping(self) -> None:
        """Every few minutes: recover jobs of dead workers elsewhere, expire abandoned uploads, sweep tmp."""
        while not self.stop.wait(300):
            try:
                recover_interrupted(self.app)
                for chore in queue.HOUSEKEEPING:
                    with self.app.app_context(), uow.transaction():
                        chore()
            except Exception:  # noqa: BLE001
                log.exception("housekeeping failed")

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        queue.wakeup.set()
        media_run.kill_all()
        for thread in self.threads:
            thread.join(timeout)


_pool: WorkerPool | None = None


def start_embedded(app: Flask, count: int | None = None) -> WorkerPool:
    global _pool
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
