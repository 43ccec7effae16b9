"""The scale-out deployment as one piece: two web processes (`obsapp serve --no-jobs` on two ports, as behind a
load balancer without sticky sessions) and two Celery workers (`obsapp worker`), sharing the run's database
(PostgreSQL in make test's second pass), a throwaway Redis and a bucket of the run's throwaway SeaweedFS
(OBSAPP_STORAGE=s3). Real processes, real ffmpeg, real kills. What must hold: a tus upload whose requests land
on both web processes; the lesson ingested by whichever worker, its media only in the bucket, served with Range
by either web process; a worker killed mid-ingest hands the job on and leaves nothing behind; deleting the lesson
deletes its objects."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, _free_port
from tests.jobs.processes import OBSAPP, Jobs, alive, children_named, kill_hard, long_lesson, stop, worker_pid
from tests.servers import database as test_database
from tests.servers.redis import RedisServer
from tests.waiting import HANG_GUARD_S, wait_for_server, wait_until

pytestmark = pytest.mark.slow
LEASE_S = 6  # short, so that the killed worker's job is taken back within seconds
TUS = {"Tus-Resumable": "1.0.0"}
MIB = 1024 * 1024


@dataclass
class Cluster:
    base: Path
    env: dict
    webs: list[str]
    jobs: Jobs
    s3: object
    bucket: str
    token: str = ""
    processes: list = field(default_factory=list)
    workers: list = field(default_factory=list)

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log_path = self.base / f"{name}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen([OBSAPP, *argv], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        process.log_path = log_path
        self.processes.append(process)
        return process

    def web(self, name: str) -> str:
        for _attempt in range(5):  # a port free when picked may be taken before it is bound
            port = _free_port()
            process = self.start(name, "serve", "--no-jobs", "--port", str(port))
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for_server(url, process, process.log_path)
                self.webs.append(url)
                return url
            except RuntimeError:
                if "in use" not in process.log_path.read_text():
                    raise
        raise RuntimeError(f"{name} found no free port")

    def worker(self, name: str) -> subprocess.Popen:
        process = self.start(f"worker-{name}", "worker", "--concurrency", "1")

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited:\n{process.log_path.read_text()}")
            return " ready." in process.log_path.read_text()

        wait_until(ready, f"worker {name} to be ready")
        self.workers.append(process)
        return process

    def api(self, web: int, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", HANG_GUARD_S)
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.webs[web] + path, headers=headers, **kwargs)  # noqa: S113 - set above

    def lesson(self, lesson_id: int, web: int = 0) -> dict:
        return self.api(web, "GET", f"/api/v1/lessons/{lesson_id}").json()

    def settled(self, lesson_id: int) -> dict:
        def done():
            lesson = self.lesson(lesson_id, web=1)
            return lesson if lesson["status"] in ("ready", "failed") else None

        return wait_until(done, f"lesson {lesson_id} to be ready or failed")

    def objects(self, prefix: str = "") -> list[str]:
        listing = self.s3.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def local_media(self) -> list[str]:
        """Files in the processes' media root other than scratch (tmp/): with S3 there must be none."""
        root = Path(self.env["OBSAPP_MEDIA_ROOT"])
        return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and p.relative_to(root).parts[0] != "tmp") if root.exists() else []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_server):
    base = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(base)
    redis.start()
    bucket = s3_server.bucket("cluster")
    database_url = test_database.new_database_url(base, "cluster")
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": database_url, "OBSAPP_REDIS_URL": redis.url, "OBSAPP_JOB_BACKEND": "celery",
           "OBSAPP_JOB_LEASE_SECONDS": str(LEASE_S), "OBSAPP_JOB_WORKERS": "1", "OBSAPP_LOG_LEVEL": "INFO",
           "OBSAPP_SECRET_KEY": secrets.token_urlsafe(32), "OBSAPP_STORAGE": "s3",
           "OBSAPP_S3_ENDPOINT_URL": s3_server.endpoint_url, "OBSAPP_S3_BUCKET": bucket,
           "OBSAPP_S3_REGION": "us-east-1"}
    subprocess.run([OBSAPP, "init"], env=env, check=True, capture_output=True, timeout=HANG_GUARD_S)
    jobs = Jobs(database_url)
    cluster = Cluster(base=base, env=env, webs=[], jobs=jobs, s3=s3_server, bucket=bucket)
    try:
        cluster.web("web-a")
        cluster.web("web-b")
        email = "teacher@cluster.test"
        subprocess.run([OBSAPP, "users", "create", email, "--name", "Tess Teacher", "--password", PASSWORD], env=env,
                       check=True, capture_output=True, timeout=HANG_GUARD_S)
        cluster.token = subprocess.run([OBSAPP, "tokens", "create", email], env=env, check=True, capture_output=True,
                                       text=True, timeout=HANG_GUARD_S).stdout.strip()
        cluster.worker("one")
        cluster.worker("two")
        yield cluster
    finally:
        for process in cluster.processes:
            stop(process)
        jobs.close()
        redis.stop()


def lecture(folder: Path) -> Path:
    """A 12 MB H.264/AAC recording: big enough for S3 multipart parts (5 MiB at least, but the last)."""
    path = folder / "lecture.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=24", "-f", "lavfi", "-i", "sine=f=330:d=24",
                    "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "4M", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(path)], check=True, timeout=HANG_GUARD_S)
    return path


