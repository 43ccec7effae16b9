"""Socket.IO namespace ``/watch``: authenticate the connection, then relay each event to one service call.

Client -> server (each may ask for an acknowledgement; the answer is ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``, and a refusal is also sent as an ``error`` event):
  join {session_id} · leave · control {action, position_ms, rate?} · time {client_time_ms} · flag {position_ms}
  · note {position_ms, body} · lock {locked} (host) · end (host)
Server -> client: state · presence · flag · note · lock · annotation · ended · error (see docs/watch.md).

Before-request hooks do not run for Socket.IO events, so the connect handler authenticates here: a bearer
token in the handshake's Authorization header (or the Socket.IO ``auth`` payload ``{"token": ...}``), else the
session cookie. Who is connected is process-local (a connection's events always reach the process holding it);
the shared state is in the state store. With the Redis store, each process renews the presence of the
connections it holds (a heartbeat at a third of OBSAPP_REDIS_PRESENCE_TTL_S), which also rebuilds the state and
presence of its sessions after Redis restarted empty.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app, has_app_context, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room

from obsapp import uow
from obsapp.accounts import services as accounts
from obsapp.accounts.models import User
from obsapp.annotations import events as annotation_events
from obsapp.errors import InvalidInput, ObsError, Unauthorized
from obsapp.extensions import db, socketio
from obsapp.watch import services
from obsapp.watch.state import Participant, Person, RedisStateStore, StateUnavailable, now_ms

log = logging.getLogger(__name__)


@dataclass
class Connection:
    person: Person
    session_id: str | None = None
    joined_at_ms: int = 0


_connections: dict[str, Connection] = {}
_connections_lock = threading.Lock()


def _connection() -> Connection:
    with _connections_lock:
        connection = _connections.get(request.sid)  # type: ignore[attr-defined]
    if connection is None:
        raise Unauthorized("Please sign in.")
    return connection


def _joined() -> tuple[Connection, str]:
    connection = _connection()
    if connection.session_id is None:
        raise InvalidInput("Join a watch session first.", code="not_joined")
    return connection, connection.session_id


def _authenticate(auth: object) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    if token is None and isinstance(auth, dict) and isinstance(auth.get("token"), str):
        token = auth["token"]
    if token is not None:  # a token that does not work is refused, never replaced by the cookie
        return accounts.user_for_token(token)
    user = current_user._get_current_object() if current_user else None  # type: ignore[attr-defined]
    return user if user is not None and user.is_authenticated and user.is_active else None


def _data(args: tuple) -> dict:
    data = args[0] if args else {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput("Send an object with the event's fields.")
    return data


def _error(exc: ObsError) -> dict:
    return {"code": exc.code, "message": exc.message}


def answered(handler):
    """Run an event handler; a refusal becomes an ``error`` event to the sender and the acknowledgement."""

    @functools.wraps(handler)
    def run(self, *args):
        event = handler.__name__.removeprefix("on_")
        try:
            with uow.transaction():  # each event is a unit of work: its emits follow its commit
                result = handler(self, _data(args))
        except ObsError as exc:
            error = _error(exc)
            socketio.emit("error", {**error, "event": event}, to=request.sid, namespace=services.NAMESPACE)  # type: ignore[attr-defined]
            return {"ok": False, "error": error}
        except Exception:
            log.exception("Watch event %s failed", event)
            error = {"code": "internal_error", "message": "Something went wrong on our side."}
            socketio.emit("error", {**error, "event": event}, to=request.sid, namespace=services.NAMESPACE)  # type: ignore[attr-defined]
            return {"ok": False, "error": error}
        return {"ok": True, **(result or {})}

    return run


class WatchNamespace(Namespace):
    def on_connect(self, auth=None):
        user = _authenticate(auth)
        if user is None:
            raise ConnectionRefusedError({"code": "unauthorized", "message": "Please sign in to watch together."})
        with _connections_lock:
            _connections[request.sid] = Connection(person=Person(user.id, user.name))  # type: ignore[attr-defined]
        _start_heartbeat(current_app._get_current_object())  # type: ignore[attr-defined]

    def on_disconnect(self, *_reason):
        with _connections_lock:
            connection = _connections.pop(request.sid, None)  # type: ignore[attr-defined]
        if connection is not None and connection.session_id is not None:
            try:
                with uow.transaction():
                    services.leave(connection.session_id, request.sid,  # type: ignore[attr-defined]
                                   reason="disconnected")
            except StateUnavailable:
                pass  # logged by the store; the presence runs out by itself
            except Exception:
                log.exception("Could not leave watch session %s", connection.session_id)

    @answered
    def on_join(self, data):
        connection = _connection()
        session_id = data.get("session_id")
        if connection.session_id is not None and connection.session_id != session_id:
            _leave(connection)  # one session per connection
        user = db.session.get(User, connection.person.id)
        joined = services.join(user, session_id, request.sid)  # type: ignore[attr-defined]
        join_room(services.session_room(joined.session.id))
        join_room(services.person_room(joined.session.id, user.id))
        connection.session_id = joined.session.id
        connection.joined_at_ms = next((p.joined_at_ms for p in joined.participants if p.sid == request.sid),  # type: ignore[attr-defined]
                                       now_ms())
        # read again now that this connection is in the room: a change made meanwhile is in this reading or
        # reaches the room after it (the client keeps the highest seq)
        store = services.state_store()
        live = store.get(joined.session.id) or joined.live
        state = services.state_payload(live)
        presence = services.presence_payload(live, store.participants(joined.session.id))
        sid = request.sid  # type: ignore[attr-defined]
        uow.after_commit(socketio.emit, "state", state, to=sid, namespace=services.NAMESPACE)
        uow.after_commit(socketio.emit, "presence", presence, to=sid, namespace=services.NAMESPACE)
        return {"session": {"session_id": joined.session.id, "lesson_id": joined.session.lesson_id,
                            "host_id": live.host_id, "locked": live.locked},
                "you": joined.me.public(), "state": state, "presence": presence}

    @answered
    def on_leave(self, data):
        connection, _ = _joined()
        _leave(connection)

    @answered
    def on_control(self, data):
        connection, session_id = _joined()
        live = services.control(session_id, connection.person, data.get("action"), data.get("position_ms"),
                                data.get("rate"))
        return {"seq": live.playback.seq}

    @answered
    def on_time(self, data):
        """Clock sync: the client's own time comes back with the server's (read it from the acknowledgement)."""
        _connection()
        return {"client_time_ms": data.get("client_time_ms"), "server_time_ms": now_ms()}

    @answered
    def on_flag(self, data):
        connection, session_id = _joined()
        live = services.flag(session_id, connection.person, data.get("position_ms"))
        return {"seq": live.playback.seq, "position_ms": live.playback.position_ms}

    @answered
    def on_note(self, data):
        connection, session_id = _joined()
        return {"note": services.note(session_id, connection.person, data.get("position_ms"), data.get("body"))}

    @answered
    def on_lock(self, data):
        connection, session_id = _joined()
        live = services.set_lock(session_id, connection.person, data.get("locked"))
        return {"locked": live.locked}

    @answered
    def on_end(self, data):
        connection, session_id = _joined()
        services.end_session(db.session.get(User, connection.person.id), session_id)


def _leave(connection: Connection, reason: str = "left") -> None:
    session_id = connection.session_id
    if session_id is None:
        return
    connection.session_id = None
    leave_room(services.session_room(session_id))
    leave_room(services.person_room(session_id, connection.person.id))
    services.leave(session_id, request.sid, reason=reason)  # type: ignore[attr-defined]


# --- annotations made on a watched lesson ---------------------------------------------------------------------

def _plain(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _on_annotation_event(lesson_id, event, payload) -> None:
    """Called by obsapp.annotations.events after the change committed, in the thread that made it; the forwarding
    runs in a thread of its own, in its own unit of work, so it never touches the caller's transaction."""
    if not has_app_context() or not isinstance(payload, dict):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    annotation = json.loads(json.dumps(payload, default=_plain))

    def forward() -> None:
        with app.app_context():
            try:
                with uow.transaction():
                    services.forward_annotation(int(lesson_id), str(event), annotation)
            except Exception:
                log.exception("Could not forward %s on lesson %s to watchers", event, lesson_id)

    socketio.start_background_task(forward)


