"""Running at scale: what a second process buys, and what PostgreSQL, Redis and S3 cost against the embedded
default. Every figure is a ratio against a baseline measured in the same run.

    .venv/bin/python bench/scale.py [--only ingest,watch,lists,s3] [--lessons 8] [--seconds 15]

Throwaway servers are started for the run (as the tests start them) and stopped at the end: PostgreSQL
(tests/servers/postgres.py), Redis (tests/servers/redis.py) and, for the S3 part, SeaweedFS (tests/servers/s3.py).

ingest  ``--lessons`` short HEVC lessons (each needs a real transcode) are uploaded to an `obsapp serve --no-jobs`
        on PostgreSQL; then `obsapp worker` processes (one job at a time each) work the queue until every lesson
        is ready. Time with 1 worker process vs 2 (the issue's goal on 2 cores: <= 0.6x), from the first ingest
        job started to the last one finished (the jobs' times: the workers' own start is not counted), median
        of --ingest-runs rounds. The encoders are
        multi-threaded already, so a second process gains on the serial parts (probe, checksums, poster,
        sprite, waveform, database and storage work) and on the gaps between jobs.
watch   100 viewers (25 sessions x 4 clients, bench/watch.py's load) on one `obsapp serve` (the baseline), then the
        same load spread over two `obsapp serve` processes sharing Redis, where every control crosses processes
        through the message queue. Fan-out latency median/p99 and the ratio (goal: p99 < 50 ms).
lists   A lesson with 5,000 annotations: the API's list, summary and lesson list endpoints through the Flask test
        client, on SQLite (baseline) and on PostgreSQL (goal: within 1.5x).
s3      The first byte of a Range read in the middle of a rendition served by the app: from the local media
        store (baseline) and from SeaweedFS's S3 gateway (goal: < 150 ms on loopback).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import watch as watch_bench  # noqa: E402 - bench/watch.py: the fan-out load and its report

from tests.servers.postgres import postgres_server  # noqa: E402
from tests.servers.redis import RedisServer  # noqa: E402

BIN = Path(sys.executable).parent
OBSAPP = str(BIN / "obsapp")
PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts in a throwaway database
FF = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


# --- processes --------------------------------------------------------------------------------------------------

class Install:
    """One obsapp installation: a settings environment (database, media, instance, secret, Redis) shared by every
    process started from it, and those processes, all stopped by :meth:`close`."""

    def __init__(self, base: Path, database_url: str, **settings: str) -> None:
        self.base = base
        (base / "instance").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"),
                    "OBSAPP_MEDIA_ROOT": str(base / "media"), "OBSAPP_DATABASE_URL": database_url,
                    "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_SECRET_KEY": "bench-" + os.urandom(16).hex(),
                    "OBSAPP_JOB_WORKERS": "1", **{f"OBSAPP_{k.upper()}": v for k, v in settings.items()}}
        self.processes: list[subprocess.Popen] = []
        self.cli("init")

    def cli(self, *args: str) -> str:
        return subprocess.run([OBSAPP, *args], env=self.env, check=True, capture_output=True, text=True,
                              timeout=300).stdout.strip()

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        log = (self.base / f"{name}.log").open("w")
        process = subprocess.Popen([OBSAPP, *argv], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes.append(process)
        return process

    def serve(self, name: str, threads: int = 64) -> tuple[subprocess.Popen, str]:
        port = watch_bench.free_port()
        process = self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads),
                             "--no-jobs")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    return process, url
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise SystemExit(f"{name} did not start:\n" + (self.base / f"{name}.log").read_text())

    def person(self, url: str, name: str) -> str:
        """A new account's API token."""
        email = f"{name.lower().replace(' ', '.')}-{time.time_ns() % 10**9}@school.test"
        self.cli("users", "create", email, "--name", name, "--password", PASSWORD)
        return self.cli("tokens", "create", email)

    def stop(self, process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(30)
        self.processes.remove(process)

    def close(self) -> None:
        for process in list(self.processes):
            self.stop(process)


def ratio_line(what: str, measured: float, baseline: float, unit: str, goal: str = "") -> None:
    print(f"  {what}: {measured:.1f} {unit} vs baseline {baseline:.1f} {unit} = {measured / baseline:.2f}x"
          + (f"  ({goal})" if goal else ""), flush=True)


# --- ingest: 1 worker process vs 2 ------------------------------------------------------------------------------

def make_lessons(folder: Path, count: int, seconds: int) -> list[Path]:
    """``count`` distinct HEVC/AAC files (not web-playable as they are: each ingest transcodes)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        out = folder / f"lesson-{n}.mp4"
        subprocess.run([*FF, "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency={300 + 40 * n}:duration={seconds}",
                        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error",
                        "-tag:v", "hvc1", "-c:a", "aac", "-shortest", str(out)], check=True)
        files.append(out)
    return files


def ingest_round(base: Path, pg, redis_url: str, files: list[Path], workers: int, backend: str, run: int = 0) -> float:
    """Throughput: seconds from the first ingest job started to the last one finished (the jobs' own times), with
    every lesson uploaded and queued before ``workers`` worker processes start. A deployment's workers are
    long-lived: neither their start nor the uploads are part of draining the queue."""
    install = Install(base / f"ingest-{workers}-{run}",
                      pg.create_database(f"ingest_{workers}_{run}_{time.time_ns() % 10**6}"),
                      redis_url=redis_url, job_backend=backend)
    try:
        _, url = install.serve("web")
        headers = {"Authorization": f"Bearer {install.person(url, 'Bench Teacher')}"}
        ids = []
        for path in files:
            lesson = requests.post(url + "/api/v1/lessons", json={"title": path.stem}, headers=headers,
                                   timeout=30).json()
            with path.open("rb") as handle:
                response = requests.post(url + f"/api/v1/lessons/{lesson['id']}/video", headers=headers,
                                         files={"file": (path.name, handle, "video/mp4")}, timeout=120)
            response.raise_for_status()
            ids.append(lesson["id"])
        for n in range(workers):
            install.start(f"worker-{n}", "worker")
        pending, jobs = set(ids), {}
        deadline = time.monotonic() + 1800
        while pending and time.monotonic() < deadline:
            # Oldest first, as the workers take them, and only up to the first one still processing: a request or
            # two per look, so that watching does not take the CPU the workers are measured on.
            for lesson_id in sorted(pending):
                status = requests.get(url + f"/api/v1/lessons/{lesson_id}", headers=headers, timeout=30).json()
                if status["status"] == "failed":
                    raise SystemExit(f"lesson {lesson_id} failed: {status['error']}")
                if status["status"] != "ready":
                    break
                pending.discard(lesson_id)
                jobs[lesson_id] = status["job_id"]
            time.sleep(0.25)
        if pending:
            raise SystemExit(f"{len(pending)} lessons not ready after 30 minutes")
        times = [requests.get(url + f"/api/v1/jobs/{job_id}", headers=headers, timeout=30).json()
                 for job_id in jobs.values()]
        first = min(datetime.fromisoformat(job["started_at"]) for job in times)
        last = max(datetime.fromisoformat(job["finished_at"]) for job in times)
        return (last - first).total_seconds()
    finally:
        install.close()


def bench_ingest(base: Path, pg, redis: RedisServer, args) -> None:
    print(f"\n== ingest: {args.lessons} lessons of {args.lesson_seconds} s (HEVC, transcoded), "
          f"backend {args.backend}", flush=True)
    files = make_lessons(base / "inputs", args.lessons, args.lesson_seconds)
    ones, twos = [], []
    for run in range(args.ingest_runs):  # 1 worker, then 2, in turn: a drift of the machine touches both alike
        ones.append(ingest_round(base, pg, redis.url, files, 1, args.backend, run))
        twos.append(ingest_round(base, pg, redis.url, files, 2, args.backend, run))
        print(f"  run {run + 1}: 1 worker process {ones[-1]:.1f} s, 2 worker processes {twos[-1]:.1f} s "
              f"({twos[-1] / ones[-1]:.2f}x)", flush=True)
    one, two = statistics.median(ones), statistics.median(twos)
    print(f"  median of {args.ingest_runs}: 1 worker process {one:.1f} s, 2 worker processes {two:.1f} s", flush=True)
    ratio_line("2 workers", two, one, "s", "goal on 2 cores: <= 0.6x")


# --- watch: fan-out through Redis across two processes ----------------------------------------------------------

def bench_watch(base: Path, pg, redis: RedisServer, args) -> None:
    sessions, clients = 25, 4
    threads = sessions * clients + 32
    print(f"\n== watch fan-out: {sessions} sessions x {clients} clients = {sessions * clients} viewers, one seek per "
          f"session every {args.interval_ms} ms for {args.seconds:g} s", flush=True)
    results = {}
    for name, processes, settings in (("one process (baseline)", 1, {}),
                                      ("two processes via Redis", 2, {"redis_url": redis.url})):
        install = Install(base / f"watch-{processes}", pg.create_database(f"watch_{processes}"), **settings)
        try:
            servers = [install.serve(f"web-{n}", threads) for n in range(processes)]
            urls = [url for _, url in servers]
            people = []
            for n in range(clients):
                token = install.person(urls[0], f"Viewer {n}")
                me = requests.get(urls[0] + "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                                  timeout=10).json()
                people.append({"id": me["id"], "token": token})
            owner = {"Authorization": f"Bearer {people[0]['token']}"}
            lesson = requests.post(urls[0] + "/api/v1/lessons", json={"title": "Bench"}, headers=owner,
                                   timeout=10).json()
            for person in people[1:]:
                requests.post(urls[0] + f"/api/v1/lessons/{lesson['id']}/shares", headers=owner, timeout=10,
                              json={"user_id": person["id"], "role": "viewer"}).raise_for_status()
            result = watch_bench.run(urls, people, lesson["id"], sessions, clients, args.interval_ms, args.seconds,
                                     [process.pid for process, _ in servers])
            watch_bench.report(name, result)
            results[name] = result["latencies_ms"]
        finally:
            install.close()
    base_lat, lat = results["one process (baseline)"], results["two processes via Redis"]
    p99 = watch_bench.quantile(lat, 0.99)
    ratio_line("p99 across two processes", p99, watch_bench.quantile(base_lat, 0.99), "ms",
               f"goal p99 < 50 ms: {'met' if p99 < 50 else 'NOT met'}")
    ratio_line("median across two processes", statistics.median(lat), statistics.median(base_lat), "ms")


# --- lists: PostgreSQL vs SQLite with 5,000 annotations ---------------------------------------------------------

def list_timings(database_url: str, folder: Path, annotations: int, runs: int) -> dict[str, float]:
    """Median ms of each list endpoint, through the Flask test client, for a lesson with ``annotations``."""
    from obsapp import create_app, setup
    from obsapp.accounts import services as accounts
    from obsapp.annotations.models import Annotation
    from obsapp.extensions import db
    from obsapp.frameworks.models import Criterion
    from obsapp.lessons.models import Lesson

    folder.mkdir(parents=True, exist_ok=True)
    app = create_app({"INSTANCE_PATH": str(folder), "ENV": "testing", "TESTING": True, "DATABASE_URL": database_url,
                      "MEDIA_ROOT": str(folder / "media"), "LOG_LEVEL": "WARNING",
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    with app.app_context():
        setup.initialise(app)
        mentor = accounts.create_user(None, email="m@bench.test", name="Mentor", password="bench-pass")
        owner = accounts.create_user(None, email="o@bench.test", name="Owner", password="bench-pass")
        accounts.create_mentorship(None, mentor, owner)
        for n in range(20):  # a dashboard with more than one lesson
            db.session.add(Lesson(owner_id=owner.id, title=f"Lesson {n}", status="ready", duration_ms=2_700_000))
        lesson = Lesson(owner_id=owner.id, title="Bench lesson", status="ready", duration_ms=45 * 60 * 1000)
        db.session.add(lesson)
        db.session.commit()
        criteria = list(db.session.query(Criterion).all())
        rng = random.Random(7)
        for n in range(annotations):
            start = rng.randrange(0, lesson.duration_ms - 10_000)
            db.session.add(Annotation(
                lesson_id=lesson.id, author_id=mentor.id, start_ms=start,
                end_ms=start + rng.randrange(1000, 9000) if n % 2 else None,
                body=f"Observation {n}: students respond to question {n % 17}.",
                kind=("strength", "growth", "question", "note")[n % 4], criteria=rng.sample(criteria, 2)))
        db.session.commit()
        _, token = accounts.create_token(None, mentor, "bench")
        lesson_id = lesson.id
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"annotations, 100 per page": f"/api/v1/lessons/{lesson_id}/annotations?per_page=100",
             "annotations, 500 per page": f"/api/v1/lessons/{lesson_id}/annotations?per_page=500",
             "annotation summary": f"/api/v1/lessons/{lesson_id}/annotations/summary",
             "lessons list": "/api/v1/lessons"}
    timings = {}
    for name, path in paths.items():
        client.get(path, headers=headers)  # warm: caches, prepared statements, connection pool
        samples = []
        for _ in range(runs):
            t0 = time.perf_counter()
            response = client.get(path, headers=headers)
            response.get_data()
            samples.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)[:200]}")
        timings[name] = statistics.median(samples) * 1000
    with app.app_context():
        db.engine.dispose()
    return timings


def bench_lists(base: Path, pg, args) -> None:
    print(f"\n== list endpoints: one lesson with {args.annotations} annotations, median of {args.runs} runs",
          flush=True)
    sqlite = list_timings(f"sqlite:///{base / 'lists.db'}", base / "lists-sqlite", args.annotations, args.runs)
    postgres = list_timings(pg.create_database("lists"), base / "lists-pg", args.annotations, args.runs)
    print(f"  {'endpoint':<28}{'SQLite ms':>11}{'PostgreSQL ms':>15}{'ratio':>8}")
    for name, baseline in sqlite.items():
        print(f"  {name:<28}{baseline:>11.1f}{postgres[name]:>15.1f}{postgres[name] / baseline:>7.2f}x")
    worst = max(postgres[name] / sqlite[name] for name in sqlite)
    print(f"  worst ratio {worst:.2f}x (goal: within 1.5x: {'met' if worst <= 1.5 else 'NOT met'})", flush=True)


# --- S3: first byte of a Range read ------------------------------------------------------------------------------

def first_byte_ms(url: str, headers: dict, size: int, runs: int) -> float:
    rng = random.Random(3)
    samples = []
    with requests.Session() as http:
        http.headers.update(headers)
        for _ in range(runs):
            offset = rng.randrange(size // 4, size - 65536)
            t0 = time.perf_counter()
            with http.get(url, headers={"Range": f"bytes={offset}-{offset + 65535}"}, stream=True,
                          timeout=30) as response:
                if response.status_code != 206:
                    raise SystemExit(f"Range read answered {response.status_code}")
                next(response.iter_content(1))
                samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def range_round(base: Path, pg, name: str, video: Path, runs: int, **settings: str) -> float:
    install = Install(base / f"range-{name}", pg.create_database(f"range_{name}"), **settings)
    try:
        install.start("worker", "worker")
        _, url = install.serve("web")
        headers = {"Authorization": f"Bearer {install.person(url, 'Range Teacher')}"}
        lesson = requests.post(url + "/api/v1/lessons", json={"title": "Range"}, headers=headers, timeout=30).json()
        with video.open("rb") as handle:
            requests.post(url + f"/api/v1/lessons/{lesson['id']}/video", headers=headers,
                          files={"file": (video.name, handle, "video/mp4")}, timeout=120).raise_for_status()
        deadline = time.monotonic() + 600
        while (status := requests.get(url + f"/api/v1/lessons/{lesson['id']}", headers=headers,
                                      timeout=30).json())["status"] != "ready":
            if status["status"] == "failed" or time.monotonic() > deadline:
                raise SystemExit(f"lesson not ready: {status}")
            time.sleep(0.25)
        video_url = url + status["media"]["video_url"] if status["media"]["video_url"].startswith("/") \
            else status["media"]["video_url"]
        size = int(requests.head(video_url, headers=headers, timeout=30, allow_redirects=True)
                   .headers["Content-Length"])
        return first_byte_ms(video_url, headers, size, runs)
    finally:
        install.close()


def bench_s3(base: Path, pg, args) -> None:
    try:
        from tests.servers.s3 import start_s3_server
    except ImportError:
        print("\n== s3: skipped (this install has no S3 storage: tests/servers/s3.py is missing)")
        return
    print(f"\n== S3 Range reads: first byte of a 64 KiB Range at random offsets, median of {args.runs * 4}", flush=True)
    video = base / "range.mp4"
    subprocess.run([*FF, "-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=60", "-c:v", "libx264", "-preset",
                    "ultrafast", "-g", "60", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(video)], check=True)
    local = range_round(base, pg, "local", video, args.runs * 4)
    (base / "s3").mkdir()
    s3 = start_s3_server(base / "s3")  # puts its access key in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
    try:
        remote = range_round(base, pg, "s3", video, args.runs * 4, storage="s3", s3_endpoint_url=s3.endpoint_url,
                             s3_bucket=s3.bucket("bench"), s3_region="us-east-1")
    finally:
        s3.stop()
    ratio_line("first byte from S3", remote, local, "ms", f"goal < 150 ms: {'met' if remote < 150 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="ingest,watch,lists,s3", help="comma-separated parts to run")
    parser.add_argument("--lessons", type=int, default=8)
    parser.add_argument("--lesson-seconds", type=int, default=20)
    parser.add_argument("--ingest-runs", type=int, default=3, help="rounds of 1 worker vs 2 (the median is kept)")
    parser.add_argument("--backend", default="embedded", choices=("embedded", "celery"),
                        help="OBSAPP_JOB_BACKEND of the ingest part")
    parser.add_argument("--interval-ms", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--annotations", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    parts = {part.strip() for part in args.only.split(",") if part.strip()}
    unknown = parts - {"ingest", "watch", "lists", "s3"}
    if unknown or not 1 <= args.lessons <= 32 or args.seconds > 120:
        raise SystemExit(f"unknown parts {sorted(unknown)} or unbounded sizes (1-32 lessons, at most 120 s)")
    base = Path(tempfile.mkdtemp(prefix="obsapp-bench-scale-"))
    print(f"{os.cpu_count()} cores; work folder {base}", flush=True)
    redis = RedisServer(base)
    try:
        with postgres_server() as pg:
            redis.start()
            if "lists" in parts:
                bench_lists(base, pg, args)
            if "watch" in parts:
                bench_watch(base, pg, redis, args)
            if "ingest" in parts:
                bench_ingest(base, pg, redis, args)
            if "s3" in parts:
                bench_s3(base, pg, args)
    finally:
        redis.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
