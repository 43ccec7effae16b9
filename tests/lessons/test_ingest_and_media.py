"""From upload to playable lesson through the real job code and ffmpeg; bad inputs; media serving;
frames; deletion; jobs surviving a crash."""

import json
import subprocess

import pytest

from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.lessons.models import Lesson
from obsapp.storage import media_store
from tests.conftest import TEST_STORAGE, stored_file


@pytest.fixture
def teacher(make_user):
    return make_user(name="Teacher")


@pytest.fixture
def api(api_as, teacher):
    return api_as(teacher)


def upload(api, path, title="Lesson"):
    lesson = api.post("/api/v1/lessons", json={"title": title}).json
    with open(path, "rb") as handle:
        response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                            content_type="multipart/form-data")
    return lesson["id"], response


def store_files(lesson_id):
    return sorted(key for key in media_store().keys("") if f"lessons/{lesson_id}/" in key)


def ffprobe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("sample,width,height,has_audio,mode", [
    ("h264_aac_mp4", 320, 240, True, "remux"),
    ("h264_aac_moov_end_mp4", 320, 240, True, "remux"),
    ("hevc_aac_mp4", 320, 240, True, "encode"),
    ("vp9_opus_webm", 320, 240, True, "encode"),
    ("mpeg4_mp3_avi", 320, 240, True, "encode"),
    ("rotated_90_mov", 240, 320, True, None),
    ("vfr_mp4", 320, 240, True, "encode"),
    ("no_audio_mp4", 320, 240, False, "remux"),
    ("h264_mkv", 320, 240, True, "remux_audio"),
    ("odd_dims_mp4", 320, 240, True, "encode"),
    ("lying_duration_mp4", 320, 240, True, None),  # the header claims 60 s; the lesson says ~3 s
])
def test_upload_becomes_a_playable_lesson(api, run_jobs, media_samples, sample, width, height, has_audio, mode):
    lesson_id, response = upload(api, media_samples[sample])
    assert response.status_code == 202 and response.json["status"] == "processing"
    assert run_jobs() == 2  # the ingest, then the talk analysis it queues
    lesson = api.get(f"/api/v1/lessons/{lesson_id}").json
    assert lesson["status"] == "ready", lesson["error"]
    assert (lesson["width"], lesson["height"]) == (width, height)
    assert lesson["has_audio"] is has_audio
    assert 2500 <= lesson["duration_ms"] <= 3500
    row = db.session.get(Lesson, lesson_id)
    if mode:
        assert row.rendition_mode == mode
    assert len(row.source_sha256) == 64
    rendition = stored_file(f"renditions/lessons/{lesson_id}/video.mp4")
    info = ffprobe(rendition)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    assert video["codec_name"] == "h264" and video["pix_fmt"] == "yuv420p"
    assert video["width"] % 2 == 0 and video["height"] % 2 == 0
    assert [s["codec_name"] for s in info["streams"] if s["codec_type"] == "audio"] == (["aac"] if has_audio else [])
    head = rendition.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1 or head.find(b"moov") < head.find(b"mdat"))
    job = api.get(f"/api/v1/jobs/{lesson['job_id']}").json
    assert job["state"] == "done" and job["progress"] == 1.0


