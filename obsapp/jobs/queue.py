"""The queue interface: ``enqueue(task, **args) -> Job``.

A job row is added to the caller's session and becomes visible to workers when the caller's unit of work
commits (never before: a worker can't pick up a job whose lesson isn't saved yet). The embedded
backend's workers poll the table and are woken at once by a commit that added jobs. With
``OBSAPP_JOB_BACKEND=celery`` the commit also sends the job's id to its Celery queue (``heavy`` or ``light``,
declared by each task); the row stays the record of state, progress and errors either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from obsapp import uow
from obsapp.extensions import db
from obsapp.jobs.models import Job

# Celery queues: long ffmpeg work (transcodes, face blurring, reels) apart, so that quick jobs never wait
# behind it.
HEAVY, LIGHT = "heavy", "light"
QUEUES = (HEAVY, LIGHT)


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable  # run(ctx: JobContext, **args) -> dict | None
    on_failure: Callable | None = None  # on_failure(job, message) -> None, inside the job's session
    max_attempts: int = 2
    # HEAVY or LIGHT: the Celery queue its jobs are sent to; or queue(args) -> HEAVY | LIGHT for a task whose
    # weight depends on the job (read when the job is sent, inside the sender's session)
    queue: str | Callable[[dict], str] = LIGHT

    def __post_init__(self) -> None:
        if not callable(self.queue) and self.queue not in QUEUES:
            raise ValueError(f"task {self.name!r}: queue must be one of {QUEUES}")


TASKS: dict[str, Task] = {}
HOUSEKEEPING: list[Callable[[], object]] = []  # run by the workers every few minutes, each in its own transaction
wakeup = threading.Event()


def register(*tasks: Task) -> None:
    """Make tasks runnable (``create_app`` registers each domain's; the queue imports no domain).
    Tasks must be idempotent: a retried job runs them again."""
    for item in tasks:
        TASKS[item.name] = item


def register_housekeeping(*chores: Callable[[], object]) -> None:
    for chore in chores:
        if chore not in HOUSEKEEPING:
            HOUSEKEEPING.append(chore)


def enqueue(task_name: str, *, owner_id: int | None = None, lesson_id: int | None = None, **args) -> Job:
    if task_name not in TASKS:
        raise KeyError(f"unknown task {task_name!r}")
    if lesson_id is not None:
        args["lesson_id"] = lesson_id  # also a column, so access to the job follows access to the lesson
    job = Job(kind=task_name, state="queued", progress=0.0, args=args, owner_id=owner_id, lesson_id=lesson_id,
              max_attempts=TASKS[task_name].max_attempts)
    db.session.add(job)
    db.session.flush()
    db.session.info["obsapp.jobs_added"] = True
    if current_app.config.get("JOB_BACKEND") == "celery":
        uow.after_commit(dispatch, current_app._get_current_object(), job.id, queue_of(task_name, args))
    return job


def queue_of(task_name: str, args: dict | None) -> str:
    """The Celery queue of a job of ``task_name`` with ``args`` (a light one for a task this process lacks)."""
    task = TASKS.get(task_name)
    if task is None:
        return LIGHT
    chosen = task.queue(dict(args or {})) if callable(task.queue) else task.queue
    return chosen if chosen in QUEUES else LIGHT


SENDERS: dict[str, Callable[[object, int, str], None]] = {}  # backend -> send(app, job_id, queue_name)


def register_sender(backend: str, send: Callable[[object, int, str], None]) -> None:
    """A job backend that carries job ids to its workers (``celery_backend`` registers itself; the queue
    imports no backend)."""
    SENDERS[backend] = send


def dispatch(app, job_id: int, queue_name: str) -> None:
    """Tell the workers that job ``job_id`` (committed, ``queued``) waits: local job threads are woken; with
    a backend that has a sender (celery) its id is sent to ``queue_name``. Sending twice is harmless (a row is
    claimed once). Called after the commit that queued the job; uses no session."""
    wakeup.set()
    backend = app.config.get("JOB_BACKEND")
    send = SENDERS.get(backend)
    if send is None and backend not in (None, "embedded"):
        raise RuntimeError(f"job backend {backend!r} has no sender registered (create_app registers it)")
    if send is not None:
        send(app, job_id, queue_name)


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop("obsapp.jobs_added", False):
        wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_jobs(session: Session) -> None:
    session.info.pop("obsapp.jobs_added", None)
