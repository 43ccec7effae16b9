"""GET /api/v1/lessons/{id}/talk through the real ingest and talk jobs, and the talk strip on the lesson page."""

from __future__ import annotations

import subprocess

import pytest

from obsapp.extensions import db
from obsapp.talk.models import TalkAnalysis
from tests.talk.synth import lesson_audio, write_wav

SPANS = [(0.5, 3.0, -12), (6.0, 8.0, -12), (9.0, 10.5, -12)]
TOTAL_S = 12.0


@pytest.fixture(scope="module")
def talk_video(tmp_path_factory):
    d = tmp_path_factory.mktemp("talk-api")
    wav = write_wav(d / "a.wav", lesson_audio(SPANS, TOTAL_S))
    out = d / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s=160x120:r=10:d={TOTAL_S}",
                    "-i", str(wav), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(out)], check=True)
    return out


@pytest.fixture
def teacher(make_user):
    return make_user(name="Teacher")


def upload(api, path):
    lesson = api.post("/api/v1/lessons", json={"title": "Questions"}).json
    with open(path, "rb") as handle:
        response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                            content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return lesson["id"]


def test_talk_is_processing_then_ready_with_wait_times(api_as, teacher, make_user, make_mentorship, talk_video,
                                                        run_jobs):
    api = api_as(teacher)
    lesson_id = upload(api, talk_video)
    assert api.get(f"/api/v1/lessons/{lesson_id}/talk").json["status"] == "processing"
    assert run_jobs() == 2  # the ingest, then the talk analysis it queued
    talk = api.get(f"/api/v1/lessons/{lesson_id}/talk").json
    assert talk["status"] == "ready", talk
    found = [(s["start_ms"], s["end_ms"]) for s in talk["segments"]]
    assert len(found) == 3, found
    for (start, end), (want_start, want_end, _) in zip(found, SPANS, strict=True):
        # AAC's priming and the rendition's remux shift nothing by more than the tolerance
        assert abs(start - want_start * 1000) <= 100 and abs(end - want_end * 1000) <= 100, found
    assert abs(talk["speech_share"] - 6.0 / TOTAL_S) < 0.03
    assert talk["pauses"]["count"] == 1  # 3.0 -> 6.0 s
    assert talk["wait_times"] == []

    # a question at 2.5 s (the wait runs 3.0 -> 6.0 s) and a span tagged with a questioning criterion, ending at
    # 7.9 s (8.0 -> 9.0 s); a note is not a question
    mentor = make_user(name="Mentor")
    make_mentorship(mentor, teacher)
    mentor_api = api_as(mentor)
    q1 = api.post(f"/api/v1/lessons/{lesson_id}/annotations",
                  json={"start_ms": 2500, "body": "What is a half of a half?", "kind": "question"}).json
    framework = next(f for f in api.get("/api/v1/frameworks").json["items"] if f["slug"] == "rosenshine")
    criteria = api.get(f"/api/v1/frameworks/{framework['id']}").json["criteria"]
    questioning = next(c for c in criteria if "question" in c["name"].lower())
    q2 = mentor_api.post(f"/api/v1/lessons/{lesson_id}/annotations",
                         json={"start_ms": 6500, "end_ms": 7900, "body": "Cold call", "kind": "strength",
                               "criterion_ids": [questioning["id"]]})
    assert q2.status_code == 201, q2.json
    note = api.post(f"/api/v1/lessons/{lesson_id}/annotations", json={"start_ms": 9500, "body": "x", "kind": "note"})
    assert note.status_code == 201
    private = mentor_api.post(f"/api/v1/lessons/{lesson_id}/annotations",
                              json={"start_ms": 700, "body": "mine", "kind": "question", "visibility": "private"})
    assert private.status_code == 201

    talk = api.get(f"/api/v1/lessons/{lesson_id}/talk").json
    waits = {w["annotation_id"]: w["wait_ms"] for w in talk["wait_times"]}
    assert set(waits) == {q1["id"], q2.json["id"]}  # the mentor's private question is not the teacher's to see
    assert abs(waits[q1["id"]] - 3000) <= 200 and abs(waits[q2.json["id"]] - 1000) <= 200
    # a span of the lesson: its speech cut at the edges, and only the questions asked in it
    part = api.get(f"/api/v1/lessons/{lesson_id}/talk?start_ms=2000&end_ms=9500").json
    assert part["span"] == {"start_ms": 2000, "end_ms": 9500}
    cut = [(s["start_ms"], s["end_ms"]) for s in part["segments"]]
    assert cut[0][0] == 2000 and cut[-1][1] == 9500 and len(cut) == 3, cut
    assert abs(part["speech_share"] - 3.5 / 7.5) < 0.03
    assert {w["annotation_id"] for w in part["wait_times"]} == {q1["id"], q2.json["id"]}
    later = api.get(f"/api/v1/lessons/{lesson_id}/talk?start_ms=5000").json
    assert {w["annotation_id"] for w in later["wait_times"]} == {q2.json["id"]} and later["pauses"]["count"] == 0
    for bad in ("start_ms=5000&end_ms=5000", "end_ms=999999", "start_ms=-1", "start_ms=x"):
        response = api.get(f"/api/v1/lessons/{lesson_id}/talk?{bad}")
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_input", bad
    mentor_waits = {w["annotation_id"] for w in mentor_api.get(f"/api/v1/lessons/{lesson_id}/talk").json["wait_times"]}
    assert private.json["id"] in mentor_waits

    # the lesson page shows the strip with its summary in words and the wait times as buttons
    page = mentor_api.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert 'id="talk-strip"' in page and "Speech during" in page
    assert "Question at 0:03: wait 3.0 s" in page
    assert "does not know who is" in page


