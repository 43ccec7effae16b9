"""A throwaway ``redis-server`` (Debian's ``redis-server`` package; ``scripts/ensure-system-deps.sh redis``
installs it): started on a free port in a temp folder, with nothing saved to disk, waited for with PING,
stopped at the end of the run. ``restart()`` brings it back empty on the same port (a Redis restarted without
persistence), for tests of what survives that."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import redis

from tests.waiting import HANG_GUARD_S, wait_until

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = folder / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=HANG_GUARD_S)

    def start(self) -> None:
        """Start on a free port (another one if that port was taken meanwhile) and wait until it answers PING."""
        for _attempt in range(5):
            self.port = _free_port()
            if self._run():
                return
        raise RuntimeError("redis-server found no free port in 5 attempts:\n" + self.log_path.read_text())

    def restart(self) -> None:
        """Stop it and start it again on the same port, empty."""
        self.stop()
        if not self._run():
            raise RuntimeError(f"redis-server could not listen on port {self.port} again:\n"
                               + self.log_path.read_text())

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(HANG_GUARD_S)
        self.process = None

    def _run(self) -> bool:
        """True when it answers PING; False when it exited because the port is taken."""
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=HANG_GUARD_S)

        def answers() -> bool:
            if self.process.poll() is not None:
                return True  # exited: reported below
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            wait_until(answers, f"redis-server on port {self.port} to answer PING")
        finally:
            client.close()
        if self.process.poll() is None:
            return True
        log = self.log_path.read_text()
        self.process = None
        if "Address already in use" in log:
            return False
        raise RuntimeError(f"redis-server exited before answering:\n{log}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server for the whole run; tests keep apart by their own keys or flush it (``flushall``)."""
    if not Path(REDIS_SERVER).exists():
        raise RuntimeError("redis-server is missing: run scripts/ensure-system-deps.sh redis (make test does)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
