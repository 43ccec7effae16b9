"""The storage contract, run against both stores: the local folder and an S3 bucket on a real SeaweedFS."""

from __future__ import annotations

import pytest

from obsapp.storage import InvalidKey, LocalStore, S3Store

pytestmark = pytest.mark.database_neutral(reason="the stores themselves: no database")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        store = LocalStore(tmp_path / "media")
    else:
        server = request.getfixturevalue("s3_server")
        store = S3Store(server.bucket(), endpoint_url=server.endpoint_url, region="us-east-1",
                        scratch_root=tmp_path / "scratch")
    store.ensure_layout()
    return store


def test_put_read_stat_and_delete(store, tmp_path):
    source = tmp_path / "in.bin"
    data = bytes(range(256)) * 1000
    source.write_bytes(data)
    store.put_file("renditions/lessons/1/video.mp4", source)
    assert not source.exists()  # moved
    assert store.exists("renditions/lessons/1/video.mp4")
    assert store.size("renditions/lessons/1/video.mp4") == len(data)
    info = store.stat("renditions/lessons/1/video.mp4")
    assert info.size == len(data) and info.etag
    assert store.read_bytes("renditions/lessons/1/video.mp4") == data
    with store.local_copy("renditions/lessons/1/video.mp4") as path:
        assert path.read_bytes() == data
    store.put_bytes("derived/lessons/1/poster.jpg", b"jpeg")
    source.write_bytes(b"kept")
    store.put_file("derived/lessons/1/clips/5/video.mp4", source, move=False)
    assert source.read_bytes() == b"kept"
    assert list(store.keys("derived/lessons/1")) == ["derived/lessons/1/clips/5/video.mp4",
                                                     "derived/lessons/1/poster.jpg"]
    store.delete("derived/lessons/1/poster.jpg")
    assert not store.exists("derived/lessons/1/poster.jpg")
    store.delete("derived/lessons/1/poster.jpg")  # deleting what is gone is fine


def test_missing_keys(store):
    assert not store.exists("derived/lessons/9/poster.jpg")
    with pytest.raises(FileNotFoundError):
        store.stat("derived/lessons/9/poster.jpg")
    with pytest.raises(FileNotFoundError), store.local_copy("derived/lessons/9/poster.jpg"):
        pass
    with pytest.raises(FileNotFoundError), store.media_input("derived/lessons/9/poster.jpg"):
        pass


def test_media_input_is_read_by_ffprobe_without_a_copy(store, tmp_path):
    """What ffmpeg is given for a key: the file itself (local) or a presigned URL it reads by ranges (S3)."""
    import subprocess

    from obsapp.media.run import RemoteInput, ffprobe_json

    video = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(video)], check=True, timeout=120)
    store.put_file("renditions/lessons/3/video.mp4", video)
    with store.media_input("renditions/lessons/3/video.mp4") as source:
        if store.kind == "s3":
            assert isinstance(source, RemoteInput)
        else:
            assert source == store.path("renditions/lessons/3/video.mp4")
        assert "X-Amz-Signature" not in str(source)  # a log line shows no signature
        streams = ffprobe_json(source, 30)["streams"]
    assert streams[0]["width"] == 160 and streams[0]["codec_name"] == "h264"


def test_prefix_delete_keeps_neighbours(store):
    """Deleting lesson 1's folder leaves lesson 12's files (a prefix is a folder, not a string start)."""
    for key in ("derived/lessons/1/a.jpg", "derived/lessons/1/clips/2/video.mp4", "derived/lessons/12/a.jpg",
                "originals/lessons/1/original"):
        store.put_bytes(key, b"x")
    store.delete_prefix("derived/lessons/1")
    store.delete_prefix("originals/lessons/1")
    assert sorted(store.keys("derived")) == ["derived/lessons/12/a.jpg"]
    assert not store.exists("originals/lessons/1/original")
    store.delete_prefix("renditions/lessons/77")  # nothing there: fine


def test_replacing_a_key_and_etag_changes(store):
    store.put_bytes("derived/lessons/1/waveform.json", b"[1]")
    first = store.stat("derived/lessons/1/waveform.json")
    store.put_bytes("derived/lessons/1/waveform.json", b"[1, 2, 3]")
    second = store.stat("derived/lessons/1/waveform.json")
    assert store.read_bytes("derived/lessons/1/waveform.json") == b"[1, 2, 3]"
    assert second.size == 9 and second.etag != first.etag


@pytest.mark.parametrize("key", ["", "/etc/passwd", "derived/../../x", "elsewhere/x", "derived\\x"])
def test_invalid_keys_are_refused(store, key):
    with pytest.raises(InvalidKey):
        store.exists(key)
    with pytest.raises(InvalidKey):
        store.put_bytes(key, b"x")


def test_scratch_space_is_local_and_cleaned(store):
    with store.temp_dir("job-") as work:
        (work / "out.mp4").write_bytes(b"x")
        assert work.parent == store.tmp_root
    assert not work.exists()
    store.check_writable()


