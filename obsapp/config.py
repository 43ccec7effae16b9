"""Settings: defaults, then an optional instance config file, then ``OBSAPP_*`` environment variables."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent  # the checkout, when running from one (an editable install)
WEAK_SECRETS = {"", "dev", "secret", "change-me", "changeme", "obsapp"}
JOB_BACKENDS = ("embedded", "celery")
LOG_FORMATS = ("text", "json")
REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
STORAGES = ("local", "s3")


class SettingsError(RuntimeError):
    """A setting that cannot work; the message names it and says what is wrong, in one line."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.replace("_", ""))


# name -> (default, parser). Every one can be set as OBSAPP_<NAME> in the environment.
SETTINGS: dict[str, tuple[object, object]] = {
    "ENV": ("development", str),
    "DATABASE_URL": (None, str),
    "MEDIA_ROOT": (None, str),  # the media folder; with OBSAPP_STORAGE=s3 only scratch space (tmp/)
    # Where media lives: local (OBSAPP_MEDIA_ROOT) or s3 (a bucket; credentials from the standard
    # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws or an instance role)
    "STORAGE": ("local", str),
    "S3_ENDPOINT_URL": ("", str),  # empty: AWS itself; else e.g. http://minio:9000
    "S3_BUCKET": ("", str),
    "S3_REGION": ("", str),
    "S3_PRESIGN_EXPIRY_S": (0, _int),  # >0: media answered by a redirect to a presigned URL valid this long
    "SECRET_KEY": (None, str),
    "MAX_UPLOAD_BYTES": (20 * 1024**3, _int),
    "USER_QUOTA_BYTES": (0, _int),
    "KEEP_ORIGINALS": (True, _bool),
    "UPLOAD_EXPIRY_HOURS": (48, _int),
    "JOB_WORKERS": (None, _int),
    "JOB_BACKEND": ("embedded", str),  # embedded (job threads in serve/worker) | celery (needs REDIS_URL)
    # a running job's lease: renewed by its worker while it runs; once expired, any worker queues the job again
    "JOB_LEASE_SECONDS": (120, _int),
    "FFMPEG_TIMEOUT_S": (6 * 3600, _int),
    "MAX_RENDITION_HEIGHT": (1080, _int),
    "LOGIN_RATE_LIMIT": ("10 per 5 minutes", str),
    "LOGIN_RATE_LIMIT_PER_IP": ("100 per 5 minutes", str),
    "API_RATE_LIMIT": ("", str),
    "RATELIMIT_STORAGE_URI": ("", str),  # default: OBSAPP_REDIS_URL when set, else memory:// (one process)
    "TRUST_PROXY": (False, _bool),
    "FORCE_SECURE_COOKIES": (False, _bool),
    "X_ACCEL_REDIRECT_PREFIX": ("", str),
    "SERVER_THREADS": (100, _int),  # an open watch-together socket holds a thread
    # redis://HOST:PORT/N shared by every process: Socket.IO message queue, watch state, sign-in limits
    "REDIS_URL": ("", str),
    "SOCKETIO_MESSAGE_QUEUE": ("", str),  # default: OBSAPP_REDIS_URL (an override for a queue of its own)
    "REDIS_PRESENCE_TTL_S": (30, _int),  # a watcher's presence lasts this long unless its process renews it
    # Socket.IO transports: "websocket,polling" (long-polling where WebSockets are blocked; needs every request
    # of a connection to reach the same process) or "websocket" (any process; `serve --workers N>1` uses it)
    "SOCKETIO_TRANSPORTS": ("websocket,polling", str),
    "LOG_FORMAT": ("text", str),  # text | json (one JSON object per line)
    "LOG_LEVEL": ("INFO", str),
    # Privacy (docs/privacy.md): a lesson's consent when its owner gives none; how long one person's repeated
    # views of a lesson count as one audit entry; how long audit entries, lessons and originals are kept (0: for ever)
    "DEFAULT_CONSENT": ("all_consented", str),
    "AUDIT_VIEW_WINDOW_S": (1800, _int),
    "AUDIT_RETENTION_DAYS": (0, _int),
    "RETENTION_DAYS": (0, _int),
    "KEEP_ORIGINALS_DAYS": (0, _int),
    "SMTP_URL": ("", str),  # smtp://[user:pass@]host[:port] (smtp+starttls://, smtps://); empty: no email
    "MAIL_FROM": ("obsapp@localhost", str),
    "PUBLIC_URL": ("http://127.0.0.1:5000", str),  # where links in emails point
    # one-time account links: a password reset lasts minutes; "forgot password" requests per address and email
    "RESET_TOKEN_MINUTES": (60, _int),
    "RESET_RATE_LIMIT": ("5 per 15 minutes", str),
    "INVITE_TOKEN_DAYS": (7, _int),
    # Single sign-on (obsapp/accounts/sso.py): provider names; each has OBSAPP_OIDC_<NAME>_ISSUER, _CLIENT_ID,
    # _CLIENT_SECRET, _LABEL and _DOMAINS
    "OIDC_PROVIDERS": ("", str),
    "OIDC_CREATE_ACCOUNTS": (False, _bool),  # an unknown verified address gets an account on its first sign-in
}
CONSENTS = ("all_consented", "some_not_consented", "unknown")


