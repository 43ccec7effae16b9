"""Consent per lesson: set by the owner on POST or PATCH (or PUT .../consent), OBSAPP_DEFAULT_CONSENT otherwise;
unless everyone consented, every clip made from the lesson is blurred whether or not it was asked."""

from __future__ import annotations

import pytest

from obsapp.extensions import db
from obsapp.privacy.models import AuditEntry
from obsapp.storage import media_store
from tests.clips.faces import frames_with_faces


def test_a_lesson_without_consent_gets_the_default(api_as, owner, settings):
    api = api_as(owner)
    lesson = api.post("/api/v1/lessons", json={"title": "Default"}).json
    assert (lesson["consent"], lesson["blur_required"], lesson["pinned"]) == ("all_consented", False, False)
    settings(DEFAULT_CONSENT="unknown")
    lesson = api.post("/api/v1/lessons", json={"title": "Unknown by default"}).json
    assert (lesson["consent"], lesson["blur_required"], lesson["blur_faces_default"]) == ("unknown", True, True)
    listed = {item["id"]: item for item in api.get("/api/v1/lessons").json["items"]}
    assert listed[lesson["id"]]["consent"] == "unknown"


def test_consent_given_on_create_and_patch(api_as, owner):
    api = api_as(owner)
    lesson = api.post("/api/v1/lessons", json={"title": "P5 science", "consent": "some_not_consented"}).json
    assert lesson["consent"] == "some_not_consented" and lesson["blur_required"] and lesson["blur_faces_default"]
    patched = api.patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "all_consented", "pinned": True}).json
    assert (patched["consent"], patched["blur_required"], patched["pinned"]) == ("all_consented", False, True)
    record = api.get(f"/api/v1/lessons/{lesson['id']}/consent").json
    assert (record["consent"], record["blur_required"], record["pinned"]) == ("all_consented", False, True)
    assert record["set_by"] == {"id": owner.id, "name": "Olive Owner"} and record["updated_at"]
    put = api.request("PUT", f"/api/v1/lessons/{lesson['id']}/consent", json={"consent": "unknown"})
    assert put.status_code == 200 and put.json["blur_required"] is True and put.json["pinned"] is True
    changes = db.session.query(AuditEntry).filter_by(lesson_id=lesson["id"], action="consent").count()
    assert changes == 3  # set on create, then two changes


@pytest.mark.parametrize("body", [{"consent": "maybe"}, {"consent": ""}, {"consent": None}, {"consent": 3},
                                  {"pinned": "yes"}])
def test_bad_consent_is_a_clear_422(api_as, owner, body):
    api = api_as(owner)
    response = api.post("/api/v1/lessons", json={"title": "Bad", **body})
    assert response.status_code == 422
    assert response.json["error"]["code"] and response.json["error"]["message"]
    lesson = api.post("/api/v1/lessons", json={"title": "Good"}).json
    response = api.patch(f"/api/v1/lessons/{lesson['id']}", json=body)
    assert response.status_code == 422 and "error" in response.json
    assert api.get(f"/api/v1/lessons/{lesson['id']}").json["consent"] == "all_consented"


def test_only_the_owner_sets_consent(api_as, owner, mentor, make_user):
    lesson = api_as(owner).post("/api/v1/lessons", json={"title": "Mine"}).json
    path = f"/api/v1/lessons/{lesson['id']}"
    assert api_as(mentor).patch(path, json={"consent": "unknown"}).status_code == 403
    assert api_as(mentor).request("PUT", path + "/consent", json={"consent": "unknown"}).status_code == 403
    assert api_as(make_user()).patch(path, json={"consent": "unknown"}).status_code == 404
    assert api_as(make_user()).get(path + "/consent").status_code == 404
    assert api_as(None).get(path + "/consent").status_code == 401
    assert api_as(mentor).get(path + "/consent").json["consent"] == "all_consented"


def test_blurring_cannot_be_switched_off_without_consent(api_as, owner):
    api = api_as(owner)
    lesson = api.post("/api/v1/lessons", json={"title": "Not all", "consent": "some_not_consented"}).json
    response = api.patch(f"/api/v1/lessons/{lesson['id']}", json={"blur_faces_default": False})
    assert response.status_code == 409 and response.json["error"]["code"] == "blur_required"
    assert api.get(f"/api/v1/lessons/{lesson['id']}").json["blur_faces_default"] is True
    response = api.patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "all_consented",
                                                                   "blur_faces_default": False})
    assert response.status_code == 200 and response.json["blur_faces_default"] is False