def test_s3_multipart_parts_replace_and_complete(request, tmp_path):
    server = request.getfixturevalue("s3_server")
    store = S3Store(server.bucket(), endpoint_url=server.endpoint_url, region="us-east-1",
                    scratch_root=tmp_path / "scratch")
    key = "originals/lessons/3/original"
    upload = store.multipart_create(key)
    part = 5 * 1024 * 1024
    store.multipart_put(key, upload, 1, b"x" * part)
    first = store.multipart_put(key, upload, 1, b"a" * part)  # sent again: replaces
    last = store.multipart_put(key, upload, 2, b"tail")
    assert not store.exists(key)  # nothing visible before completion
    store.multipart_complete(key, upload, [first, last])
    assert store.size(key) == part + 4
    with store.open(key, part - 2, part + 4) as body:
        assert body.read() == b"aatail"
    # an unfinished upload under a deleted prefix is aborted
    other = store.multipart_create("originals/lessons/4/original")
    store.delete_prefix("originals/lessons/4")
    with pytest.raises(FileNotFoundError):
        store.multipart_put("originals/lessons/4/original", other, 1, b"x")


def test_presigned_redirect_after_the_check(request, tmp_path):
    """OBSAPP_S3_PRESIGN_EXPIRY_S: ``serve`` answers with a short-lived URL that the bucket honours, with the
    content type and download name asked for; a missing key is still a 404."""
    import requests
    from flask import Flask

    from obsapp.errors import NotFound
    from obsapp.storage import serve

    server = request.getfixturevalue("s3_server")
    store = S3Store(server.bucket(), endpoint_url=server.endpoint_url, region="us-east-1",
                    scratch_root=tmp_path / "scratch", presign_expiry_s=60)
    store.put_bytes("derived/reels/3/video.mp4", b"reel bytes")
    app = Flask(__name__)
    app.extensions["obsapp.media_store"] = store
    with app.test_request_context("/api/v1/reels/3/media/video.mp4"):
        response = serve("derived/reels/3/video.mp4", "video/mp4", download_name="reel.mp4")
        assert response.status_code == 302 and response.headers["Cache-Control"] == "no-store"
        location = response.headers["Location"]
        with pytest.raises(NotFound):
            serve("derived/reels/4/video.mp4", "video/mp4")
    fetched = requests.get(location, timeout=60)
    assert fetched.status_code == 200 and fetched.content == b"reel bytes"
    assert fetched.headers["Content-Type"] == "video/mp4"
    assert 'filename="reel.mp4"' in fetched.headers["Content-Disposition"]
    assert requests.get(location.replace("Signature=", "Signature=0"), timeout=60).status_code == 403


def test_s3_settings_make_an_s3_store(tmp_path, monkeypatch):
    from obsapp.config import load_settings
    from obsapp.storage import make_store

    monkeypatch.setenv("OBSAPP_STORAGE", "s3")
    monkeypatch.setenv("OBSAPP_S3_BUCKET", " media ")
    monkeypatch.setenv("OBSAPP_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("OBSAPP_S3_REGION", "eu-west-1")
    config = load_settings(tmp_path / "instance", {"TESTING": True, "MEDIA_ROOT": str(tmp_path / "scratch")})
    store = make_store(config)
    assert isinstance(store, S3Store) and store.bucket == "media" and store.describe() == \
        "s3://media at http://127.0.0.1:9000"
    assert store.tmp_root == (tmp_path / "scratch" / "tmp").resolve()
    monkeypatch.setenv("OBSAPP_STORAGE", "local")
    assert isinstance(make_store(load_settings(tmp_path / "instance", {"TESTING": True})), LocalStore)


def test_migrate_local_copies_what_differs(request, tmp_path):
    from obsapp.storage import StorageError, migrate_local

    server = request.getfixturevalue("s3_server")
    bucket = S3Store(server.bucket(), endpoint_url=server.endpoint_url, region="us-east-1",
                     scratch_root=tmp_path / "scratch")
    local = LocalStore(tmp_path / "media")
    local.ensure_layout()
    local.put_bytes("renditions/lessons/1/video.mp4", b"v" * 100)
    local.put_bytes("derived/lessons/1/poster.jpg", b"new poster")
    local.put_bytes("tmp/uploads/abc.part", b"an upload in progress is not media")
    bucket.put_bytes("derived/lessons/1/poster.jpg", b"old")  # a different size: copied again
    bucket.put_bytes("renditions/lessons/1/video.mp4", b"w" * 100)  # the same size: taken as copied
    lines = []
    report = migrate_local(local.root, bucket, echo=lines.append)
    assert (report.copied, report.already, report.bytes_copied) == (1, 1, 10)
    assert lines == ["copied derived/lessons/1/poster.jpg (10 bytes)"]
    assert bucket.read_bytes("derived/lessons/1/poster.jpg") == b"new poster"
    assert not bucket.exists("tmp/uploads/abc.part")
    assert local.exists("derived/lessons/1/poster.jpg")  # the local files are kept
    with pytest.raises(StorageError):
        migrate_local(tmp_path / "nowhere", bucket)
