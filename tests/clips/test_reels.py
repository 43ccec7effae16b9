"""Reels through the API: chapters in order, access follows every lesson in it, sending, blurred clips."""

from __future__ import annotations

import json
import subprocess

import pytest

from obsapp.clips.models import Reel
from obsapp.extensions import db
from tests.clips.test_api import make_clip
from tests.conftest import stored_file


def chapters_of(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_chapters", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["chapters"]


def test_reel_of_clips_from_two_lessons(api_as, make_user, mentor, mentee, upload_lesson, media_samples, run_jobs):
    other_teacher = make_user(name="Otto Other")
    first_lesson = upload_lesson(mentee, media_samples["counter_mp4"], title="Counting")
    second_lesson = upload_lesson(mentee, media_samples["h264_aac_mp4"], title="Colours")
    api = api_as(mentor)
    a = make_clip(api, first_lesson["id"], title="Counting up", start_ms=0, end_ms=1000)["clip"]
    b = make_clip(api, second_lesson["id"], title="Colour bars", start_ms=1000, end_ms=2500)["clip"]
    run_jobs()
    from obsapp.clips.models import Clip

    recorded = json.loads(stored_file(f"{db.session.get(Clip, a['id']).media_prefix}/format.json").read_text())
    assert recorded["codec"] == "h264" and "path" not in recorded  # what the reel reads instead of probing
    assert api.get(f"/api/v1/clips/{a['id']}/media/format.json").status_code == 404  # internal, never served
    created = api.post("/api/v1/reels", json={"title": "Term 1 highlights", "clip_ids": [b["id"], a["id"]]})
    assert created.status_code == 202, created.json
    assert created.json["reel"]["status"] == "processing" and created.json["job_id"]
    run_jobs()
    reel = api.get(f"/api/v1/reels/{created.json['reel']['id']}").json
    assert reel["status"] == "ready", reel["error"]
    assert [c["title"] for c in reel["chapters"]] == ["Colour bars", "Counting up"]
    assert reel["chapters"][0]["start_ms"] == 0 and reel["chapters"][1]["start_ms"] >= 1500
    assert reel["mode"] == "encode"  # one has sound, one has not: normalised
    video = api.get(reel["video_url"])
    assert video.status_code == 200 and video.data.find(b"moov") < video.data.find(b"mdat")
    row = db.session.get(Reel, reel["id"])
    stored = stored_file(f"{row.media_prefix}/video.mp4")
    assert [c["tags"]["title"] for c in chapters_of(stored)] == ["Colour bars", "Counting up"]
    assert 'filename="term-1-highlights-reel.mp4"' in api.get(reel["download_url"]).headers["Content-Disposition"]

    assert api_as(other_teacher).get(f"/api/v1/reels/{reel['id']}").status_code == 404
    assert api_as(other_teacher).get(reel["video_url"]).status_code == 404
    refused = api.post(f"/api/v1/reels/{reel['id']}/send", json={"user_ids": [other_teacher.id]})
    assert refused.status_code == 422 and "Otto Other" in refused.json["error"]["message"]
    sent = api.post(f"/api/v1/reels/{reel['id']}/send", json={"user_ids": [mentee.id], "message": "Our term"})
    assert sent.status_code == 200
    inbox = api_as(mentee).get("/api/v1/clips?for=me").json["items"]
    assert [(i["type"], i["id"], i["title"]) for i in inbox] == [("reel", reel["id"], "Term 1 highlights")]
    assert inbox[0]["clip_ids"] == reel["clip_ids"] and inbox[0]["unread"]
    assert inbox[0]["delivery"]["message"] == "Our term" and inbox[0]["delivery"]["id"] == sent.json["items"][0]["id"]
    assert api_as(mentee).post(f"/api/v1/reels/{reel['id']}/reviewed").json["reviewed_at"]
    assert api.get(f"/api/v1/reels/{reel['id']}/deliveries").json["items"][0]["reviewed_at"]


def test_reel_rules(api_as, make_user, mentor, counter_lesson, run_jobs):
    api = api_as(mentor)
    clip = make_clip(api, counter_lesson["id"])["clip"]
    pending = api.post("/api/v1/reels", json={"title": "Too soon", "clip_ids": [clip["id"]]})
    assert pending.status_code == 409  # the clip is not ready yet
    run_jobs()
    stranger = make_user()
    assert api_as(stranger).post("/api/v1/reels", json={"title": "Not mine", "clip_ids": [clip["id"]]}
                                 ).status_code == 422
    assert api.post("/api/v1/reels", json={"title": "", "clip_ids": [clip["id"]]}).status_code == 422
    assert api.post("/api/v1/reels", json={"title": "Empty", "clip_ids": []}).status_code == 422
    one = api.post("/api/v1/reels", json={"title": "One", "clip_ids": [clip["id"], clip["id"]]})
    assert one.status_code == 202
    run_jobs()
    reel = api.get(f"/api/v1/reels/{one.json['reel']['id']}").json
    assert reel["status"] == "ready" and reel["mode"] == "copy" and len(reel["chapters"]) == 2
    # Deleting the lesson takes the reel with it (its video holds that lesson's footage).
    owner_api = api_as(db.session.get(Reel, reel["id"]).items[0].clip.lesson.owner)
    assert owner_api.delete(f"/api/v1/lessons/{counter_lesson['id']}").status_code == 204
    assert api.get(f"/api/v1/reels/{reel['id']}").status_code == 404


@pytest.mark.database_neutral(reason="face blurring is ffmpeg and OpenCV work; the clip job's rows are those of "
                                      "tests/clips/test_annotations.py")
def test_blurred_captioned_clip_through_the_job(api_as, mentor, mentee, upload_lesson, face_sample, run_jobs):
    from tests.clips.faces import frames_with_faces

    lesson = upload_lesson(mentee, face_sample, title="Astronaut talk")
    assert frames_with_faces(stored_file(f"renditions/lessons/{lesson['id']}/video.mp4"))[0] > 40
    api = api_as(mentor)
    clip = make_clip(api, lesson["id"], run_jobs, start_ms=0, end_ms=2000, captions=True, blur_faces=True,
                     title="Eye contact")["clip"]
    clip = api.get(f"/api/v1/clips/{clip['id']}").json
    assert clip["status"] == "ready" and clip["mode"] == "blur" and clip["captions_vtt_url"]
    vtt = api.get(clip["captions_vtt_url"])
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt" and "Eye contact" in vtt.get_data(as_text=True)
    from obsapp.clips.models import Clip

    row = db.session.get(Clip, clip["id"])
    assert frames_with_faces(stored_file(f"{row.media_prefix}/video.mp4")) == (0, 60)
