"""The queue interface: ``enqueue(task, **args) -> Job``.

A job row is added to the caller's session and becomes visible to workers when the caller's unit of work
commits (never before: a worker can't pick up a job whose lesson isn't saved yet). The embedded
backend's workers poll the table and are woken at once by a commit that added jobs.
A distributed backend (RQ or Celery on Redis) can plug in behind the same function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from obsapp.extensions import db
from obsapp.jobs.models import Job


@dataclass(frozen=True)
class Task:
    name: str
    run: Callable  # run(ctx: JobContext, **args) -> dict | None
    on_failure: Callable | None = None  # on_failure(job, message) -> None, inside the job's session
    max_attempts: int = 2


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
    return job


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if session.info.pop("obsapp.jobs_added", False):
        wakeup.set()


@event.listens_for(Session, "after_rollback")
def _forget_jobs(session: Session) -> None:
    session.info.pop("obsapp.jobs_added", None)