def test_media_urls_serve_the_outputs(api, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    media = api.get(f"/api/v1/lessons/{lesson_id}").json["media"]
    video = api.get(media["video_url"])
    assert video.status_code == 200 and video.mimetype == "video/mp4"
    assert "private" in video.headers["Cache-Control"] and video.headers.get("ETag")
    poster = api.get(media["poster_url"])
    assert poster.mimetype == "image/jpeg" and poster.data[:2] == b"\xff\xd8"
    vtt = api.get(media["thumbnails_vtt_url"]).get_data(as_text=True)
    assert vtt.startswith("WEBVTT")
    sprite_ref = next(line for line in vtt.splitlines() if "#xywh=" in line)
    sprite_url = media["thumbnails_vtt_url"].rsplit("/", 1)[0].split("?")[0] + "/" + sprite_ref.split("#")[0]
    assert api.get(sprite_url).data[:2] == b"\xff\xd8"
    waveform = api.get(media["waveform_url"]).json
    assert waveform["peaks_per_second"] > 0 and len(waveform["peaks"]) > 0
    assert all(0 <= p <= 1 for p in waveform["peaks"]) and max(waveform["peaks"]) > 0.1


@pytest.mark.skipif(TEST_STORAGE == "s3", reason="X-Accel-Redirect maps onto a local media folder")
def test_x_accel_redirect_hands_bytes_to_nginx(app, api, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    url = api.get(f"/api/v1/lessons/{lesson_id}").json["media"]["video_url"]
    app.config["X_ACCEL_REDIRECT_PREFIX"] = "/protected-media/"
    try:
        response = api.get(url)
    finally:
        app.config["X_ACCEL_REDIRECT_PREFIX"] = ""
    assert response.headers["X-Accel-Redirect"] == f"/protected-media/renditions/lessons/{lesson_id}/video.mp4"
    assert response.data == b"" and response.mimetype == "video/mp4"


def test_range_if_range_and_etag(api, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    url = api.get(f"/api/v1/lessons/{lesson_id}").json["media"]["video_url"]
    full = api.get(url)
    size = len(full.data)
    partial = api.get(url, headers={"Range": "bytes=100-199"})
    assert partial.status_code == 206 and partial.data == full.data[100:200]
    assert partial.headers["Content-Range"] == f"bytes 100-199/{size}"
    tail = api.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == full.data[-10:]
    beyond = api.get(url, headers={"Range": f"bytes={size + 10}-"})
    assert beyond.status_code == 416
    etag = full.headers["ETag"]
    assert api.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert api.get(url, headers={"Range": "bytes=0-9", "If-Range": etag}).status_code == 206
    stale = api.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale-etag"'})
    assert stale.status_code == 200 and len(stale.data) == size


def test_media_and_frames_follow_permissions(api, api_as, make_user, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    media = api.get(f"/api/v1/lessons/{lesson_id}").json["media"]
    # signed in but not shown the lesson (an admin too): 404, as if absent; not signed in: 401
    for outsider, status in ((api_as(make_user()), 404), (api_as(make_user(admin=True)), 404), (api_as(None), 401)):
        for url in [url for url in media.values() if isinstance(url, str)] + [f"/api/v1/lessons/{lesson_id}/frame?t_ms=1000"]:
            assert outsider.get(url).status_code == status, url


def _jpeg_size(data: bytes) -> tuple[int, int]:
    import tempfile

    from obsapp.media.frames import jpeg_size

    with tempfile.NamedTemporaryFile(suffix=".jpg") as handle:
        handle.write(data)
        handle.flush()
        return jpeg_size(handle.name)


def test_frame_endpoint(api, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["counter_mp4"])
    run_jobs()
    base = f"/api/v1/lessons/{lesson_id}/frame"
    frame = api.get(f"{base}?t_ms=1000&width=160")
    assert frame.status_code == 200 and frame.mimetype == "image/jpeg"
    assert _jpeg_size(frame.data) == (160, 120)
    again = api.get(f"{base}?t_ms=1000&width=160")
    assert again.data == frame.data  # served from the cache
    assert api.get(f"{base}?t_ms=2000&width=160").data != frame.data
    assert api.get(f"{base}?t_ms=99999999").status_code == 200  # clamped to the last frame
    for bad in ("t_ms=-1", "t_ms=abc", "", "t_ms=10&width=1"):
        assert api.get(f"{base}?{bad}").status_code == 422


def test_bad_inputs_fail_readably_and_leave_nothing_behind(api, run_jobs, media_samples):
    good_id, _ = upload(api, media_samples["h264_aac_mp4"], "Good one")
    run_jobs()
    before = store_files(good_id)
    expectations = {
        "text_as_mp4": "not a video",
        "truncated_mp4": "incomplete",
        "still_png": "image",
        "audio_only_m4a": "no video",
        "huge_dims_mp4": "too large",
    }
    for sample, words in expectations.items():
        # the upload takes the bytes (they are judged by probing them, not by their name or type): 202, then
        # the job fails with a sentence the teacher can act on
        lesson_id, response = upload(api, media_samples[sample], sample)
        assert response.status_code == 202, (sample, response.json)
        run_jobs()
        lesson = api.get(f"/api/v1/lessons/{lesson_id}").json
        assert lesson["status"] == "failed", sample
        assert words in lesson["error"].lower(), (sample, lesson["error"])
        assert "Traceback" not in lesson["error"] and "ffmpeg" not in lesson["error"].lower()
        job = api.get(f"/api/v1/jobs/{lesson['job_id']}").json
        assert job["state"] == "failed" and job["error"]["message"] == lesson["error"]
        leftovers = [f for f in store_files(lesson_id) if not f.startswith("originals/")]
        assert leftovers == [], (sample, leftovers)
    assert store_files(good_id) == before
    assert api.get(f"/api/v1/lessons/{good_id}").json["status"] == "ready"
    assert list((media_store().root / "tmp").glob("ingest-*")) == []


def test_zero_byte_and_missing_file_are_refused(api):
    lesson = api.post("/api/v1/lessons", json={"title": "Empty"}).json
    from io import BytesIO

    empty = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (BytesIO(b""), "empty.mp4")},
                     content_type="multipart/form-data")
    assert empty.status_code == 422 and "empty" in empty.json["error"]["message"]
    missing = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and missing.json["error"]["fields"] == {"file": ["Missing data for required field."]}
    assert api.get(f"/api/v1/lessons/{lesson['id']}").json["status"] == "awaiting_upload"


def test_simple_upload_over_the_limit_is_413(app, api, media_samples):
    app.config["MAX_UPLOAD_BYTES"] = 1000
    try:
        lesson_id, response = upload(api, media_samples["h264_aac_mp4"])
    finally:
        app.config["MAX_UPLOAD_BYTES"] = 20 * 1024**3
    assert response.status_code == 413 and "limit" in response.json["error"]["message"]
    assert store_files(lesson_id) == []


def test_retry_after_failure_and_delete_removes_everything(api, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["text_as_mp4"])
    run_jobs()
    assert api.get(f"/api/v1/lessons/{lesson_id}").json["status"] == "failed"
    retried = api.post(f"/api/v1/lessons/{lesson_id}/retry")
    assert retried.status_code == 202 and retried.json["status"] == "processing"
    run_jobs()
    assert api.get(f"/api/v1/lessons/{lesson_id}").json["status"] == "failed"
    assert api.post(f"/api/v1/lessons/{lesson_id}/retry").status_code == 202

    ok_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    assert store_files(ok_id)
    assert api.post(f"/api/v1/lessons/{ok_id}/retry").status_code == 409
    assert api.delete(f"/api/v1/lessons/{ok_id}").status_code == 204
    assert store_files(ok_id) == []
    assert api.get(f"/api/v1/lessons/{ok_id}").status_code == 404


def test_admin_may_delete_but_not_watch(api, api_as, make_user, run_jobs, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    run_jobs()
    admin = api_as(make_user(admin=True))
    assert admin.get(f"/api/v1/lessons/{lesson_id}").status_code == 404
    assert admin.delete(f"/api/v1/lessons/{lesson_id}").status_code == 204
    assert store_files(lesson_id) == []


def test_interrupted_job_is_retried_then_failed(app, api, media_samples, run_jobs):
    from obsapp.jobs.worker import recover_interrupted

    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    job = db.session.get(Job, db.session.get(Lesson, lesson_id).job_id)
    # as if a process (now gone) had claimed it and died
    job.state, job.worker, job.attempts = "running", "ghost-host:999999:abc:0", 1
    from datetime import timedelta

    from obsapp.accounts.models import utcnow

    job.heartbeat_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    assert recover_interrupted(app) == 1
    db.session.refresh(job)
    assert job.state == "queued"
    run_jobs()
    assert api.get(f"/api/v1/lessons/{lesson_id}").json["status"] == "ready"

    lesson2, _ = upload(api, media_samples["h264_aac_mp4"])
    job2 = db.session.get(Job, db.session.get(Lesson, lesson2).job_id)
    job2.state, job2.worker, job2.attempts = "running", "ghost-host:999999:abc:0", job2.max_attempts
    job2.heartbeat_at = utcnow() - timedelta(minutes=10)
    db.session.commit()
    recover_interrupted(app)
    lesson = api.get(f"/api/v1/lessons/{lesson2}").json
    assert lesson["status"] == "failed" and "interrupted" in lesson["error"]


def test_jobs_are_private(api, api_as, make_user, media_samples):
    lesson_id, _ = upload(api, media_samples["h264_aac_mp4"])
    job_id = api.get(f"/api/v1/lessons/{lesson_id}").json["job_id"]
    assert api.get(f"/api/v1/jobs/{job_id}").json["state"] == "queued"
    assert api_as(make_user()).get(f"/api/v1/jobs/{job_id}").status_code == 404