def disconnect_everyone() -> None:
    """Close every Socket.IO connection this process holds (when it shuts down; clients reconnect)."""
    server = getattr(socketio, "server", None)
    if server is None:
        return
    engine = server.eio
    # Engine.IO's own disconnect() waits for each socket's queue to drain, which for a long-polling client
    # means waiting for its next request: close them without waiting instead.
    for sock in list(engine.sockets.values()):
        try:
            sock.close(wait=False, reason=engine.reason.SERVER_DISCONNECT)
        except Exception:  # shutting down: carry on with the others
            log.exception("Could not close a Socket.IO connection")


# --- presence heartbeat (Redis store) ---------------------------------------------------------------------------

_heartbeat_lock = threading.Lock()


def _start_heartbeat(app: Flask) -> None:
    """Once per app and process, on its first connection (so never in gunicorn's master before the fork)."""
    store = services.state_store(app)
    if not isinstance(store, RedisStateStore):
        return  # one process's memory: a connection is there until it disconnects
    with _heartbeat_lock:
        if app.extensions.get("obsapp.watch_heartbeat"):
            return
        app.extensions["obsapp.watch_heartbeat"] = True
    socketio.start_background_task(_heartbeat, app, store.presence_ttl_ms / 3000)


def _heartbeat(app: Flask, every_s: float) -> None:
    while True:
        socketio.sleep(every_s)
        renew_presence(app)


def renew_presence(app: Flask) -> None:
    """Renew the presence of every connection this process holds, session by session."""
    with _connections_lock:
        held: dict[str, list[Participant]] = {}
        for sid, connection in _connections.items():
            if connection.session_id is not None:
                held.setdefault(connection.session_id, []).append(
                    Participant(sid=sid, user=connection.person, joined_at_ms=connection.joined_at_ms))
    with app.app_context():
        for session_id, participants in held.items():
            try:
                with uow.transaction():
                    services.keep_present(session_id, participants)
            except StateUnavailable:
                pass  # logged by the store; tried again at the next beat
            except Exception:  # a background thread: log, carry on with the other sessions
                log.exception("Could not renew the presence in watch session %s", session_id)


def init_app(app: Flask) -> None:
    services.state_store(app)
    socketio.on_namespace(WatchNamespace(services.NAMESPACE))
    annotation_events.subscribe(_on_annotation_event)
