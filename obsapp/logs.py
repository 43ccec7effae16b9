"""Logging: readable lines, or one JSON object per line (``OBSAPP_LOG_FORMAT=json``), each carrying the id of
the request (``request_id``) or of the job (``job_id``) it was written for.

A request's id is the ``X-Request-Id`` it came with (sanitised), else a new one; it is sent back in the
response's ``X-Request-Id``. Each request ends with one access line (method, path, status, duration_ms).
A job's id is set around the job's run by the worker (:func:`job_scope` / :func:`job_context`).
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, g, request

REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID_LENGTH = 128
# Fields a log call may add with ``extra=``; they become keys of the JSON object.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "remote_addr")

_request_id: ContextVar[str | None] = ContextVar("obsapp_request_id", default=None)
_job_id: ContextVar[int | str | None] = ContextVar("obsapp_job_id", default=None)
_UNSAFE = re.compile(r"[^A-Za-z0-9._:+=/-]")
access_log = logging.getLogger("obsapp.access")


def sanitise_request_id(value: str | None) -> str:
    """Keep an incoming id only as letters, digits and ``._:+=/-`` (at most 128); else make a new one."""
    cleaned = _UNSAFE.sub("", value or "")[:MAX_REQUEST_ID_LENGTH]
    return cleaned or uuid.uuid4().hex


def current_request_id() -> str | None:
    return _request_id.get()


def current_job_id() -> int | str | None:
    return _job_id.get()


@contextmanager
def job_context(job_id: int | str) -> Iterator[None]:
    """Every line logged in this block (in this thread) carries ``job_id``."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


def job_scope(func: Callable) -> Callable:
    """Decorate a function that takes a ``job_id`` argument: it runs inside :func:`job_context`."""
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        job_id = signature.bind_partial(*args, **kwargs).arguments.get("job_id")
        with job_context(job_id):
            return func(*args, **kwargs)

    return wrapper


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids in scope and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, job_id = _request_id.get(), _job_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if job_id is not None:
            entry["job_id"] = job_id
        for name in EXTRA_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [request_id=... job_id=...]``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"request_id={value}" for value in [_request_id.get()] if value is not None]
        ids += [f"job_id={value}" for value in [_job_id.get()] if value is not None]
        if not ids:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{' '.join(ids)}]{newline}{rest}"


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _ObsappHandler(logging.StreamHandler):
    """The handler :func:`configure` installs on the root logger (found again by its class)."""


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Send every logger's lines to stderr in ``log_format`` at ``level``. Safe to call again: the handler
    is replaced, not added twice; handlers installed by others (a test runner's) are left alone."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _ObsappHandler)]:
        root.removeHandler(handler)
    handler = _ObsappHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Request ids and the access line. Registered before the other extensions, so that it runs first."""

    @app.before_request
    def _start_request():
        g.obsapp_request_started = time.perf_counter()
        g.obsapp_request_token = _request_id.set(sanitise_request_id(request.headers.get(REQUEST_ID_HEADER)))

    @app.after_request
    def _finish_request(response):
        request_id = _request_id.get()
        if request_id is None:  # a request that failed before _start_request ran
            request_id = sanitise_request_id(request.headers.get(REQUEST_ID_HEADER))
            g.obsapp_request_token = _request_id.set(request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("obsapp_request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
        access_log.info("%s %s %s %sms", request.method, request.path, response.status_code, duration_ms,
                        extra={"method": request.method, "path": request.path, "status": response.status_code,
                               "duration_ms": duration_ms, "remote_addr": request.remote_addr})
        return response

    @app.teardown_request
    def _end_request(_exc):
        token = g.pop("obsapp_request_token", None)
        if token is not None:
            try:
                _request_id.reset(token)
            except ValueError:  # torn down in another context than it started in
                _request_id.set(None)


def gunicorn_logger_class(log_format: str):
    """gunicorn's logger, with its own lines (boot, worker, errors) in our format."""
    from gunicorn.glogging import Logger

    class ObsappGunicornLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            for handler in self.error_log.handlers:
                handler.setFormatter(make_formatter(log_format))

    return ObsappGunicornLogger