def test_no_audio_is_ready_with_no_segments(api_as, teacher, media_samples, run_jobs):
    api = api_as(teacher)
    lesson_id = upload(api, media_samples["no_audio_mp4"])
    run_jobs()
    talk = api.get(f"/api/v1/lessons/{lesson_id}/talk").json
    assert talk["status"] == "ready" and talk["segments"] == [] and talk["speech_share"] == 0.0
    assert talk["wait_times"] == []


def test_a_failed_analysis_says_so(api_as, teacher, talk_video, run_jobs):
    api = api_as(teacher)
    lesson_id = upload(api, talk_video)
    run_jobs(limit=1)  # the ingest only
    from obsapp.lessons.models import Lesson
    from obsapp.storage import media_store

    lesson = db.session.get(Lesson, lesson_id)
    media_store().delete(f"renditions/lessons/{lesson_id}/video.mp4")  # either store
    assert lesson.status == "ready"
    run_jobs()
    talk = api.get(f"/api/v1/lessons/{lesson_id}/talk").json
    assert talk["status"] == "failed" and "missing" in talk["error"]
    db.session.expire_all()
    assert db.session.get(TalkAnalysis, lesson_id).status == "failed"
    page = api.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert "Analyse the talk" in page


def test_talk_follows_lesson_access(api_as, make_user, make_lesson, share):
    owner, stranger, viewer = make_user(), make_user(), make_user()
    lesson = make_lesson(owner, status="ready", duration_ms=1000)
    share(lesson, viewer, "viewer")
    assert api_as(stranger).get(f"/api/v1/lessons/{lesson.id}/talk").status_code == 404
    assert api_as(None).get(f"/api/v1/lessons/{lesson.id}/talk").status_code == 401
    # ready before talk analysis existed: not analysed, and a viewer may not start it; the owner may
    talk = api_as(viewer).get(f"/api/v1/lessons/{lesson.id}/talk").json
    assert talk["status"] == "failed" and "not been analysed" in talk["error"]
    assert api_as(viewer).post(f"/api/v1/lessons/{lesson.id}/talk").status_code == 403
    assert api_as(stranger).post(f"/api/v1/lessons/{lesson.id}/talk").status_code == 404
    started = api_as(owner).post(f"/api/v1/lessons/{lesson.id}/talk")
    assert started.status_code == 202 and started.json["status"] == "processing"
    assert api_as(owner).post(f"/api/v1/lessons/{lesson.id}/talk").status_code == 409
    assert api_as(owner).get("/api/v1/lessons/999999/talk").status_code == 404
