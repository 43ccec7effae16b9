"""obsapp: video-based lesson observation and feedback for teacher mentoring."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import redis
import swagger_ui_bundle
from flask import Flask, Request, current_app, jsonify, send_from_directory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from obsapp import converters, logs, storage
from obsapp.config import PACKAGE_DIR, default_instance_path, load_settings
from obsapp.errors import ErrorResponsesPlugin, InvalidInput
from obsapp.extensions import api, csrf, db, limiter, login_manager, migrate, redis_client, socketio

__version__ = "0.1.0"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite serves web threads and job threads at once: WAL, a busy timeout, and enforced foreign keys."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "before_cursor_execute")
def _no_nul_in_text(_conn, _cursor, _statement, parameters, _context, executemany):
    """PostgreSQL's text cannot hold NUL (U+0000), which SQLite stores: a value with one, from any input (a body, a
    query, a form, an upload's metadata), is invalid input on every database alike, never a server error."""
    # One statement's parameters are a dict or a tuple; executemany (and SQLAlchemy's batched "insertmanyvalues",
    # which flattens the rows into one tuple) gives a sequence of them, or of plain values.
    pending = [parameters]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidInput("Text may not contain the NUL character (U+0000).")
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


class ObsRequest(Request):
    """Uploaded form files are spooled into the media store's tmp/ (same disk as their destination,
    so they can be moved into place without copying), never held in memory."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        tmp = Path(current_app.config["MEDIA_ROOT"]) / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile("wb+", dir=tmp, prefix="form-")  # noqa: SIM115 - closed by Werkzeug


def migrations_dir() -> str:
    """The Alembic scripts ship inside the package (``obsapp/migrations``)."""
    return os.environ.get("OBSAPP_MIGRATIONS_DIR") or str(PACKAGE_DIR / "migrations")


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or default_instance_path())
    app = Flask(__name__, instance_path=str(instance_path))
    app.request_class = ObsRequest
    app.config.update(load_settings(instance_path, config))
    converters.init_app(app)  # before any route: every <int:...> id is bounded
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    logs.init_app(app)  # first, so that every request has its id before anything else runs

    if app.config["TRUST_PROXY"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_dir(), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    api.init_app(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
    # Socket.IO (watch together): threads under gunicorn's gthread worker, WebSocket through simple-websocket;
    # same-origin only (cors_allowed_origins=None); a message queue (OBSAPP_REDIS_URL) when several processes
    # serve it; the transports the processes can carry (docs/operations.md, "Several web processes").
    socketio.init_app(app, async_mode="threading", message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
                      channel="obsapp-socketio", transports=app.config["SOCKETIO_TRANSPORTS"].split(","),
                      cors_allowed_origins=None, manage_session=False, async_handlers=False)
    storage.init_app(app)  # the media store (local folder or S3 bucket)

    # The package's own modules are imported here, not at the top: every ``import obsapp.x`` runs this file
    # first, so importing the domains at module level would make each of them import all of the others.
    from obsapp import cli, errors, security, uow
    from obsapp.accounts import auth

    uow.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    _register_blueprints(app)
    _register_platform_routes(app)
    _register_domain_hooks(app)
    cli.init_app(app)
    return app


def _register_domain_hooks(app: Flask) -> None:
    """What the domains plug into the infrastructure and into domains below them: job tasks, housekeeping,
    the dashboard's feedback panel, annotation events to watchers. (Imports inside: see create_app.)"""
    from obsapp.annotations import dashboard as annotations_dashboard
    from obsapp.clips import tasks as clips_tasks
    from obsapp.clips import views as clips_views
    from obsapp.evidence import tasks as evidence_tasks
    from obsapp.evidence import views as evidence_views
    from obsapp.jobs import queue
    from obsapp.lessons import serialize as lessons_serialize
    from obsapp.lessons import services as lessons_services
    from obsapp.lessons import tasks as lessons_tasks
    from obsapp.lessons import uploads
    from obsapp.lessons import views as lessons_views
    from obsapp.mentoring import notify as mentoring_notify
    from obsapp.mentoring import services as mentoring_services
    from obsapp.mentoring import views as mentoring_views
    from obsapp.privacy import audit as privacy_audit
    from obsapp.privacy import erasure as privacy_erasure
    from obsapp.privacy import services as privacy_services
    from obsapp.talk import services as talk_services
    from obsapp.talk import tasks as talk_tasks
    from obsapp.talk import views as talk_views
    from obsapp.watch import events as watch_events

    queue.register(*lessons_tasks.TASKS, *clips_tasks.TASKS, *talk_tasks.TASKS, *evidence_tasks.TASKS)
    if app.config.get("JOB_BACKEND") == "celery":  # only then is Celery imported at all
        from obsapp.jobs import celery_backend  # noqa: F401 - importing it registers its sender with the queue
    _plug(lessons_tasks.AFTER_INGEST, talk_services.start_analysis)
    lessons_views.LESSON_PANELS["talk"] = talk_views.talk_panel
    lessons_views.LESSON_PANELS["calibration"] = talk_views.calibration_panel
    lessons_views.LESSON_PANELS["evidence"] = evidence_views.evidence_panel
    lessons_views.LESSON_NOTICES["self_review"] = mentoring_views.self_review_notice
    queue.register_housekeeping(uploads.expire_abandoned, privacy_erasure.daily_retention,
                                mentoring_services.remind_due_cycles, mentoring_notify.due_digests)
    lessons_views.DASHBOARD_PANELS["feedback"] = clips_views.dashboard_feedback
    lessons_views.DASHBOARD_PANELS["retention_due"] = privacy_erasure.retention_due
    lessons_views.LESSON_FACTS.append(annotations_dashboard.lesson_facts)
    watch_events.init_app(app)
    mentoring_views.init_app(app)  # the bell's unread count in every page; notifications on new feedback
    # privacy: consent saved with a lesson and shown in its payload; reels and jobs go with a deleted lesson
    _plug(lessons_services.SAVE_HOOKS, privacy_services.on_lesson_saved)
    _plug(lessons_services.DELETE_HOOKS, privacy_services.on_lesson_delete)
    _plug(lessons_serialize.PAYLOAD_EXTRAS, privacy_services.payload_extras)
    privacy_audit.init_app(app)  # after uow.init_app: entries join the request's unit of work before its commit


