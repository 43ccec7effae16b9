"""The storage contract, run against both stores: the local folder and an S3 bucket on a real SeaweedFS."""

from __future__ import annotations

import pytest

from obsapp.storage import InvalidKey, LocalStore, S3Store


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