@pytest.mark.slow
@pytest.mark.database_neutral(reason="media-heavy: the clip job's blurring is ffmpeg and OpenCV work; the rows "
                              "(consent, clip, job) are those test_clips_made_before_consent_changed_... checks on "
                              "both databases")
def test_a_mentors_clip_is_blurred_without_being_asked(api_as, owner, mentor, upload_lesson, face_sample, run_jobs):
    assert frames_with_faces(face_sample)[0] > 0  # the sample really shows a face the check finds
    lesson = upload_lesson(owner, face_sample, consent="some_not_consented")
    mentor_api = api_as(mentor)
    response = mentor_api.post(f"/api/v1/lessons/{lesson['id']}/clips",
                               json={"start_ms": 0, "end_ms": 2000, "blur_faces": False})
    assert response.status_code == 202, response.json
    assert response.json["clip"]["blur_faces"] is True
    run_jobs()
    clip = mentor_api.get(f"/api/v1/clips/{response.json['clip']['id']}").json
    assert clip["status"] == "ready", clip.get("error")
    video = media_store().path(f"derived/lessons/{lesson['id']}/clips/{clip['id']}/video.mp4")
    faces, frames = frames_with_faces(video)
    assert frames > 30 and faces == 0


@pytest.mark.slow
def test_clips_made_before_consent_changed_are_made_again_blurred(api_as, owner, upload_lesson, face_sample,
                                                                  run_jobs):
    lesson = upload_lesson(owner, face_sample)
    api = api_as(owner)
    clip = api.post(f"/api/v1/lessons/{lesson['id']}/clips", json={"start_ms": 0, "end_ms": 1500}).json["clip"]
    run_jobs()
    video = media_store().path(f"derived/lessons/{lesson['id']}/clips/{clip['id']}/video.mp4")
    assert frames_with_faces(video)[0] > 0  # made before: faces visible
    reel = api.post("/api/v1/reels", json={"title": "Moments", "clip_ids": [clip["id"]]}).json["reel"]
    run_jobs()
    assert api.get(f"/api/v1/reels/{reel['id']}").json["status"] == "ready"

    assert api.patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "unknown"}).status_code == 200
    again = api.get(f"/api/v1/clips/{clip['id']}").json
    assert again["status"] == "processing" and again["blur_faces"] is True
    assert not video.exists()  # the unblurred video is gone at once
    taken_down = api.get(f"/api/v1/reels/{reel['id']}").json
    assert taken_down["status"] == "failed" and "blurred" in taken_down["error"]
    assert not media_store().path(f"derived/reels/{reel['id']}/video.mp4").exists()
    run_jobs()
    assert api.get(f"/api/v1/clips/{clip['id']}").json["status"] == "ready"
    assert frames_with_faces(video)[0] == 0


@pytest.mark.slow
def test_frame_grabs_are_blurred_unless_everyone_consented(api_as, owner, mentor, upload_lesson, face_sample):
    import cv2
    import numpy as np

    from obsapp.media.faces import acceptance_faces

    lesson = upload_lesson(owner, face_sample)
    path = f"/api/v1/lessons/{lesson['id']}/frame?t_ms=1000"

    def faces_in(response):
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(response.get_data(), np.uint8), cv2.IMREAD_GRAYSCALE)
        return acceptance_faces(image)

    assert faces_in(api_as(mentor).get(path))  # everyone consented: the frame as it is
    assert api_as(owner).patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "some_not_consented"}
                               ).status_code == 200
    assert faces_in(api_as(mentor).get(path)) == []
    assert faces_in(api_as(mentor).get(path + "&width=320")) == []


def test_put_consent_needs_something_to_set(api_as, owner):
    api = api_as(owner)
    lesson = api.post("/api/v1/lessons", json={"title": "Empty"}).json
    for kwargs in ({}, {"json": {}}):
        response = api.request("PUT", f"/api/v1/lessons/{lesson['id']}/consent", **kwargs)
        assert response.status_code == 422, response.json
        assert response.json["error"]["message"]


def test_the_upload_page_asks_for_consent(browser_client, owner, settings):
    settings(DEFAULT_CONSENT="unknown")
    html = browser_client(owner).get("/lessons/new").get_data(as_text=True)
    assert '<label for="consent">Consent of the people filmed</label>' in html
    assert '<option value="unknown" selected>' in html and '<option value="all_consented">' in html
