"""Unbound extensions, bound to the app in ``create_app``; the shared Redis client when OBSAPP_REDIS_URL is set."""

import redis
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from marshmallow import Schema, fields
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine word, e.g. not_found"})
    message = fields.String(required=True, metadata={"description": "a sentence for a person"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "per-field messages for invalid input"})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class ObsApi(Api):
    """flask-smorest's Api, with errors left to :mod:`obsapp.errors` (one shape for the whole app)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):  # the app-wide handlers live in obsapp.errors
        return None


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
api = ObsApi()
socketio = SocketIO()


def redis_client(app: Flask) -> redis.Redis | None:
    """The app's Redis client (one connection pool per app and process), or None without OBSAPP_REDIS_URL.
    Short timeouts: a Redis that does not answer makes a request fail fast (503), never hang a thread;
    redis-py reconnects (with retries) after Redis restarted."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("obsapp.redis")
    if client is None:
        client = app.extensions.setdefault("obsapp.redis", redis.Redis.from_url(
            url, socket_connect_timeout=3, socket_timeout=5, health_check_interval=15, decode_responses=True,
            client_name="obsapp"))
    return client