def running_from_checkout() -> bool:
    return (SOURCE_ROOT / "pyproject.toml").exists()


def default_instance_path() -> Path:
    """``OBSAPP_INSTANCE_PATH``; else ``instance/`` in a checkout; else (an installed package) Flask's
    convention for installed apps, ``<prefix>/var/obsapp-instance`` of the Python environment."""
    configured = os.environ.get("OBSAPP_INSTANCE_PATH")
    if configured:
        return Path(configured).expanduser().resolve()
    if running_from_checkout():
        return (SOURCE_ROOT / "instance").resolve()
    return (Path(sys.prefix) / "var" / "obsapp-instance").resolve()


def default_media_root(instance_path: Path) -> Path:
    if running_from_checkout():
        return SOURCE_ROOT / "media_store"
    return instance_path / "media_store"


def ensure_folder(path: Path, what: str) -> None:
    """Create ``path`` (and its parents) or raise a one-line :class:`SettingsError` saying why not."""
    if path.exists() and not path.is_dir():
        raise SettingsError(f"{what} {path} is a file, not a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(f"{what} {path} could not be created: {exc.strerror or exc}.") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise SettingsError(f"{what} {path} is not writable by this user.")


def _persistent_secret(instance_path: Path) -> str:
    """A random secret made once per installation and kept in the instance folder."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # written whole under another name, then linked into place: several processes starting at once (serve
    # --workers N) all read the one secret that won, never an empty or half-written file
    fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=".secret_key-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        os.link(tmp, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        os.unlink(tmp)
    return value


def load_settings(instance_path: Path, overrides: dict | None = None) -> dict:
    """Read every setting; return a dict of Flask config keys (``OBSAPP_`` prefix dropped)."""
    values: dict[str, object] = {name: default for name, (default, _) in SETTINGS.items()}
    config_file = instance_path / "obsapp.cfg"
    if config_file.exists():
        namespace: dict[str, object] = {}
        exec(compile(config_file.read_text(), str(config_file), "exec"), namespace)  # noqa: S102 - operator's own file
        values.update({k: v for k, v in namespace.items() if k.isupper()})
    for name, (_, parse) in SETTINGS.items():
        raw = os.environ.get(f"OBSAPP_{name}")
        if raw is not None and raw != "":
            try:
                values[name] = parse(raw)  # type: ignore[operator]
            except ValueError as exc:
                raise SettingsError(f"OBSAPP_{name}={raw!r} is not valid: {exc}") from exc
    values.update(overrides or {})
    _validate(values)
    ensure_folder(instance_path, "The instance folder (OBSAPP_INSTANCE_PATH)")

    env = str(values["ENV"])
    testing = env == "testing" or bool(values.get("TESTING"))
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'obsapp.db'}"
    _ensure_sqlite_folder(str(values["DATABASE_URL"]))
    values["MEDIA_ROOT"] = str(Path(str(values["MEDIA_ROOT"] or default_media_root(instance_path))).resolve())
    secret = values["SECRET_KEY"]
    if not secret and values["REDIS_URL"]:
        raise SettingsError("OBSAPP_REDIS_URL is set, so several processes share the work: give them all the same "
                            "OBSAPP_SECRET_KEY (a long random secret), or sign-ins will not carry from one to another.")
    if not secret:
        secret = secrets.token_urlsafe(32) if testing else _persistent_secret(instance_path)
    if env == "production" and str(secret).lower() in WEAK_SECRETS:
        raise SettingsError("OBSAPP_SECRET_KEY is a well-known value; set a long random secret in production.")
    redis_url = str(values["REDIS_URL"] or "")
    values["SOCKETIO_MESSAGE_QUEUE"] = str(values["SOCKETIO_MESSAGE_QUEUE"] or "") or redis_url
    values["RATELIMIT_STORAGE_URI"] = str(values["RATELIMIT_STORAGE_URI"] or "") or redis_url or "memory://"
    if values["JOB_WORKERS"] is None:
        values["JOB_WORKERS"] = max(1, (os.cpu_count() or 2) // 2)

    config = dict(values)
    config.update(
        SECRET_KEY=secret,
        TESTING=testing,
        SQLALCHEMY_DATABASE_URI=values["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="obsapp_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in obsapp.accounts.auth for cookie-authenticated writes
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead, so a long lesson review never expires it
        RATELIMIT_STORAGE_URI=values["RATELIMIT_STORAGE_URI"],
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis down: each process limits sign-ins on its own meanwhile (Flask-Limiter logs it), never a 500
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_KEY_PREFIX="obsapp",
        RATELIMIT_APPLICATION=api_rate_limit,  # a callable: read per request, see api_rate_limit()
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,  # JSON and forms; upload endpoints raise it to MAX_UPLOAD_BYTES
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        JSON_SORT_KEYS=False,
        API_TITLE="obsapp",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
    )
    return config


def api_rate_limit() -> str:
    """The limit of the request in hand (read per request, as the limiter is shared by every app):
    OBSAPP_API_RATE_LIMIT, one budget per client address shared by every /api/ call; none when the setting
    is empty (the default). Media bytes and tus upload chunks are left out: a player seeking sends many Range
    requests, and a large upload is thousands of chunks."""
    from flask import current_app, request

    path = request.path
    if not path.startswith("/api/") or path.startswith("/api/v1/uploads/") or "/media/" in path:
        return ""
    return current_app.config.get("API_RATE_LIMIT") or ""


def _validate(values: dict) -> None:
    """Settings with a fixed set of values, or a syntax, are checked here (one line saying what is wrong)."""
    choices = {"JOB_BACKEND": JOB_BACKENDS, "LOG_FORMAT": LOG_FORMATS, "LOG_LEVEL": LOG_LEVELS,
               "DEFAULT_CONSENT": CONSENTS, "STORAGE": STORAGES}
    for name, allowed in choices.items():
        value = str(values[name]).strip()
        value = value.upper() if name == "LOG_LEVEL" else value.lower()
        if value not in allowed:
            raise SettingsError(f"OBSAPP_{name}={values[name]!r} is not valid: use {' or '.join(allowed)}.")
        values[name] = value
    _validate_s3(values)
    redis_url = str(values["REDIS_URL"] or "").strip()
    values["REDIS_URL"] = redis_url
    if redis_url and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        raise SettingsError(f"OBSAPP_REDIS_URL={redis_url!r} is not valid: use redis://HOST:PORT/N "
                            "(or rediss:// for TLS, unix:///path/to/socket).")
    if values["JOB_BACKEND"] == "celery" and not redis_url:
        raise SettingsError("OBSAPP_JOB_BACKEND=celery needs OBSAPP_REDIS_URL (redis://HOST:PORT/N): Redis is the "
                            "Celery workers' broker.")
    if values["JOB_LEASE_SECONDS"] < 5:
        raise SettingsError("OBSAPP_JOB_LEASE_SECONDS must be 5 seconds or more.")
    transports = [t.strip().lower() for t in str(values["SOCKETIO_TRANSPORTS"] or "").split(",") if t.strip()]
    if not transports or any(t not in ("websocket", "polling") for t in transports):
        raise SettingsError(f"OBSAPP_SOCKETIO_TRANSPORTS={values['SOCKETIO_TRANSPORTS']!r} is not valid: use "
                            "'websocket,polling' or 'websocket'.")
    values["SOCKETIO_TRANSPORTS"] = ",".join(transports)
    for name in ("AUDIT_VIEW_WINDOW_S", "AUDIT_RETENTION_DAYS", "RETENTION_DAYS", "KEEP_ORIGINALS_DAYS"):
        if int(values[name]) < 0:
            raise SettingsError(f"OBSAPP_{name} must be 0 or more.")
    if values["REDIS_PRESENCE_TTL_S"] < 5:
        raise SettingsError("OBSAPP_REDIS_PRESENCE_TTL_S must be 5 seconds or more.")
    if values["RESET_TOKEN_MINUTES"] < 1:
        raise SettingsError("OBSAPP_RESET_TOKEN_MINUTES must be 1 or more.")
    if values["INVITE_TOKEN_DAYS"] < 1:
        raise SettingsError("OBSAPP_INVITE_TOKEN_DAYS must be 1 or more.")
    for name in ("LOGIN_RATE_LIMIT", "LOGIN_RATE_LIMIT_PER_IP", "API_RATE_LIMIT", "RESET_RATE_LIMIT"):
        value = str(values[name] or "").strip()
        values[name] = value
        if not value and name == "API_RATE_LIMIT":
            continue
        try:
            parse_many(value)
        except ValueError as exc:
            raise SettingsError(f"OBSAPP_{name}={value!r} is not a rate limit (e.g. '100 per minute'): {exc}") \
                from exc


def _validate_s3(values: dict) -> None:
    for name in ("S3_ENDPOINT_URL", "S3_BUCKET", "S3_REGION"):
        values[name] = str(values[name] or "").strip()
    if values["S3_PRESIGN_EXPIRY_S"] < 0 or values["S3_PRESIGN_EXPIRY_S"] > 7 * 24 * 3600:
        raise SettingsError("OBSAPP_S3_PRESIGN_EXPIRY_S must be between 0 (stream, no redirect) and 604800 "
                            "seconds (7 days).")
    if values["STORAGE"] != "s3":
        return
    if not values["S3_BUCKET"]:
        raise SettingsError("OBSAPP_STORAGE=s3 needs OBSAPP_S3_BUCKET (the bucket's name).")
    endpoint = values["S3_ENDPOINT_URL"]
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc):
        raise SettingsError(f"OBSAPP_S3_ENDPOINT_URL={endpoint!r} is not valid: use http(s)://HOST[:PORT] "
                            "(or leave it empty for AWS).")


def _ensure_sqlite_folder(url: str) -> None:
    """A SQLite file's folder is created, so a fresh OBSAPP_INSTANCE_PATH or OBSAPP_DATABASE_URL just works."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SettingsError(f"OBSAPP_DATABASE_URL={url!r} is not a database URL: {exc}") from exc
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not database.startswith(
            "file:"):
        ensure_folder(Path(database).expanduser().resolve().parent, "The database folder (OBSAPP_DATABASE_URL)")
