"""A throwaway PostgreSQL server for the tests, from Debian's `postgresql` package.

`initdb` into a temporary folder, `postgres` on a free loopback port (its unix socket in the same folder, no
fsync), readiness by `pg_isready`, `pg_ctl stop -m immediate` at the end. PostgreSQL refuses to run as root (and
the tests and CI do run as root), so then the server runs as the package's own unprivileged `postgres` account,
which owns the temporary folder; as any other user it runs as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine

SUPERUSER = "postgres"  # the cluster's superuser role (trust authentication on loopback only)
START_GUARD_S = 60  # a hang guard: a healthy server is ready in about a second


class PostgresUnavailable(RuntimeError):
    pass


def binaries() -> Path:
    """The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parent.parent.name))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed: run `scripts/ensure-system-deps.sh postgres`")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> tuple[list[str], int | None, int | None]:
    """The command prefix and the uid/gid the server runs as: the `postgres` account when we are root."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        account = pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresUnavailable("running as root needs the unprivileged `postgres` account, which Debian's "
                                  "postgresql package creates") from exc
    return ["runuser", "-u", account.pw_name, "--"], account.pw_uid, account.pw_gid


@dataclass
class PostgresServer:
    root: Path
    port: int
    process: subprocess.Popen
    prefix: list[str]

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database on this server; returns its URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait_ready(bin_dir: Path, process: subprocess.Popen, port: int, root: Path) -> None:
    deadline = time.monotonic() + START_GUARD_S
    while True:
        if process.poll() is not None:
            raise PostgresUnavailable("postgres exited at start:\n" + (root / "server.log").read_text(errors="replace"))
        # pg_isready waits (up to -t seconds) for the server to answer: 0 accepting, 1 starting, 2 no answer
        ready = subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2",
                                "-U", SUPERUSER, "-d", "postgres"], check=False)
        if ready.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise PostgresUnavailable(f"postgres did not become ready within {START_GUARD_S}s:\n"
                                      + (root / "server.log").read_text(errors="replace"))


@contextmanager
def postgres_server():
    """Start a throwaway server; yields a PostgresServer and removes everything at the end."""
    bin_dir = binaries()
    prefix, uid, gid = _run_as()
    root = Path(tempfile.mkdtemp(prefix="obsapp-pg-"))
    process = None
    try:
        (root / "socket").mkdir()
        if uid is not None:
            for path in (root, root / "socket"):
                os.chown(path, uid, gid)
        subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
                        "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                       check=True, capture_output=True, text=True, cwd=root)
        port = _free_port()
        log = os.open(root / "server.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            # -F: no fsync; -h/-p: loopback TCP on a free port; -k: the unix socket stays in the temp folder.
            process = subprocess.Popen(
                [*prefix, str(bin_dir / "postgres"), "-D", str(root / "data"), "-F", "-h", "127.0.0.1",
                 "-p", str(port), "-k", str(root / "socket"), "-c", "max_connections=200",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=root, start_new_session=True)
        finally:
            os.close(log)
        _wait_ready(bin_dir, process, port, root)
        yield PostgresServer(root=root, port=port, process=process, prefix=prefix)
    finally:
        if process is not None and process.poll() is None:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "stop", "-D", str(root / "data"), "-m", "immediate",
                            "-w"], check=False, capture_output=True, cwd=root)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)

