"""Evidence reels end to end: the annotations chosen (only those the requester may see), the clips cut with captions
and title cards by their jobs, the reel job queued by the last clip, one reel with a chapter per clip; before and
after; consent blurring; bad input in the contract's error shape; a clip that cannot be made fails the reel."""

from __future__ import annotations

import pytest

from obsapp.clips.models import Clip, Reel
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.media.probe import probe
from obsapp.storage import media_store
from tests.evidence.conftest import criterion


def _note(api, lesson, **fields):
    response = api.post(f"/api/v1/lessons/{lesson['id']}/annotations", json=fields)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def evidence_world(teacher, mentor, api_as, upload_lesson, media_samples):
    """Two lessons of the teacher (September, then November), with feedback on LE.8 and another criterion."""
    early = upload_lesson(teacher, media_samples["h264_aac_mp4"], title="Fractions", taught_on="2026-09-10")
    late = upload_lesson(teacher, media_samples["h264_aac_mp4"], title="Decimals", taught_on="2026-11-12")
    le8, other = criterion("LE.8").id, criterion("LE.1").id
    m = api_as(mentor)
    notes = {
        "early growth": _note(m, early, start_ms=500, kind="growth", body="Closed questions only",
                              criterion_ids=[le8]),
        "early strength": _note(m, early, start_ms=1000, end_ms=2500, kind="strength", body="Waited for answers",
                                criterion_ids=[le8]),
        "late strength": _note(m, late, start_ms=1500, kind="strength", body="Asked why, then waited",
                               criterion_ids=[le8]),
        "private strength": _note(m, late, start_ms=200, kind="strength", body="My private note",
                                  criterion_ids=[le8], visibility="private"),
        "other criterion": _note(m, late, start_ms=300, kind="strength", body="Clear goals",
                                 criterion_ids=[other]),
    }
    return {"early": early, "late": late, "le8": le8, "notes": notes, "mentor_api": m,
            "teacher_api": api_as(teacher)}


def test_a_teacher_makes_one_reel_of_every_strength_on_a_criterion(evidence_world, teacher, run_jobs):
    w = evidence_world
    made = w["teacher_api"].post("/api/v1/evidence-reels", json={"teacher_id": teacher.id,
                                                                 "criterion_id": w["le8"]})
    assert made.status_code == 202, made.json
    body = made.json
    assert body["kind"] == "strengths" and body["reel"]["status"] == "processing"
    assert body["reel"]["job_id"] is None and len(body["clip_job_ids"]) == 2  # the reel job waits for the clips
    clips = [db.session.get(Clip, item.clip_id) for item in db.session.get(Reel, body["reel"]["id"]).items]
    # only the strengths the teacher may see (not the mentor's private note), oldest lesson first
    assert [c.annotation_id for c in clips] == [w["notes"]["early strength"]["id"], w["notes"]["late strength"]["id"]]
    assert all(c.captions and c.title_card and c.accurate for c in clips)
    span, moment = clips
    assert (span.start_ms, span.end_ms) == (1000, 2500)  # a span as it is
    assert (moment.start_ms, moment.end_ms) == (0, min(w["late"]["duration_ms"], 1500 + 10_000))  # the usual window
    assert {db.session.get(Job, c.job_id).kind for c in clips} == {"evidence.clip"}

    assert run_jobs() == 3  # two clips, then the reel job the last of them queued
    reel = w["teacher_api"].get(f"/api/v1/reels/{body['reel']['id']}").json
    assert reel["status"] == "ready", reel["error"]
    assert [c["title"].split(":")[0] for c in reel["chapters"]] == [
        "Strength · Fractions (2026-09-10)", "Strength · Decimals (2026-11-12)"]
    assert reel["title"].startswith("Strengths: LE.8")
    with _reel_file(reel) as path:
        info = probe(path)
    # each clip carries a title card in front of it, so the reel is longer than the footage
    assert info.duration_ms >= (span.end_ms - span.start_ms) + (moment.end_ms - moment.start_ms)
    listed = w["mentor_api"].get(f"/api/v1/evidence-reels?teacher_id={teacher.id}").json["items"]
    assert [e["reel"]["id"] for e in listed] == [reel["id"]]


