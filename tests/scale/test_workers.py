"""Celery workers (OBSAPP_JOB_BACKEND=celery) on a throwaway Redis and the run's database, with a web process
that only serves (`obsapp serve --no-jobs`). Real processes, real ffmpeg, real kills: a worker SIGKILLed in the
middle of an ingest hands the job to the other worker, its ffmpeg dies with it and nothing is left behind;
light jobs have a queue of their own, so they are not stuck behind a long transcode."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PASSWORD, LiveServer, _free_port
from tests.jobs.processes import (
    OBSAPP,
    Jobs,
    alive,
    children_named,
    kill_hard,
    long_lesson,
    scratch_entries,
    stop,
    worker_pid,
)
from tests.servers import database as test_database
from tests.servers.redis import RedisServer
from tests.waiting import wait_for_server, wait_until

pytestmark = pytest.mark.slow
LEASE_S = 6  # short, so that a dead worker's job is noticed within seconds


@pytest.fixture(scope="module")
def long_source(tmp_path_factory):
    """One long lesson for the module (made once: it takes seconds)."""
    return long_lesson(tmp_path_factory.mktemp("long"))


@dataclass
class Cluster:
    base: Path
    env: dict
    web: LiveServer
    jobs: Jobs
    media_root: Path
    workers: list = field(default_factory=list)

    def worker(self, name: str, *args: str) -> subprocess.Popen:
        """An `obsapp worker` (Celery), waited for until it consumes its queues."""
        log_path = self.base / f"worker-{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen([OBSAPP, "worker", "--concurrency", "1", *args], env=self.env, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(process)

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {process.returncode}:\n{log_path.read_text()}")
            return " ready." in log_path.read_text()

        wait_until(ready, f"worker {name} to be ready")
        process.log_path = log_path
        return process

    def upload(self, path: Path, title: str = "Lesson") -> tuple[int, int]:
        lesson = self.web.api("POST", "/api/v1/lessons", json={"title": title})
        assert lesson.status_code == 201, lesson.text
        lesson_id = lesson.json()["id"]
        with path.open("rb") as handle:
            sent = self.web.api("POST", f"/api/v1/lessons/{lesson_id}/video", files={"file": (path.name, handle)},
                                timeout=120)
        assert sent.status_code == 202, sent.text
        return lesson_id, self.lesson(lesson_id)["job_id"]

    def lesson(self, lesson_id: int) -> dict:
        return self.web.api("GET", f"/api/v1/lessons/{lesson_id}").json()

    def settled(self, lesson_id: int) -> dict:
        def done():
            lesson = self.lesson(lesson_id)
            return lesson if lesson["status"] in ("ready", "failed") else None

        return wait_until(done, f"lesson {lesson_id} to be ready or failed")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("workers")
    redis = RedisServer(base)
    redis.start()
    database_url = test_database.new_database_url(base, "workers")
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": database_url, "OBSAPP_JOB_BACKEND": "celery", "OBSAPP_REDIS_URL": redis.url,
           "OBSAPP_JOB_LEASE_SECONDS": str(LEASE_S), "OBSAPP_JOB_WORKERS": "1", "OBSAPP_LOG_LEVEL": "INFO",
           "OBSAPP_SECRET_KEY": secrets.token_urlsafe(32)}
    subprocess.run([OBSAPP, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([OBSAPP, "users", "create", "root@school.test", "--name", "Root Admin", "--password", PASSWORD,
                    "--admin"], env=env, check=True, capture_output=True, timeout=60)
    token = subprocess.run([OBSAPP, "tokens", "create", "root@school.test"], env=env, check=True,
                           capture_output=True, text=True, timeout=60).stdout.strip()
    port = _free_port()
    log_path = base / "web.log"
    with log_path.open("w") as log:
        web = subprocess.Popen([OBSAPP, "serve", "--no-jobs", "--port", str(port)], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_for_server(url, web, log_path)
    jobs = Jobs(database_url)
    cluster = Cluster(base=base, env=env, web=LiveServer(url=url, env=env, admin_token=token, process=web),
                      jobs=jobs, media_root=base / "media")
    yield cluster
    for process in [*cluster.workers, web]:
        stop(process)
    jobs.close()
    redis.stop()


def test_a_worker_killed_mid_ingest_hands_the_job_to_the_other(cluster, long_source):
    source = long_source
    first, second = cluster.worker("a"), cluster.worker("b")
    lesson_id, job_id = cluster.upload(source)

    def transcoding():
        row = cluster.jobs.row(job_id)
        holder = worker_pid(row)
        if row["state"] != "running" or holder is None or (row["progress"] or 0) < 0.02:
            return None
        ffmpeg = children_named(holder)
        return (holder, ffmpeg) if ffmpeg else None

    holder, ffmpeg = wait_until(transcoding, "the ingest's transcode to be under way")
    assert holder in (first.pid, second.pid)
    victim, survivor = (first, second) if holder == first.pid else (second, first)
    kill_hard(victim)
    # the kernel ends its ffmpeg with it (PR_SET_PDEATHSIG): no second transcode beside the rerun
    wait_until(lambda: not any(alive(pid) for pid in ffmpeg), "the killed worker's ffmpeg to die with it", 30)

    lesson = cluster.settled(lesson_id)
    assert lesson["status"] == "ready", (lesson, survivor.log_path.read_text()[-3000:])
    row = cluster.jobs.row(job_id)
    assert (row["state"], row["attempts"], worker_pid(row)) == ("done", 2, survivor.pid)
    assert row["lease_token"] is None
    # nothing stays running: the ingest and what follows it (the talk analysis) all end
    wait_until(lambda: set(cluster.jobs.states()) <= {"done", "failed"}, "every job to end")
    assert set(cluster.jobs.states()) == {"done"}
    rendition = cluster.media_root / "renditions" / "lessons" / str(lesson_id)
    assert sorted(p.name for p in rendition.iterdir()) == ["video.mp4"]  # one rendition, no stray copies
    assert scratch_entries(cluster.media_root) == []  # the killed worker's half-written output is gone
    assert children_named(survivor.pid) == []
    stop(survivor)


def test_a_light_job_is_not_stuck_behind_a_heavy_one(cluster, media_samples, long_source):
    heavy = cluster.worker("heavy", "--queues", "heavy")
    light = cluster.worker("light", "--queues", "light")
    short_id, _ = cluster.upload(media_samples["h264_aac_mp4"], "Short")
    assert cluster.settled(short_id)["status"] == "ready"

    long_id, long_job = cluster.upload(long_source, "Long")
    wait_until(lambda: cluster.jobs.row(long_job)["state"] == "running", "the long ingest to start")
    clip = cluster.web.api("POST", f"/api/v1/lessons/{short_id}/clips",
                           json={"start_ms": 500, "end_ms": 1500, "title": "Quick", "accurate": False})
    assert clip.status_code == 202, clip.text
    clip_id, clip_job = clip.json()["clip"]["id"], clip.json()["job_id"]

    def clip_settled():
        body = cluster.web.api("GET", f"/api/v1/clips/{clip_id}").json()
        return body if body["status"] in ("ready", "failed") else None

    assert wait_until(clip_settled, "the clip to be made")["status"] == "ready"
    long_row = cluster.jobs.row(long_job)
    assert long_row["state"] == "running" and worker_pid(long_row) == heavy.pid  # still transcoding meanwhile
    assert worker_pid(cluster.jobs.row(clip_job)) == light.pid

    # a worker stopped the polite way (SIGTERM) puts its running job back without using an attempt
    stop(heavy)
    row = cluster.jobs.row(long_job)
    assert (row["state"], row["attempts"]) == ("queued", 0)
    assert children_named(heavy.pid) == []
    stop(light)
