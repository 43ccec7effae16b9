"""The embedded default on one machine: `obsapp serve` SIGKILLed in the middle of a transcode. Its ffmpeg dies
with it (no second transcode beside the rerun), and after a restart the job runs again to `ready` (attempt 2)
with nothing left in tmp/."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from tests.conftest import PASSWORD, LiveServer, _free_port
from tests.jobs.processes import OBSAPP, Jobs, alive, children_named, kill_hard, long_lesson, scratch_entries, stop
from tests.servers import database as test_database
from tests.waiting import wait_for_server, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.database_neutral(
    reason="a server killed and restarted around a transcode; on PostgreSQL the same takeover is tested by "
    "tests/scale/test_workers.py and the lease rules by tests/jobs/test_leases.py")]


@pytest.fixture(scope="module")
def long_source(tmp_path_factory):
    """One long lesson for the module (made once: it takes seconds)."""
    return long_lesson(tmp_path_factory.mktemp("long"))


def serve(env: dict, log_path) -> LiveServer:
    for _attempt in range(5):
        port = _free_port()
        with log_path.open("a") as log:
            process = subprocess.Popen([OBSAPP, "serve", "--port", str(port)], env=env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_server(url, process, log_path)
        except RuntimeError:
            if "in use" not in log_path.read_text():
                raise
            continue
        return LiveServer(url=url, env=env, admin_token=env["TEST_TOKEN"], process=process)
    raise RuntimeError("no free port in 5 attempts")


def test_serve_killed_mid_transcode_leaves_no_ffmpeg_and_reruns_the_job(tmp_path, long_source):
    database_url = test_database.new_database_url(tmp_path, "restart")
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(tmp_path / "instance"), "OBSAPP_MEDIA_ROOT": str(tmp_path / "m"),
           "OBSAPP_DATABASE_URL": database_url, "OBSAPP_JOB_WORKERS": "1", "OBSAPP_LOG_LEVEL": "INFO",
           "OBSAPP_SECRET_KEY": secrets.token_urlsafe(32)}
    subprocess.run([OBSAPP, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([OBSAPP, "users", "create", "t@school.test", "--name", "Teacher", "--password", PASSWORD],
                   env=env, check=True, capture_output=True, timeout=60)
    env["TEST_TOKEN"] = subprocess.run([OBSAPP, "tokens", "create", "t@school.test"], env=env, check=True,
                                       capture_output=True, text=True, timeout=60).stdout.strip()
    jobs = Jobs(database_url)
    log_path = tmp_path / "serve.log"
    server = serve(env, log_path)
    try:
        lesson_id = server.api("POST", "/api/v1/lessons", json={"title": "Long"}).json()["id"]
        source = long_source
        with source.open("rb") as handle:
            sent = server.api("POST", f"/api/v1/lessons/{lesson_id}/video", files={"file": (source.name, handle)},
                              timeout=120)
        assert sent.status_code == 202, sent.text
        job_id = server.api("GET", f"/api/v1/lessons/{lesson_id}").json()["job_id"]

        def transcoding():
            row = jobs.row(job_id)
            holder = int(row["worker"].split(":")[1]) if row["state"] == "running" and row["worker"] else None
            if holder is None or (row["progress"] or 0) < 0.02:
                return None
            return children_named(holder)

        ffmpeg = wait_until(transcoding, "the transcode to be under way")
        kill_hard(server.process)
        wait_until(lambda: not any(alive(pid) for pid in ffmpeg), "ffmpeg to die with the server", 30)
        assert jobs.row(job_id)["state"] == "running"  # as the dead server left it

        server = serve(env, log_path)  # its start sweeps: the job is taken back at once and run again

        def settled():
            lesson = server.api("GET", f"/api/v1/lessons/{lesson_id}").json()
            return lesson if lesson["status"] in ("ready", "failed") else None

        lesson = wait_until(settled, "the lesson to be ready again")
        assert lesson["status"] == "ready", log_path.read_text()[-3000:]
        row = jobs.row(job_id)
        assert (row["state"], row["attempts"]) == ("done", 2)
        assert scratch_entries(tmp_path / "m") == []
        rendition = tmp_path / "m" / "renditions" / "lessons" / str(lesson_id)
        assert sorted(p.name for p in rendition.iterdir()) == ["video.mp4"]
    finally:
        stop(server.process)
        jobs.close()
