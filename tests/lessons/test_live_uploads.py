"""Against a real `obsapp serve`: a large upload streams to disk in bounded memory, and a standalone
`obsapp worker` processes what a web process without jobs queued."""

import io
import os
import subprocess

import pytest
import requests

from tests.conftest import VENV_BIN, _free_port
from tests.servers.database import new_database_url
from tests.waiting import HANG_GUARD_S, job_settled, wait_for_server

pytestmark = pytest.mark.slow


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _server_pid(live_server) -> int:
    """The gunicorn worker (the child that serves requests)."""
    children = subprocess.run(["pgrep", "-P", str(live_server.process.pid)], capture_output=True, text=True).stdout
    pids = [int(p) for p in children.split()]
    return pids[0] if pids else live_server.process.pid


@pytest.mark.database_neutral(reason="the web process's memory while 400 MB stream to disk; the upload's rows are "
                                      "those of tests/lessons/test_tus.py")
def test_large_tus_upload_does_not_grow_memory(live_server):
    user = live_server.make_user()
    token = live_server.token_for(user["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Big"}).json()
    size = 400 * 1024 * 1024
    created = live_server.api("POST", lesson["upload_url"], token,
                              headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(size)})
    assert created.status_code == 201
    location = created.headers["Location"]
    pid = _server_pid(live_server)
    before = _rss_kb(pid)

    class Zeros(io.RawIOBase):
        """400 MB of zeros, generated as they are read (the client holds none of it)."""

        def __init__(self):
            self.left = size

        def __len__(self):
            return self.left

        def readable(self):
            return True

        def read(self, n=-1):
            n = self.left if n is None or n < 0 else min(n, self.left)
            self.left -= n
            return b"\0" * n

    response = requests.patch(location, data=Zeros(), timeout=HANG_GUARD_S, headers={
        "Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == str(size)
    grown_mb = (_rss_kb(pid) - before) / 1024
    assert grown_mb < 64, f"server memory grew by {grown_mb:.0f} MB for a 400 MB upload"
    # zeros are not a video: processing fails readably and the server stays up
    state = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert state["status"] == "failed" and "not a video" in state["error"].lower()
    assert requests.get(live_server.url + "/healthz", timeout=HANG_GUARD_S).status_code == 200


def test_standalone_worker_processes_jobs(tmp_path, media_samples):
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp_path / "inst"), "OBSAPP_MEDIA_ROOT": str(tmp_path / "media"),
           "OBSAPP_DATABASE_URL": new_database_url(tmp_path, "w"), "OBSAPP_LOG_LEVEL": "WARNING"}
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([obsapp, "users", "create", "w@school.test", "--name", "W", "--password", "w-password"], env=env,
                   check=True, capture_output=True, timeout=60)
    token = subprocess.run([obsapp, "tokens", "create", "w@school.test"], env=env, check=True, capture_output=True,
                           text=True, timeout=60).stdout.strip()
    port = _free_port()
    web = subprocess.Popen([obsapp, "serve", "--port", str(port), "--no-jobs"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    worker = None
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_server(url, web)
        headers = {"Authorization": f"Bearer {token}"}

        def get(path: str) -> dict:
            return requests.get(url + path, headers=headers, timeout=HANG_GUARD_S).json()

        lesson = requests.post(url + "/api/v1/lessons", json={"title": "W"}, headers=headers,
                               timeout=HANG_GUARD_S).json()
        with open(media_samples["h264_aac_mp4"], "rb") as handle:
            queued = requests.post(f"{url}/api/v1/lessons/{lesson['id']}/video", files={"file": handle},
                                   headers=headers, timeout=HANG_GUARD_S)
        assert queued.status_code == 202
        job_path = f"/api/v1/jobs/{queued.json()['job_id']}"
        # nobody runs jobs yet (the web process has --no-jobs): the job waits in the queue
        assert get(job_path)["state"] == "queued" and get(f"/api/v1/lessons/{lesson['id']}")["status"] == "processing"
        worker = subprocess.Popen([obsapp, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = job_settled(lambda: get(f"/api/v1/lessons/{lesson['id']}"))
        assert state["status"] == "ready", state
        assert get(job_path)["state"] == "done"
    finally:
        for proc in (worker, web):
            if proc is not None:
                proc.terminate()
                proc.wait(HANG_GUARD_S)  # a graceful stop can take its time on a loaded machine
