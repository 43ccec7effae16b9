"""The app on S3 storage (a real SeaweedFS), through two real `obsapp serve` processes that share the database
and the bucket but no media folder: a tus upload whose PATCHes alternate between them, the ingest job, Range
reads of the rendition from the bucket, an exact frame, lesson deletion, and `obsapp storage migrate`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, _free_port
from tests.waiting import HANG_GUARD_S, wait_for_server, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.database_neutral(
    reason="about media storage; its two servers share a SQLite file of their own whatever the run's database")]
OBSAPP = str(Path(sys.executable).parent / "obsapp")
TUS = {"Tus-Resumable": "1.0.0"}
MiB = 1024 * 1024


def _run(env: dict, *args: str) -> str:
    result = subprocess.run([OBSAPP, *args], env=env, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pair(s3_server, tmp_path_factory):
    """Two web processes (each with its own scratch folder) on one SQLite database and one bucket."""
    base = tmp_path_factory.mktemp("s3pair")
    bucket = s3_server.bucket()
    env = {**os.environ, "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_DATABASE_URL":
           f"sqlite:///{base / 'obsapp.db'}", "OBSAPP_STORAGE": "s3", "OBSAPP_S3_BUCKET": bucket,
           "OBSAPP_S3_ENDPOINT_URL": s3_server.endpoint_url, "OBSAPP_S3_REGION": "us-east-1",
           "OBSAPP_SECRET_KEY": "s3-pair-test-secret-key-0123456789", "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_MEDIA_ROOT": str(base / "scratch-init")}
    _run(env, "init")
    _run(env, "users", "create", "teacher@school.test", "--name", "Teacher", "--password", PASSWORD)
    token = _run(env, "tokens", "create", "teacher@school.test").strip()
    servers = []
    for name in ("a", "b"):
        port = _free_port()
        server_env = {**env, "OBSAPP_MEDIA_ROOT": str(base / f"scratch-{name}")}
        log_path = base / f"server-{name}.log"
        process = subprocess.Popen([OBSAPP, "serve", "--port", str(port)], env=server_env,
                                   stdout=log_path.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        servers.append((f"http://127.0.0.1:{port}", process, log_path, base / f"scratch-{name}"))
    try:
        for url, process, log_path, _ in servers:
            wait_for_server(url, process, log_path)
        yield {"servers": servers, "token": token, "bucket": bucket, "client": s3_server.client(), "env": env,
               "base": base}
    finally:
        for _, process, _, _ in servers:
            process.terminate()
        for _, process, _, _ in servers:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()


def _keys(pair, prefix: str = "") -> list[str]:
    listing = pair["client"].list_objects_v2(Bucket=pair["bucket"], Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> bytes:
    """An 11 MiB-plus video (lavfi noise, lightly compressed), so the upload spans three multipart parts."""
    path = tmp_path_factory.mktemp("video") / "noise.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "nullsrc=s=320x240:r=25,geq=random(1)*255:128:128",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "mpeg4",
                    "-q:v", "1", "-c:a", "aac", "-shortest", str(path)], check=True, timeout=HANG_GUARD_S)
    data = path.read_bytes()
    assert len(data) > 11 * MiB, len(data)
    return data


def _api(pair, server: int = 0):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {pair['token']}"
    return pair["servers"][server][0], session


def _uploaded_lesson(pair, video: bytes, title: str) -> int:
    """A lesson whose video went up by tus, its PATCHes alternating between the two processes."""
    url, api = _api(pair)
    lesson = api.post(f"{url}/api/v1/lessons", json={"title": title}).json()
    created = api.post(f"{url}/api/v1/lessons/{lesson['id']}/uploads",
                       headers={**TUS, "Upload-Length": str(len(video)), "Upload-Metadata": "filename bm9pc2UubXA0"})
    assert created.status_code == 201, created.text
    path = "/api/v1/uploads/" + created.headers["Location"].rsplit("/", 1)[1]
    # 3 MiB (a tail), 4 MiB (part 1 and a new tail), 1 byte, then the rest (parts 2 and 3): a, b, a, b
    cuts = [0, 3 * MiB, 7 * MiB, 7 * MiB + 1, len(video)]
    for n, (start, end) in enumerate(zip(cuts, cuts[1:], strict=False)):
        server = pair["servers"][n % 2][0]
        done = api.patch(f"{server}{path}", data=video[start:end], headers={
            **TUS, "Upload-Offset": str(start), "Content-Type": "application/offset+octet-stream"})
        assert done.status_code == 204, (n, done.status_code, done.text)
        assert done.headers["Upload-Offset"] == str(end)
        other = pair["servers"][(n + 1) % 2][0]
        assert api.head(f"{other}{path}", headers=TUS).headers["Upload-Offset"] == str(end)
    return lesson["id"]


def _ready(pair, lesson_id: int) -> dict:
    url, api = _api(pair)

    def ready():
        state = api.get(f"{url}/api/v1/lessons/{lesson_id}").json()
        assert state["status"] != "failed", state
        return state if state["status"] == "ready" else None

    return wait_until(ready, f"lesson {lesson_id} to be ready")


def test_tus_across_processes_ingest_and_range_reads_from_the_bucket(pair, video):
    lesson_id = _uploaded_lesson(pair, video, "On S3")
    assert _keys(pair, f"originals/lessons/{lesson_id}/") == [f"originals/lessons/{lesson_id}/original"]
    stored = pair["client"].get_object(Bucket=pair["bucket"], Key=f"originals/lessons/{lesson_id}/original")
    assert stored["Body"].read() == video  # the parts and tails joined in order
    assert _keys(pair, "tmp/") == []  # the tails are gone
    _ready(pair, lesson_id)
    assert f"renditions/lessons/{lesson_id}/video.mp4" in _keys(pair, "renditions/")
    assert f"derived/lessons/{lesson_id}/poster.jpg" in _keys(pair, "derived/")

    url, api = _api(pair, 1)
    media = f"{url}/api/v1/lessons/{lesson_id}/media/video.mp4"
    whole = api.get(media)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "video/mp4"
    assert int(whole.headers["Content-Length"]) == len(whole.content) > 1000
    assert whole.headers["Accept-Ranges"] == "bytes" and "private" in whole.headers["Cache-Control"]
    etag = whole.headers["ETag"]
    size = len(whole.content)

    part = api.get(media, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-1099/{size}"
    assert part.content == whole.content[100:1100]
    tail = api.get(media, headers={"Range": f"bytes={size - 10}-"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    assert api.get(media, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    stale = api.get(media, headers={"Range": "bytes=0-9", "If-Range": '"not-the-etag"'})
    assert stale.status_code == 200 and stale.content == whole.content
    assert api.get(media, headers={"If-None-Match": etag}).status_code == 304
    assert api.get(media, headers={"Range": f"bytes={size + 10}-"}).status_code == 416
    head = api.head(media)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == size

    frame = api.get(f"{url}/api/v1/lessons/{lesson_id}/frame", params={"t_ms": 2000, "width": 160})
    assert frame.status_code == 200 and frame.headers["Content-Type"] == "image/jpeg"
    assert frame.content[:3] == b"\xff\xd8\xff"
    assert any(key.startswith(f"derived/lessons/{lesson_id}/frames/") for key in _keys(pair, "derived/"))

    anonymous = requests.get(media, timeout=HANG_GUARD_S)  # the same permission check as ever
    assert anonymous.status_code in (401, 404)

    # nothing of the media on either process's disk beyond (empty) scratch space
    for _, _, _, scratch in pair["servers"]:
        left = [p for p in scratch.rglob("*") if p.is_file()]
        assert left == [], left


def test_deleting_a_lesson_deletes_its_objects(pair, video):
    lesson_id = _uploaded_lesson(pair, video, "To delete")
    _ready(pair, lesson_id)
    prefixes = [f"originals/lessons/{lesson_id}/", f"renditions/lessons/{lesson_id}/", f"derived/lessons/{lesson_id}/"]
    assert all(_keys(pair, prefix) for prefix in prefixes)
    url, api = _api(pair, 1)
    assert api.delete(f"{url}/api/v1/lessons/{lesson_id}").status_code == 204
    assert [key for prefix in prefixes for key in _keys(pair, prefix)] == []


def test_an_unfinished_upload_is_aborted_with_its_lesson(pair, video):
    url, api = _api(pair)
    lesson = api.post(f"{url}/api/v1/lessons", json={"title": "Half"}).json()
    created = api.post(f"{url}/api/v1/lessons/{lesson['id']}/uploads",
                       headers={**TUS, "Upload-Length": str(len(video))})
    path = "/api/v1/uploads/" + created.headers["Location"].rsplit("/", 1)[1]
    api.patch(f"{url}{path}", data=video[:6 * MiB], headers={
        **TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    client = pair["client"]
    pending = client.list_multipart_uploads(Bucket=pair["bucket"], Prefix=f"originals/lessons/{lesson['id']}/")
    assert len(pending.get("Uploads", [])) == 1
    assert _keys(pair, "tmp/uploads/")  # the tail past part 1
    assert api.delete(f"{url}/api/v1/lessons/{lesson['id']}").status_code == 204
    pending = client.list_multipart_uploads(Bucket=pair["bucket"], Prefix=f"originals/lessons/{lesson['id']}/")
    assert pending.get("Uploads", []) == []
    assert _keys(pair, "tmp/uploads/") == []


def test_storage_migrate_copies_a_local_store_once(pair, tmp_path):
    folder = tmp_path / "media_store"
    files = {"originals/lessons/900/original": b"o" * 3000, "renditions/lessons/900/video.mp4": b"v" * 7 * MiB,
             "derived/lessons/900/poster.jpg": b"p", "derived/lessons/900/clips/4/video.mp4": b"c" * 10}
    for key, data in files.items():
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(data)
    (folder / "tmp").mkdir()
    (folder / "tmp" / "work.bin").write_bytes(b"scratch is not copied")
    out = _run(pair["env"], "storage", "migrate", "--from", str(folder))
    assert "Copied 4 files" in out and "0 were there already" in out
    for key, data in files.items():
        assert pair["client"].get_object(Bucket=pair["bucket"], Key=key)["Body"].read() == data
    assert "tmp/work.bin" not in _keys(pair, "tmp/")
    again = _run(pair["env"], "storage", "migrate", "--from", str(folder))
    assert "Copied 0 files" in again and "4 were there already" in again
    local_env = {**pair["env"], "OBSAPP_STORAGE": "local"}
    refused = subprocess.run([OBSAPP, "storage", "migrate"], env=local_env, capture_output=True, text=True,
                             timeout=HANG_GUARD_S)
    assert refused.returncode != 0 and "OBSAPP_STORAGE=s3" in refused.stderr