def _reel_file(reel_json):
    reel = db.session.get(Reel, reel_json["id"])
    from obsapp.clips.media import reel_key

    return media_store().local_copy(reel_key(reel, "video.mp4"))


def test_before_and_after_pairs_the_first_growth_area_with_a_later_strength(evidence_world, mentor, teacher,
                                                                             run_jobs):
    w = evidence_world
    made = w["mentor_api"].post("/api/v1/evidence-reels", json={
        "teacher_id": teacher.id, "criterion_id": w["le8"], "kind": "before_after"})
    assert made.status_code == 202, made.json
    reel = db.session.get(Reel, made.json["reel"]["id"])
    clips = [item.clip for item in reel.items]
    # the mentor sees their own private strength, but the latest strength of the later lesson wins by time
    assert [c.annotation_id for c in clips] == [w["notes"]["early growth"]["id"], w["notes"]["late strength"]["id"]]
    assert [c.title.split(" · ")[0] for c in clips] == ["Before", "After"]
    run_jobs()
    answer = w["mentor_api"].get(f"/api/v1/reels/{reel.id}").json
    assert answer["status"] == "ready" and len(answer["chapters"]) == 2


def test_only_the_period_asked_for(evidence_world, teacher):
    w = evidence_world
    made = w["teacher_api"].post("/api/v1/evidence-reels", json={
        "teacher_id": teacher.id, "criterion_id": w["le8"], "from": "2026-10-01", "to": "2026-12-31"})
    assert made.status_code == 202
    reel = db.session.get(Reel, made.json["reel"]["id"])
    assert [item.clip.annotation_id for item in reel.items] == [w["notes"]["late strength"]["id"]]
    # before and after needs a growth area in the period
    nothing = w["teacher_api"].post("/api/v1/evidence-reels", json={
        "teacher_id": teacher.id, "criterion_id": w["le8"], "kind": "before_after", "from": "2026-10-01"})
    assert nothing.status_code == 422 and nothing.json["error"]["code"] == "no_evidence"


def test_clips_are_blurred_where_consent_requires(evidence_world, teacher):
    w = evidence_world
    patched = w["teacher_api"].patch(f"/api/v1/lessons/{w['late']['id']}", json={"consent": "some_not_consented"})
    assert patched.status_code == 200, patched.json
    made = w["teacher_api"].post("/api/v1/evidence-reels", json={"teacher_id": teacher.id,
                                                                 "criterion_id": w["le8"]})
    reel = db.session.get(Reel, made.json["reel"]["id"])
    assert {item.clip.lesson_id: item.clip.blur_faces for item in reel.items} == {
        w["early"]["id"]: False, w["late"]["id"]: True}


def test_bad_requests_answer_the_error_shape_and_make_nothing(evidence_world, teacher, make_user, api_as):
    w = evidence_world
    before = db.session.query(Reel).count()
    stranger = api_as(make_user())
    asked = {"teacher_id": teacher.id, "criterion_id": w["le8"]}
    assert stranger.post("/api/v1/evidence-reels", json=asked).status_code == 404
    cases = [
        ({**asked, "kind": "bloopers"}, 422, None),
        ({**asked, "criterion_id": 999_999}, 422, None),
        ({**asked, "from": "2026-12-01", "to": "2026-01-01"}, 422, None),
        ({**asked, "criterion_id": criterion("LE.2").id}, 422, "no_evidence"),
        ({"criterion_id": w["le8"]}, 422, None),
        ({**asked, "teacher_id": 999_999}, 404, "not_found"),
        ({**asked, "from": "soon"}, 422, None),
    ]
    for payload, status, code in cases:
        response = w["teacher_api"].post("/api/v1/evidence-reels", json=payload)
        assert response.status_code == status, (payload, response.json)
        assert "message" in response.json["error"]
        if code:
            assert response.json["error"]["code"] == code
    assert db.session.query(Reel).count() == before


