"""Settings: defaults, then an optional instance config file, then ``OBSAPP_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent
WEAK_SECRETS = {"", "dev", "secret", "change-me", "changeme", "obsapp"}


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str) -> int:
    return int(value.replace("_", ""))


# name -> (default, parser). Every one can be set as OBSAPP_<NAME> in the environment.
SETTINGS: dict[str, tuple[object, object]] = {
    "ENV": ("development", str),
    "DATABASE_URL": (None, str),
    "MEDIA_ROOT": (None, str),
    "SECRET_KEY": (None, str),
    "MAX_UPLOAD_BYTES": (20 * 1024**3, _int),
    "USER_QUOTA_BYTES": (0, _int),
    "KEEP_ORIGINALS": (True, _bool),
    "UPLOAD_EXPIRY_HOURS": (48, _int),
    "JOB_WORKERS": (None, _int),
    "JOB_BACKEND": ("embedded", str),
    "FFMPEG_TIMEOUT_S": (6 * 3600, _int),
    "MAX_RENDITION_HEIGHT": (1080, _int),
    "LOGIN_RATE_LIMIT": ("10 per 5 minutes", str),
    "LOGIN_RATE_LIMIT_PER_IP": ("100 per 5 minutes", str),
    "API_RATE_LIMIT": ("", str),
    "RATELIMIT_STORAGE_URI": ("memory://", str),
    "TRUST_PROXY": (False, _bool),
    "FORCE_SECURE_COOKIES": (False, _bool),
    "X_ACCEL_REDIRECT_PREFIX": ("", str),
    "SERVER_THREADS": (100, _int),  # an open watch-together socket holds a thread
    "SOCKETIO_MESSAGE_QUEUE": ("", str),  # e.g. redis://host:6379/0 when several web processes serve Socket.IO
}


def default_instance_path() -> Path:
    return Path(os.environ.get("OBSAPP_INSTANCE_PATH") or SOURCE_ROOT / "instance").resolve()


def default_media_root(instance_path: Path) -> Path:
    if (SOURCE_ROOT / "pyproject.toml").exists():  # running from a source checkout
        return SOURCE_ROOT / "media_store"
    return instance_path / "media_store"


def _persistent_secret(instance_path: Path) -> str:
    """A random secret made once per installation and kept in the instance folder."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
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
                raise RuntimeError(f"OBSAPP_{name}={raw!r} is not valid: {exc}") from exc
    values.update(overrides or {})

    env = str(values["ENV"])
    testing = env == "testing" or bool(values.get("TESTING"))
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{instance_path / 'obsapp.db'}"
    values["MEDIA_ROOT"] = str(Path(str(values["MEDIA_ROOT"] or default_media_root(instance_path))).resolve())
    secret = values["SECRET_KEY"]
    if not secret:
        secret = secrets.token_urlsafe(32) if testing else _persistent_secret(instance_path)
    if env == "production" and str(secret).lower() in WEAK_SECRETS:
        raise RuntimeError("OBSAPP_SECRET_KEY is a well-known value; set a long random secret in production.")
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
