"""obsapp: video-based lesson observation and feedback for teacher mentoring."""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from pathlib import Path

from flask import Flask, Request, current_app, jsonify, send_from_directory
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from obsapp import converters
from obsapp.config import SOURCE_ROOT, default_instance_path, load_settings
from obsapp.errors import ErrorResponsesPlugin
from obsapp.extensions import api, csrf, db, limiter, login_manager, migrate, socketio
from obsapp.storage import MediaStore

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


class ObsRequest(Request):
    """Uploaded form files are spooled into the media store's tmp/ (same disk as their destination,
    so they can be moved into place without copying), never held in memory."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        tmp = Path(current_app.config["MEDIA_ROOT"]) / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tempfile.NamedTemporaryFile("wb+", dir=tmp, prefix="form-")  # noqa: SIM115 - closed by Werkzeug


def migrations_dir() -> str:
    return os.environ.get("OBSAPP_MIGRATIONS_DIR") or str(SOURCE_ROOT / "migrations")


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    instance_path = Path(config.pop("INSTANCE_PATH", None) or default_instance_path())
    app = Flask(__name__, instance_path=str(instance_path))
    app.request_class = ObsRequest
    app.config.update(load_settings(instance_path, config))
    converters.init_app(app)  # before any route: every <int:...> id is bounded
    logging.basicConfig(level=os.environ.get("OBSAPP_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=migrations_dir(), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    api.init_app(app, spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
    # Socket.IO (watch together): threads under gunicorn's gthread worker, WebSocket through simple-websocket;
    # same-origin only (cors_allowed_origins=None); a message queue (Redis) when several processes serve it.
    socketio.init_app(app, async_mode="threading", message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
                      cors_allowed_origins=None, manage_session=False, async_handlers=False)
    app.extensions["obsapp.media_store"] = MediaStore(app.config["MEDIA_ROOT"])

    from obsapp import errors
    from obsapp.accounts import auth

    errors.init_app(app)
    auth.init_app(app)
    _register_blueprints(app)
    _register_platform_routes(app)

    from obsapp.watch import events as watch_events

    watch_events.init_app(app)

    from obsapp import cli
    from obsapp.jobs import queue

    queue.load_tasks()
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from obsapp.accounts.api import blp as accounts_api
    from obsapp.accounts.views import bp as accounts_views
    from obsapp.annotations.api import blp as annotations_api
    from obsapp.annotations.views import bp as annotations_views
    from obsapp.clips.api import blp as clips_api
    from obsapp.clips.views import bp as clips_views
    from obsapp.frameworks.api import blp as frameworks_api
    from obsapp.frameworks.views import bp as frameworks_views
    from obsapp.lessons.api import blp as lessons_api
    from obsapp.lessons.api import uploads_blp
    from obsapp.lessons.views import bp as lessons_views
    from obsapp.watch.api import blp as watch_api
    from obsapp.watch.views import bp as watch_views

    for blueprint in (accounts_views, lessons_views, annotations_views, frameworks_views, watch_views, clips_views):
        app.register_blueprint(blueprint)
    api_blueprints = (accounts_api, lessons_api, uploads_blp, frameworks_api, annotations_api, watch_api, clips_api)
    for api_blueprint in api_blueprints:
        api.register_blueprint(api_blueprint)


def _register_platform_routes(app: Flask) -> None:
    import swagger_ui_bundle

    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.route("/api/v1/docs/assets/<path:filename>", endpoint="api_docs_assets")
    def api_docs_assets(filename: str):
        return send_from_directory(assets, filename, max_age=86400)

    @app.route("/healthz")
    def healthz():
        """200 when the database answers and the media store is writable; 503 otherwise."""
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
        if problems:
            response = jsonify({"status": "unavailable", "error": {
                "code": "unhealthy", "message": "obsapp is not healthy: " + "; ".join(problems)}})
            response.status_code = 503
            return response
        return jsonify({"status": "ok"})

    limiter.exempt(healthz)
    csrf.exempt(healthz)
