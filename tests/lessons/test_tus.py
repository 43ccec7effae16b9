"""The tus 1.0.0 server: raw protocol rules, and the tuspy client (including resuming)."""

import base64
import hashlib

import pytest

from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from tests.waiting import job_settled

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET = {"Content-Type": "application/offset+octet-stream"}


def _meta(**items):
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in items.items())


@pytest.fixture
def teacher(make_user):
    return make_user()


@pytest.fixture
def api(api_as, teacher):
    return api_as(teacher)


@pytest.fixture
def lesson(api):
    return api.post("/api/v1/lessons", json={"title": "Fractions"}).json


def _create(api, lesson, length, **headers):
    return api.post(lesson["upload_url"], headers={**TUS, "Upload-Length": str(length),
                                                   "Upload-Metadata": _meta(filename="lesson.mp4"), **headers})


def test_options_advertises_the_extensions(api, lesson):
    response = api.request("OPTIONS", lesson["upload_url"])
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) >= {"creation", "termination", "checksum", "expiration"}
    assert int(response.headers["Tus-Max-Size"]) > 0
    assert "sha1" in response.headers["Tus-Checksum-Algorithm"]


def test_create_head_patch_and_offsets(api, lesson):
    created = _create(api, lesson, 10)
    assert created.status_code == 201 and created.headers["Tus-Resumable"] == "1.0.0"
    location = created.headers["Location"]
    assert "Upload-Expires" in created.headers
    head = api.head(location, headers=TUS)
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0" and head.headers["Upload-Length"] == "10"
    assert head.headers["Cache-Control"] == "no-store"
    first = api.patch(location, data=b"01234", headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "5"
    # a PATCH at the wrong offset is a conflict and changes nothing
    stale = api.patch(location, data=b"xxxxx", headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "offset_mismatch"
    assert api.head(location, headers=TUS).headers["Upload-Offset"] == "5"


def test_missing_version_and_wrong_content_type(api, lesson):
    assert api.post(lesson["upload_url"], headers={"Upload-Length": "10"}).status_code == 412
    location = _create(api, lesson, 10).headers["Location"]
    wrong = api.patch(location, data=b"01234", headers={**TUS, "Upload-Offset": "0",
                                                         "Content-Type": "application/json"})
    assert wrong.status_code == 415


def test_checksum_mismatch_is_460_and_discards_the_chunk(api, lesson):
    location = _create(api, lesson, 10).headers["Location"]
    bad = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = api.patch(location, data=b"01234", headers={**TUS, **OFFSET, "Upload-Offset": "0",
                                                            "Upload-Checksum": f"sha1 {bad}"})
    assert response.status_code == 460
    assert api.head(location, headers=TUS).headers["Upload-Offset"] == "0"
    good = base64.b64encode(hashlib.sha1(b"01234").digest()).decode()
    ok = api.patch(location, data=b"01234", headers={**TUS, **OFFSET, "Upload-Offset": "0",
                                                      "Upload-Checksum": f"sha1 {good}"})
    assert ok.status_code == 204 and ok.headers["Upload-Offset"] == "5"
    unknown = api.patch(location, data=b"5", headers={**TUS, **OFFSET, "Upload-Offset": "5",
                                                       "Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400


def test_too_large(app, api, lesson):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    try:
        response = _create(api, lesson, 1001)
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 20 * 1024**3
    assert response.status_code == 413 and "upload limit" in response.json["error"]["message"]
    location = _create(api, lesson, 4).headers["Location"]
    over = api.patch(location, data=b"123456", headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    assert over.status_code == 413
    assert api.head(location, headers=TUS).headers["Upload-Offset"] == "0"


def test_quota(app, api, lesson):
    app.config["USER_QUOTA_BYTES"] = 100
    try:
        assert _create(api, lesson, 60).status_code == 201
        second = api.post("/api/v1/lessons", json={"title": "Another"}).json
        refused = _create(api, second, 60)
    finally:
        app.config["USER_QUOTA_BYTES"] = 0
    assert refused.status_code == 413 and refused.json["error"]["code"] == "quota_exceeded"


def test_termination_then_404(api, lesson):
    location = _create(api, lesson, 10).headers["Location"]
    api.patch(location, data=b"012", headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    assert api.delete(location, headers=TUS).status_code == 204
    assert api.head(location, headers=TUS).status_code == 404
    assert api.patch(location, data=b"3", headers={**TUS, **OFFSET, "Upload-Offset": "3"}).status_code == 404


def test_expired_upload_is_410_and_cleaned_up(app, api, lesson):
    from datetime import timedelta

    from obsapp.accounts.models import utcnow
    from obsapp.lessons import uploads
    from obsapp.lessons.models import Upload

    location = _create(api, lesson, 10).headers["Location"]
    upload_id = location.rsplit("/", 1)[1]
    api.patch(location, data=b"012", headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    row = db.session.get(Upload, upload_id)
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert api.head(location, headers=TUS).status_code == 410
    assert uploads.has_data(upload_id)
    assert uploads.expire_abandoned() == 1
    assert not uploads.has_data(upload_id)


def test_another_users_upload_is_404(api, api_as, make_user, lesson):
    location = _create(api, lesson, 10).headers["Location"]
    other = api_as(make_user())
    assert other.head(location, headers=TUS).status_code == 404
    assert other.patch(location, data=b"0", headers={**TUS, **OFFSET, "Upload-Offset": "0"}).status_code == 404
    assert other.delete(location, headers=TUS).status_code == 404
    # and they cannot start an upload on someone else's lesson either
    assert _create(other, lesson, 10).status_code == 404


def test_zero_length_and_bad_headers(api, lesson):
    assert _create(api, lesson, 0).status_code == 422
    bad = api.post(lesson["upload_url"], headers={**TUS, "Upload-Length": "-5"})
    assert bad.status_code == 400
    meta = api.post(lesson["upload_url"], headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "filename !!!"})
    assert meta.status_code == 400


def test_completing_the_upload_starts_processing(api, lesson, media_samples):
    data = media_samples["h264_aac_mp4"].read_bytes()
    location = _create(api, lesson, len(data)).headers["Location"]
    half = len(data) // 2
    api.patch(location, data=data[:half], headers={**TUS, **OFFSET, "Upload-Offset": "0"})
    assert api.get(f"/api/v1/lessons/{lesson['id']}").json["status"] == "awaiting_upload"
    done = api.patch(location, data=data[half:], headers={**TUS, **OFFSET, "Upload-Offset": str(half)})
    assert done.status_code == 204 and done.headers["Upload-Offset"] == str(len(data))
    state = api.get(f"/api/v1/lessons/{lesson['id']}").json
    assert state["status"] == "processing" and state["job_id"]
    assert state["source"]["filename"] == "lesson.mp4" and state["source"]["size_bytes"] == len(data)
    row = db.session.get(Lesson, lesson["id"])
    from obsapp.storage import media_store

    assert media_store().read_bytes(row.original_key) == data  # moved into place whole


def test_tuspy_client_uploads_and_resumes(live_server, media_samples):
    from tusclient import client as tus_client
    from tusclient.exceptions import TusCommunicationError

    teacher = live_server.make_user()
    token = live_server.token_for(teacher["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Via tuspy"}).json()
    path = media_samples["h264_aac_mp4"]
    client = tus_client.TusClient(lesson["upload_url"], headers={"Authorization": f"Bearer {token}"})
    uploader = client.uploader(str(path), chunk_size=16 * 1024, metadata={"filename": path.name})
    uploader.upload_chunk()
    uploader.upload_chunk()
    sent = uploader.offset
    assert 0 < sent < path.stat().st_size
    # a new client (as after a crash) resumes from the server's offset via HEAD
    resumed = tus_client.TusClient(lesson["upload_url"], headers={"Authorization": f"Bearer {token}"}).uploader(
        str(path), url=uploader.url, chunk_size=64 * 1024)
    assert resumed.offset == sent
    resumed.upload()
    settled = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert settled["status"] == "ready", settled
    # a stranger's client cannot touch it
    other = live_server.make_user()
    stranger = tus_client.TusClient(lesson["upload_url"],
                                    headers={"Authorization": f"Bearer {live_server.token_for(other['email'])}"})
    with pytest.raises(TusCommunicationError) as refused:
        stranger.uploader(str(path), url=uploader.url, chunk_size=1024).upload_chunk()
    assert refused.value.status_code == 404  # not visible to them