def test_a_clip_that_cannot_be_made_fails_the_reel(evidence_world, teacher, run_jobs):
    w = evidence_world
    made = w["teacher_api"].post("/api/v1/evidence-reels", json={"teacher_id": teacher.id,
                                                                 "criterion_id": w["le8"]}).json
    from obsapp.lessons.models import Lesson
    from obsapp.lessons.services import rendition_key

    media_store().delete(rendition_key(db.session.get(Lesson, w["late"]["id"])))
    run_jobs()
    reel = w["teacher_api"].get(f"/api/v1/reels/{made['reel']['id']}").json
    assert reel["status"] == "failed" and "could not be made" in reel["error"]
    assert reel["job_id"] is None


def test_the_reel_form_on_the_lesson_and_growth_pages(evidence_world, teacher, mentor, make_user, share,
                                                      browser_client):
    from flask import g

    from obsapp.lessons.models import Lesson

    w = evidence_world
    client = browser_client(teacher)
    lesson_page = client.get(f"/lessons/{w['late']['id']}").get_data(as_text=True)
    assert "Make a reel of this criterion across lessons" in lesson_page
    growth = client.get("/growth").get_data(as_text=True)
    assert "Make evidence reel" in growth and f'name="teacher_id" value="{teacher.id}"' in growth
    # bad input is said in words, nothing made
    before = db.session.query(Reel).count()
    for form, words in (({"criterion_id": criterion("LE.2").id}, "There are no strengths"),
                        ({"criterion_id": w["le8"], "from": "soon"}, "is not a date"),
                        ({"criterion_id": "x"}, "Choose a criterion")):
        answer = client.post("/evidence/reels", data={"csrf_token": client.csrf, "teacher_id": teacher.id,
                                                      "back": "/growth", **form}, follow_redirects=True)
        assert answer.status_code == 200 and words in answer.get_data(as_text=True), words
    assert db.session.query(Reel).count() == before
    made = client.post("/evidence/reels", data={"csrf_token": client.csrf, "teacher_id": teacher.id,
                                                "criterion_id": w["le8"], "kind": "strengths", "back": "/growth"})
    assert made.status_code == 302 and "/reels/" in made.headers["Location"]
    # a colleague the lesson is shared with sees no evidence form (it is the teacher's and their mentors')
    viewer = make_user()
    share(db.session.get(Lesson, w["late"]["id"]), viewer, "commenter")
    g.pop("csrf_token", None)
    other = browser_client(viewer)
    assert "Make a reel of this criterion" not in other.get(f"/lessons/{w['late']['id']}").get_data(as_text=True)
    answer = other.post("/evidence/reels", data={"csrf_token": other.csrf, "teacher_id": teacher.id,
                                                 "criterion_id": w["le8"]})
    assert answer.status_code == 404


def test_deleting_lessons_takes_their_footage_out_and_then_the_evidence_reel(evidence_world, teacher, run_jobs):
    from obsapp.evidence.models import EvidenceReel

    w = evidence_world
    made = w["teacher_api"].post("/api/v1/evidence-reels", json={"teacher_id": teacher.id,
                                                                 "criterion_id": w["le8"]}).json
    assert w["teacher_api"].get(f"/api/v1/evidence-reels/{made['id']}").status_code == 200
    # one lesson goes: the reel is made again without its footage (privacy's rule for every reel)
    assert w["teacher_api"].delete(f"/api/v1/lessons/{w['early']['id']}").status_code == 204
    run_jobs()
    kept = w["teacher_api"].get(f"/api/v1/evidence-reels/{made['id']}").json
    assert kept["reel"]["status"] == "ready", kept["reel"]["error"]
    assert [c["clip_id"] for c in kept["reel"]["chapters"]] == [
        item.clip_id for item in db.session.get(Reel, made["reel"]["id"]).items]
    assert len(kept["reel"]["chapters"]) == 1
    # the last one goes: so do the reel and the evidence reel
    assert w["teacher_api"].delete(f"/api/v1/lessons/{w['late']['id']}").status_code == 204
    db.session.expire_all()
    assert db.session.get(EvidenceReel, made["id"]) is None
    assert w["teacher_api"].get(f"/api/v1/evidence-reels/{made['id']}").status_code == 404
    assert w["teacher_api"].get(f"/api/v1/evidence-reels?teacher_id={teacher.id}").json["items"] == []
