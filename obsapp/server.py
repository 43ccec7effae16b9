"""``obsapp serve``: gunicorn with gthread workers (many threads each, so WebSockets can be carried too), one
process by default, with the embedded job worker running inside each process (unless ``--no-jobs``).

``--workers N`` (N > 1) runs N processes on one port. gunicorn hands each request to whichever process accepts
it, so a Socket.IO connection's long-polling requests would land on processes that do not know it: with N > 1
Socket.IO is served over WebSocket only (one request for the connection's whole life), and the processes share
OBSAPP_REDIS_URL (message queue, watch state, sign-in limits), which is therefore required. Long-polling for
networks that block WebSockets: one process per port behind a proxy with sticky sessions (docs/operations.md)."""

from __future__ import annotations

import logging
import signal
import threading
import uuid

from flask import Flask
from gunicorn.app.base import BaseApplication

from obsapp import logs
from obsapp.config import SettingsError

log = logging.getLogger(__name__)


class ObsappServer(BaseApplication):
    def __init__(self, app: Flask, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn 25.1+: one shared ~/.gunicorn/gunicorn.ctl
            self.cfg.set("control_socket_disable", True)  # for every server on the machine; obsapp needs none

    def load(self):
        return self.application


def serve(app: Flask, *, host: str, port: int, threads: int, run_jobs: bool = True, workers: int = 1) -> None:
    from obsapp.extensions import db, socketio
    from obsapp.jobs import worker as job_worker

    if workers < 1:
        raise SettingsError("--workers must be 1 or more.")
    if workers > 1:
        if not app.config.get("REDIS_URL"):
            raise SettingsError(f"--workers {workers} needs OBSAPP_REDIS_URL (redis://HOST:PORT/N): the processes "
                                "share watch sessions and sign-in limits through it.")
        websocket_only(app, socketio)

    def post_worker_init(_worker):
        with app.app_context():
            db.engine.dispose(close=False)  # never share the parent's connections with the forked worker
        if run_jobs:
            job_worker.start_embedded(app)
        _listen_to_message_queue(socketio)
        _close_sockets_on_term()
        log.info("obsapp serving on http://%s:%s (process %s of %s)", host, port, _worker.age, workers)

    def worker_exit(_server, _worker):
        job_worker.stop_embedded()

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": None,  # the app writes one access line per request, with its request id (obsapp/logs.py)
        "errorlog": "-",
        "logger_class": logs.gunicorn_logger_class(app.config["LOG_FORMAT"]),
        "loglevel": app.config["LOG_LEVEL"].lower(),
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
        "forwarded_allow_ips": "127.0.0.1" if app.config["TRUST_PROXY"] else "",
    }
    ObsappServer(app, options).run()


def websocket_only(app: Flask, socketio) -> None:
    """Serve Socket.IO over WebSocket only (the server refuses long-polling; the watch page asks for WebSocket
    only): what several processes behind one port without sticky sessions can carry."""
    app.config["SOCKETIO_TRANSPORTS"] = "websocket"
    server = getattr(socketio, "server", None)
    if server is not None:
        server.eio.transports = ["websocket"]


def _listen_to_message_queue(socketio) -> None:
    """Subscribe to the Socket.IO message queue as the process starts, not on its first connection (python-
    socketio's default): what other processes send to its first watchers in their first moments is not lost.

    Each process gets a host id of its own first. The client manager was made in gunicorn's master, before the
    fork, so every worker would otherwise carry the master's id, and python-socketio drops queue messages that
    bear its own id (it has delivered those locally already): what one worker emits would never reach the
    watchers connected to its siblings."""
    server = getattr(socketio, "server", None)
    if server is not None and hasattr(server.manager, "host_id"):
        server.manager.host_id = uuid.uuid4().hex
    if server is not None and not server.manager_initialized:
        server.manager_initialized = True
        server.manager.initialize()


def _close_sockets_on_term() -> None:
    """On SIGTERM the gthread worker waits (up to graceful_timeout) for its requests to finish; an open
    Socket.IO connection is a request that never does, so close them all first: the worker then stops at
    once, and browsers reconnect (and rejoin their watch session) to the server that replaces it."""
    from obsapp.watch.events import disconnect_everyone

    gunicorn_handler = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):
        threading.Thread(target=disconnect_everyone, name="close-sockets", daemon=True).start()
        if callable(gunicorn_handler):
            gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