def _plug(hooks: list, hook) -> None:
    """Module-level hook lists are shared by every app made in the process: each hook is added once."""
    if hook not in hooks:
        hooks.append(hook)


def _register_blueprints(app: Flask) -> None:
    # imported here, not at the top: see create_app
    from obsapp.accounts.api import blp as accounts_api
    from obsapp.accounts.views import bp as accounts_views
    from obsapp.annotations.api import blp as annotations_api
    from obsapp.annotations.views import bp as annotations_views
    from obsapp.clips.api import blp as clips_api
    from obsapp.clips.views import bp as clips_views
    from obsapp.evidence.api import blp as evidence_api
    from obsapp.evidence.views import bp as evidence_views
    from obsapp.frameworks.api import blp as frameworks_api
    from obsapp.frameworks.views import bp as frameworks_views
    from obsapp.lessons.api import blp as lessons_api
    from obsapp.lessons.api import uploads_blp
    from obsapp.lessons.views import bp as lessons_views
    from obsapp.mentoring.api import blp as mentoring_api
    from obsapp.mentoring.views import bp as mentoring_views
    from obsapp.privacy.api import blp as privacy_api
    from obsapp.privacy.views import bp as privacy_views
    from obsapp.talk.api import blp as talk_api
    from obsapp.talk.views import bp as talk_views
    from obsapp.watch.api import blp as watch_api
    from obsapp.watch.views import bp as watch_views

    for blueprint in (accounts_views, lessons_views, annotations_views, frameworks_views, watch_views, clips_views,
                      privacy_views, mentoring_views, talk_views, evidence_views):
        app.register_blueprint(blueprint)
    api_blueprints = (accounts_api, lessons_api, uploads_blp, frameworks_api, annotations_api, watch_api, clips_api,
                      privacy_api, mentoring_api, talk_api, evidence_api)
    for api_blueprint in api_blueprints:
        api.register_blueprint(api_blueprint)


def _register_platform_routes(app: Flask) -> None:
    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.route("/api/v1/docs/assets/<path:filename>", endpoint="api_docs_assets")
    def api_docs_assets(filename: str):
        return send_from_directory(assets, filename, max_age=86400)

    @app.route("/healthz")
    def healthz():
        """200 when the database answers, the media store is writable and Redis (when configured) answers;
        503 otherwise."""
        problems = []
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
            problems.append(f"database: {exc.__class__.__name__}")
            db.session.rollback()
        try:
            app.extensions["obsapp.media_store"].check_writable()
        except OSError as exc:
            problems.append(f"media store: {exc.strerror or exc}")
        shared = redis_client(app)
        if shared is not None:
            try:
                shared.ping()
            except redis.RedisError as exc:
                app.logger.error("Redis (OBSAPP_REDIS_URL) does not answer: %s: %s", exc.__class__.__name__, exc)
                problems.append(f"redis: {exc.__class__.__name__}")
        if problems:
            response = jsonify({"status": "unavailable", "error": {
                "code": "unhealthy", "message": "obsapp is not healthy: " + "; ".join(problems)}})
            response.status_code = 503
            return response
        return jsonify({"status": "ok"})

    limiter.exempt(healthz)
    csrf.exempt(healthz)
