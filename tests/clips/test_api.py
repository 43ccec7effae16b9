"""Clips through the API and the real job code: creation, validation, media serving, access rules,
failure and retry, and sending to the feedback inbox."""

from __future__ import annotations

import json
import subprocess

import pytest

from obsapp.clips.models import Clip
from obsapp.extensions import db
from obsapp.storage import media_store
from tests.conftest import stored_file


def make_clip(api, lesson_id, run_jobs=None, **body):
    body = {"start_ms": 500, "end_ms": 2500, **body}
    response = api.post(f"/api/v1/lessons/{lesson_id}/clips", json=body)
    assert response.status_code == 202, response.json
    if run_jobs is not None:
        run_jobs()
    return response.json


def ffprobe(path, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def test_mentor_makes_a_clip_and_it_becomes_ready(api_as, mentor, counter_lesson, run_jobs):
    api = api_as(mentor)
    created = make_clip(api, counter_lesson["id"], title="Good questioning")
    assert created["clip"]["status"] == "processing" and created["job_id"] == created["clip"]["job_id"]
    assert run_jobs() == 1
    clip = api.get(f"/api/v1/clips/{created['clip']['id']}").json
    assert clip["status"] == "ready", clip["error"]
    assert {"id", "lesson_id", "annotation_id", "start_ms", "end_ms", "title", "status", "error", "job_id",
            "video_url", "thumbnail_url", "captions_vtt_url", "accurate", "captions", "blur_faces", "created_at",
            "creator"} <= set(clip)
    assert (clip["start_ms"], clip["end_ms"], clip["accurate"], clip["captions"]) == (500, 2500, True, False)
    assert clip["creator"]["name"] == "Marco Mentor" and clip["mode"] == "smart"
    assert clip["captions_vtt_url"] is None
    job = api.get(f"/api/v1/jobs/{clip['job_id']}").json
    assert job["state"] == "done" and job["kind"] == "clip.render"

    video = api.get(clip["video_url"])
    assert video.status_code == 200 and video.mimetype == "video/mp4"
    assert "private" in video.headers["Cache-Control"] and video.headers["ETag"]
    body = video.data
    assert body.find(b"moov") != -1 and body.find(b"moov") < body.find(b"mdat")  # moov first
    partial = api.get(clip["video_url"], headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and len(partial.data) == 100
    thumb = api.get(clip["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.data[:2] == b"\xff\xd8"

    download = api.get(clip["download_url"])
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and 'filename="fractions-p4-0m00s-good-questioning.mp4"' in disposition
    row = db.session.get(Clip, clip["id"])
    stored = stored_file(f"{row.media_prefix}/video.mp4")
    duration = float(ffprobe(stored, "-show_format")["format"]["duration"])
    assert abs(duration - 2.0) < 0.05


def test_fast_clip_starts_at_the_keyframe_before(api_as, mentor, counter_lesson, run_jobs):
    api = api_as(mentor)
    created = make_clip(api, counter_lesson["id"], run_jobs, start_ms=1500, end_ms=2500, accurate=False)
    clip = api.get(f"/api/v1/clips/{created['clip']['id']}").json
    assert clip["status"] == "ready" and clip["mode"] == "copy"
    assert clip["media_start_ms"] == 1000  # counter_mp4 has a keyframe every 30 frames (1 s)
    assert abs(clip["duration_ms"] - 1500) <= 40


@pytest.mark.parametrize("body,field", [
    ({"start_ms": -1, "end_ms": 1000}, "start_ms"),
    ({"start_ms": 1000, "end_ms": 1000}, "end_ms"),
    ({"start_ms": 2000, "end_ms": 1000}, "end_ms"),
    ({"start_ms": 0, "end_ms": 3_500}, "end_ms"),
    ({"start_ms": 0}, "end_ms"),
    ({"start_ms": "soon", "end_ms": 100}, "start_ms"),
    ({"start_ms": 0, "end_ms": 100, "colour": "red"}, "colour"),
])
def test_invalid_spans_are_refused(api_as, mentor, counter_lesson, body, field):
    response = api_as(mentor).post(f"/api/v1/lessons/{counter_lesson['id']}/clips", json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "invalid_input"
    assert field in (response.json["error"].get("fields") or {}) or field in response.json["error"]["message"]


def test_who_may_see_and_make_clips(api_as, make_user, share, mentor, mentee, counter_lesson, run_jobs):
    from obsapp.lessons.models import Lesson

    clip = make_clip(api_as(mentor), counter_lesson["id"], run_jobs)["clip"]
    ready = api_as(mentor).get(f"/api/v1/clips/{clip['id']}").json
    lesson = db.session.get(Lesson, counter_lesson["id"])
    stranger, admin, viewer, commenter = (make_user(), make_user(admin=True), make_user(), make_user())
    share(lesson, viewer, "viewer")
    share(lesson, commenter, "commenter")
    for outsider in (stranger, admin):
        api = api_as(outsider)
        for url in (f"/api/v1/clips/{clip['id']}", ready["video_url"], ready["thumbnail_url"], ready["download_url"],
                    f"/api/v1/clips/{clip['id']}/deliveries"):
            response = api.get(url)
            assert response.status_code == 404, (outsider.is_admin, url)
            assert "clip" not in json.dumps(response.json).lower() or response.json["error"]["code"] == "not_found"
        assert api.post(f"/api/v1/lessons/{counter_lesson['id']}/clips",
                        json={"start_ms": 0, "end_ms": 1000}).status_code == 404
    viewing = api_as(viewer)
    assert viewing.get(f"/api/v1/clips/{clip['id']}").status_code == 200
    assert viewing.get(ready["video_url"]).status_code == 200
    refused = viewing.post(f"/api/v1/lessons/{counter_lesson['id']}/clips", json={"start_ms": 0, "end_ms": 1000})
    assert refused.status_code == 403
    assert viewing.post(f"/api/v1/clips/{clip['id']}/send", json={"user_ids": [mentee.id]}).status_code == 403
    assert api_as(commenter).post(f"/api/v1/lessons/{counter_lesson['id']}/clips",
                                  json={"start_ms": 0, "end_ms": 1000}).status_code == 202
    assert api_as(mentee).post(f"/api/v1/lessons/{counter_lesson['id']}/clips",
                               json={"start_ms": 0, "end_ms": 1000}).status_code == 202  # the owner
    assert api_as(None).get(f"/api/v1/clips/{clip['id']}").status_code == 401


def test_send_inbox_watched_reviewed(api_as, make_user, share, mentor, mentee, counter_lesson, run_jobs, browser_client):
    from obsapp.lessons.models import Lesson

    teacher = api_as(mentor)
    first = make_clip(teacher, counter_lesson["id"], title="First")["clip"]
    second = make_clip(teacher, counter_lesson["id"], title="Second", start_ms=0, end_ms=1000)["clip"]
    run_jobs()
    stranger, colleague = make_user(name="Sam Stranger"), make_user(name="Cleo Colleague")
    share(db.session.get(Lesson, counter_lesson["id"]), colleague, "viewer")

    people = teacher.get(f"/api/v1/clips/{first['id']}/recipients").json["items"]
    assert {p["name"]: p["role"] for p in people} == {"Mina Mentee": "owner", "Cleo Colleague": "shared"}

    refused = teacher.post(f"/api/v1/clips/{first['id']}/send", json={"user_ids": [mentee.id, stranger.id]})
    assert refused.status_code == 422 and "Sam Stranger" in refused.json["error"]["message"]
    assert api_as(mentee).get("/api/v1/clips?for=me").json["items"] == []  # all or nothing

    # the colleague first, so that deliveries' ids and clips' ids differ
    to_colleague = teacher.post(f"/api/v1/clips/{second['id']}/send", json={"user_ids": [colleague.id]})
    assert to_colleague.status_code == 200
    assert [i["id"] for i in api_as(colleague).get("/api/v1/clips?for=me").json["items"]] == [second["id"]]
    delivery_ids = {}
    for clip in (first, second):
        sent = teacher.post(f"/api/v1/clips/{clip['id']}/send", json={"user_ids": [mentee.id],
                                                                      "message": f"Look at {clip['title']}"})
        assert sent.status_code == 200 and sent.json["items"][0]["recipient"]["id"] == mentee.id
        delivery_ids[clip["id"]] = sent.json["items"][0]["id"]

    me = api_as(mentee)
    inbox = me.get("/api/v1/clips?for=me").json
    assert set(inbox) == {"items", "next"} and inbox["next"] is None
    # the inbox answers clips: an item's id is the clip's, as for every other listing of /api/v1/clips
    assert [(item["id"], item["title"]) for item in inbox["items"]] == [(second["id"], "Second"),
                                                                         (first["id"], "First")]  # newest first
    item = inbox["items"][1]
    assert item == {**me.get(f"/api/v1/clips/{first['id']}").json, "type": "clip", "unread": True}
    delivery = item["delivery"]
    assert set(delivery) == {"id", "sender", "recipient", "message", "sent_at", "watched_at", "reviewed_at"}
    assert first["id"] != delivery_ids[first["id"]] and second["id"] != delivery_ids[second["id"]]
    assert delivery["id"] == delivery_ids[first["id"]]  # the delivery's own id, beside the clip's
    assert delivery["sender"] == {"id": mentor.id, "name": "Marco Mentor"}
    assert delivery["recipient"] == {"id": mentee.id, "name": "Mina Mentee"}
    assert delivery["message"] == "Look at First" and delivery["watched_at"] is None
    assert item["thumbnail_url"] and item["lesson_id"] == counter_lesson["id"] and item["unread"]

    assert teacher.post(f"/api/v1/clips/{first['id']}/watched").status_code == 409  # not sent to the mentor
    watched = me.post(f"/api/v1/clips/{first['id']}/watched")
    assert watched.status_code == 200 and watched.json["watched_at"]
    inbox = me.get("/api/v1/clips?for=me").json["items"]
    assert [i["id"] for i in inbox] == [second["id"], first["id"]] and not inbox[1]["unread"]
    assert inbox[1]["delivery"]["watched_at"] == watched.json["watched_at"]
    me.post(f"/api/v1/clips/{second['id']}/watched")
    me.post(f"/api/v1/clips/{first['id']}/reviewed")
    me2 = me.get(f"/api/v1/clips/{first['id']}").json["delivery"]
    assert me2["reviewed_at"] and me2["watched_at"]
    inbox = me.get("/api/v1/clips?for=me").json["items"]
    assert [(i["id"], i["unread"], bool(i["delivery"]["reviewed_at"])) for i in inbox] == [
        (second["id"], False, False), (first["id"], False, True)]

    deliveries = teacher.get(f"/api/v1/clips/{first['id']}/deliveries").json["items"]
    assert len(deliveries) == 1 and deliveries[0]["recipient"]["name"] == "Mina Mentee"
    assert deliveries[0]["watched_at"] and deliveries[0]["reviewed_at"]
    assert me.get(f"/api/v1/clips/{first['id']}/deliveries").status_code == 200  # the owner may comment

    # the dashboard lists it under "Feedback for me"
    page = browser_client(mentee).get("/").get_data(as_text=True)
    assert "Feedback for me" in page and "First" in page and "Marco Mentor" in page


def test_failure_is_visible_and_retryable(api_as, mentor, counter_lesson, run_jobs):
    from obsapp.lessons.models import Lesson
    from obsapp.lessons.services import rendition_key

    api = api_as(mentor)
    lesson = db.session.get(Lesson, counter_lesson["id"])
    store, key = media_store(), rendition_key(lesson)
    kept = store.read_bytes(key)
    store.delete(key)  # the rendition is gone (either store)
    clip = make_clip(api, lesson.id, run_jobs)["clip"]
    failed = api.get(f"/api/v1/clips/{clip['id']}").json
    assert failed["status"] == "failed" and "not available" in failed["error"]
    assert failed["video_url"] is None
    assert api.get(f"/api/v1/jobs/{failed['job_id']}").json["state"] == "failed"
    assert api.post(f"/api/v1/clips/{clip['id']}/send", json={"user_ids": [lesson.owner_id]}).status_code == 409
    store.put_bytes(key, kept)
    retried = api.post(f"/api/v1/clips/{clip['id']}/retry")
    assert retried.status_code == 202 and retried.json["job_id"] != failed["job_id"]
    run_jobs()
    assert api.get(f"/api/v1/clips/{clip['id']}").json["status"] == "ready"
    assert api.post(f"/api/v1/clips/{clip['id']}/retry").status_code == 409


def test_blur_default_comes_from_the_lesson(api_as, mentor, mentee, counter_lesson):
    assert api_as(mentee).patch(f"/api/v1/lessons/{counter_lesson['id']}",
                                json={"blur_faces_default": True}).status_code == 200
    clip = make_clip(api_as(mentor), counter_lesson["id"])["clip"]
    assert clip["blur_faces"] is True
    forced = make_clip(api_as(mentor), counter_lesson["id"], blur_faces=False)["clip"]
    assert forced["blur_faces"] is True  # the owner's choice wins for everything leaving the lesson


def test_lesson_clip_list_and_mine(api_as, mentor, mentee, counter_lesson, run_jobs):
    api = api_as(mentor)
    make_clip(api, counter_lesson["id"], start_ms=1000, end_ms=2000)
    make_clip(api, counter_lesson["id"], start_ms=0, end_ms=500)
    listed = api_as(mentee).get(f"/api/v1/clips?lesson_id={counter_lesson['id']}").json
    assert [c["start_ms"] for c in listed["items"]] == [0, 1000] and listed["next"] is None
    assert len(api.get("/api/v1/clips").json["items"]) == 2
    assert api_as(mentee).get("/api/v1/clips").json["items"] == []


def test_openapi_documents_the_clip_endpoints(api_as, mentor):
    spec = api_as(None).get("/api/v1/openapi.json").json
    for path in ("/api/v1/lessons/{lesson_id}/clips", "/api/v1/clips", "/api/v1/clips/{clip_id}",
                 "/api/v1/clips/{clip_id}/send", "/api/v1/clips/{clip_id}/reviewed", "/api/v1/reels",
                 "/api/v1/reels/{reel_id}"):
        assert path in spec["paths"], path


def test_title_card_in_front_of_the_clip(api_as, mentor, av_lesson, run_jobs):
    api = api_as(mentor)
    plain = make_clip(api, av_lesson["id"], run_jobs, start_ms=500, end_ms=2500, title="Plain")["clip"]
    carded = make_clip(api, av_lesson["id"], run_jobs, start_ms=500, end_ms=2500, title="Wait time", captions=True,
                       title_card=True)["clip"]
    plain, carded = (api.get(f"/api/v1/clips/{c['id']}").json for c in (plain, carded))
    assert carded["status"] == "ready", carded["error"]
    assert (plain["title_card"], plain["title_card_ms"]) == (False, None)
    assert carded["title_card"] is True and 1900 <= carded["title_card_ms"] <= 2100
    assert abs(carded["duration_ms"] - plain["duration_ms"] - carded["title_card_ms"]) <= 25
    paths = [stored_file(f"{db.session.get(Clip, c['id']).media_prefix}/video.mp4") for c in (plain, carded)]
    infos = [{s["codec_type"]: s for s in ffprobe(p, "-show_streams")["streams"]} for p in paths]
    for kind, keys in (("video", ("codec_name", "profile", "width", "height", "pix_fmt", "avg_frame_rate")),
                       ("audio", ("codec_name", "sample_rate", "channels"))):
        assert {k: infos[1][kind][k] for k in keys} == {k: infos[0][kind][k] for k in keys}, kind
    assert infos[1]["subtitle"]["codec_name"] == "mov_text"
    assert paths[1].read_bytes().find(b"moov") < paths[1].read_bytes().find(b"mdat")
    firsts = [subprocess.run(["ffmpeg", "-v", "error", "-i", str(p), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                              "gray", "-"], check=True, capture_output=True).stdout for p in paths]
    assert firsts[0] != firsts[1]  # the card, not the lesson's picture
    vtt = api.get(carded["captions_vtt_url"]).get_data(as_text=True)
    start = carded["title_card_ms"]
    assert f"00:00:0{start // 1000}.{start % 1000:03d} -->" in vtt and "Wait time" in vtt
    schema = api_as(None).get("/api/v1/openapi.json").json["components"]["schemas"]
    assert "title_card" in schema["ClipCreate"]["properties"] and "title_card_ms" in schema["Clip"]["properties"]
