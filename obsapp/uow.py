"""The unit of work: services change the session and flush; the boundary commits once.

Boundaries are the HTTP request (committed when the view answered below 400, rolled back on any error
response or exception), each Socket.IO event (``transaction()`` in ``watch/events.py``), each CLI command
and any other application context that ends without an exception (``teardown_appcontext``), and the job
runner (``jobs/worker.py``: one commit per task run). Nothing below a boundary calls ``commit()``.

Side effects that must only happen once the change is saved (Socket.IO emits, annotation events, waking
workers, deleting files) are registered with ``after_commit(fn)``: kept in ``session.info``, run in order
after a successful commit, dropped on rollback. They must not use the session (it has just committed):
give them plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from obsapp.extensions import db

log = logging.getLogger(__name__)
_AFTER_COMMIT = "obsapp.after_commit"


def after_commit(fn: Callable, *args, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` after the current unit of work commits; forget it if it rolls back."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(partial(fn, *args, **kwargs))


def commit() -> None:
    """Commit the unit of work (at a boundary only); a failed commit rolls back and raises."""
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def rollback() -> None:
    """Undo the unit of work and forget its after-commit actions (also when nothing had begun yet)."""
    db.session.info.pop(_AFTER_COMMIT, None)
    db.session.rollback()


@contextmanager
def transaction() -> Iterator[None]:
    """A boundary of its own (a Socket.IO event, a background task): commit on success, else roll back."""
    try:
        yield
    except BaseException:
        rollback()
        raise
    commit()


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, []):
        try:
            callback()
        except Exception:  # noqa: BLE001 - the change is saved; a failing side effect must not undo the answer
            log.exception("after-commit action %r failed", callback)


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:  # a savepoint rolled back keeps the outer work's actions
        session.info.pop(_AFTER_COMMIT, None)


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit_request(response: Response) -> Response:
        if response.status_code < 400:
            commit()
        else:
            rollback()
        return response

    @app.teardown_appcontext
    def _end_of_context(exc: BaseException | None) -> None:
        # Requests were settled above; this ends CLI commands and background contexts: commit what they
        # did when they finished cleanly, else roll back.
        if exc is not None:
            rollback()
            return
        commit()