def test_an_upload_over_both_web_processes_is_ingested_into_the_bucket_and_served_by_either(cluster, tmp_path):
    source = lecture(tmp_path)
    data = source.read_bytes()
    assert len(data) > 2 * 5 * MIB
    lesson = cluster.api(0, "POST", "/api/v1/lessons", json={"title": "Across the cluster"})
    assert lesson.status_code == 201, lesson.text
    lesson_id, upload_url = lesson.json()["id"], lesson.json()["upload_url"]

    created = cluster.api(0, "POST", upload_url if upload_url.startswith("/") else
                          "/" + upload_url.split("/", 3)[3], headers={**TUS, "Upload-Length": str(len(data))})
    assert created.status_code == 201, created.text
    location = "/" + created.headers["Location"].split("://", 1)[-1].split("/", 1)[1] \
        if "://" in created.headers["Location"] else created.headers["Location"]
    # a small first chunk (buffered until a part is big enough), then big ones, each on the other process
    chunks = [(0, 1 * MIB), (1 * MIB, 7 * MIB), (7 * MIB, len(data))]
    for n, (start, end) in enumerate(chunks):
        web = (n + 1) % 2  # B, A, B
        offset = cluster.api(web, "HEAD", location, headers=TUS)
        assert int(offset.headers["Upload-Offset"]) == start, f"chunk {n}: the other process sees the offset"
        sent = cluster.api(web, "PATCH", location, data=data[start:end],
                           headers={**TUS, "Upload-Offset": str(start),
                                    "Content-Type": "application/offset+octet-stream"})
        assert sent.status_code == 204, sent.text
        assert int(sent.headers["Upload-Offset"]) == end

    ready = cluster.settled(lesson_id)
    assert ready["status"] == "ready", ready
    assert cluster.local_media() == []  # every original, rendition and derived file is in the bucket
    keys = [key for key in cluster.objects() if f"lessons/{lesson_id}/" in key]
    assert any(key.endswith(".mp4") for key in keys), keys
    job = cluster.jobs.row(ready["job_id"])
    assert worker_pid(job) in [worker.pid for worker in cluster.workers]

    # the rendition by either process, with Range, byte for byte what the bucket holds
    video_path = ready["media"]["video_url"]
    for web in (0, 1):
        part = cluster.api(web, "GET", video_path, headers={"Range": "bytes=1000-4999"})
        assert part.status_code == 206, part.text[:300]
        assert len(part.content) == 4000
        whole = cluster.api(1 - web, "GET", video_path)
        assert whole.status_code == 200 and part.content == whole.content[1000:5000]
    frame = cluster.api(1, "GET", f"/api/v1/lessons/{lesson_id}/frame", params={"t_ms": 12_000})
    assert frame.status_code == 200 and frame.headers["Content-Type"] == "image/jpeg"

    gone = cluster.api(1, "DELETE", f"/api/v1/lessons/{lesson_id}")
    assert gone.status_code == 204, gone.text
    assert [key for key in cluster.objects() if f"lessons/{lesson_id}/" in key] == []
    assert cluster.api(0, "GET", video_path).status_code == 404


def test_a_worker_killed_mid_ingest_hands_the_job_to_the_other_and_nothing_is_left(cluster, tmp_path):
    source = long_lesson(tmp_path)
    lesson = cluster.api(0, "POST", "/api/v1/lessons", json={"title": "Killed mid-ingest"}).json()
    with source.open("rb") as handle:
        sent = cluster.api(1, "POST", f"/api/v1/lessons/{lesson['id']}/video", files={"file": (source.name, handle)})
    assert sent.status_code == 202, sent.text
    job_id = cluster.lesson(lesson["id"])["job_id"]

    def transcoding():
        row = cluster.jobs.row(job_id)
        holder = worker_pid(row)
        if row["state"] != "running" or holder is None or (row["progress"] or 0) < 0.02:
            return None
        ffmpeg = children_named(holder)
        return (holder, ffmpeg) if ffmpeg else None

    holder, ffmpeg = wait_until(transcoding, "the ingest's transcode to be under way")
    victim = next(worker for worker in cluster.workers if worker.pid == holder)
    survivor = next(worker for worker in cluster.workers if worker.pid != holder)
    kill_hard(victim)
    cluster.workers.remove(victim)
    wait_until(lambda: not any(alive(pid) for pid in ffmpeg), "the killed worker's ffmpeg to die with it", 30)

    ready = cluster.settled(lesson["id"])
    assert ready["status"] == "ready", (ready, survivor.log_path.read_text()[-3000:])
    row = cluster.jobs.row(job_id)
    assert (row["state"], row["attempts"], worker_pid(row)) == ("done", 2, survivor.pid)
    # nothing stays running: the ingest and what follows it (the talk analysis) all end
    wait_until(lambda: set(cluster.jobs.states()) <= {"done", "failed"}, "every job to end")
    assert set(cluster.jobs.states()) == {"done"}
    renditions = [key for key in cluster.objects() if f"lessons/{lesson['id']}/" in key and key.endswith("video.mp4")]
    assert len(renditions) == 1, renditions  # one rendition, no copy from the killed attempt
    assert cluster.local_media() == []
    tmp = Path(cluster.env["OBSAPP_MEDIA_ROOT"]) / "tmp"
    leftovers = [p.name for p in tmp.iterdir() if p.name != "uploads"] if tmp.exists() else []
    assert leftovers == []  # the killed attempt's scratch is gone
