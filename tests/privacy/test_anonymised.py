"""The anonymised rendition of a whole lesson: unless everyone filmed consented, viewers other than the owner and
the owner's mentors get the lesson's video with every face blurred, made by a job after ingest or a consent
change, and until then a clear "being anonymised" answer, never the original video."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obsapp.media.faces import CenterFaceDetector, acceptance_faces, centerface_model_path
from obsapp.storage import media_store
from tests.clips.faces import frames_with_faces, gray_frames

pytestmark = pytest.mark.database_neutral("media-heavy: ingest and anonymising jobs on real video")


def anonymised_files(lesson_id: int) -> list:
    folder = media_store().path(f"derived/lessons/{lesson_id}/anonymised")
    return sorted(p.name for p in folder.glob("*.mp4")) if folder.exists() else []


def centerface_frames(path) -> int:
    model = centerface_model_path()
    assert model is not None, "scripts/face_model.py installs CenterFace's model"
    detector = CenterFaceDetector(model)
    found = 0
    for gray in gray_frames(path):
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        found += bool(detector.detect(gray, lambda bgr=bgr: bgr))
    return found


def test_viewers_get_the_anonymised_video_once_it_is_made(api_as, owner, mentor, make_user, share, upload_lesson,
                                                          face_sample, run_jobs, browser_client, tmp_path):
    from obsapp.extensions import db
    from obsapp.lessons.models import Lesson

    lesson = upload_lesson(owner, face_sample)  # everyone consented: no anonymised rendition
    viewer = make_user(name="Vera Viewer")
    share(db.session.get(Lesson, lesson["id"]), viewer, "commenter")
    video = f"/api/v1/lessons/{lesson['id']}/media/video.mp4"
    original = media_store().path(f"renditions/lessons/{lesson['id']}/video.mp4").read_bytes()
    assert api_as(viewer).get(video).get_data() == original
    assert anonymised_files(lesson["id"]) == []

    owner_api = api_as(owner)
    assert owner_api.patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "some_not_consented"}
                           ).status_code == 200
    # until the job has run: a clear answer, never the original
    viewer_api = api_as(viewer)
    media = viewer_api.get(f"/api/v1/lessons/{lesson['id']}").json["media"]
    assert (media["anonymised"], media["anonymising"], media["video_url"], media["thumbnails_vtt_url"]) == (
        True, True, None, None)
    waiting = viewer_api.get(video)
    assert waiting.status_code == 409 and waiting.json["error"]["code"] == "being_anonymised"
    assert "being anonymised" in waiting.json["error"]["message"]
    joined = viewer_api.post(f"/api/v1/lessons/{lesson['id']}/watch")
    assert joined.status_code in (200, 201), joined.get_data(as_text=True)
    page = browser_client(viewer).get(joined.json["join_url"]).get_data(as_text=True)
    assert 'id="anonymising"' in page and "being anonymised" in page and 'id="watch-video"' not in page
    for name in ("thumbnails.vtt", "sprite-0.jpg"):
        refused = viewer_api.get(f"/api/v1/lessons/{lesson['id']}/media/{name}")
        assert refused.status_code == 403 and refused.json["error"]["code"] == "anonymised_only"
    assert viewer_api.get(f"/api/v1/lessons/{lesson['id']}/media/nothing.bin").status_code == 404
    poster = viewer_api.get(f"/api/v1/lessons/{lesson['id']}/media/poster.jpg")
    assert poster.status_code == 200
    gray = cv2.imdecode(np.frombuffer(poster.get_data(), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert acceptance_faces(gray) == []
    # the owner and the owner's mentor keep the original
    for person in (owner, mentor):
        payload = api_as(person).get(f"/api/v1/lessons/{lesson['id']}").json["media"]
        assert payload["anonymised"] is False and payload["video_url"]
        assert api_as(person).get(video).get_data() == original

    assert run_jobs() >= 1
    media = viewer_api.get(f"/api/v1/lessons/{lesson['id']}").json["media"]
    assert (media["anonymised"], media["anonymising"]) == (True, False) and media["video_url"]
    page = browser_client(viewer).get(joined.json["join_url"]).get_data(as_text=True)
    assert 'id="watch-video"' in page and 'id="anonymising"' not in page
    [name] = anonymised_files(lesson["id"])
    blurred = media_store().path(f"derived/lessons/{lesson['id']}/anonymised/{name}")
    served = viewer_api.get(video)
    assert served.status_code == 200 and served.get_data() == blurred.read_bytes() != original
    assert frames_with_faces(face_sample)[0] > 50
    assert frames_with_faces(blurred) == (0, 60)  # the contract's Haar check, every frame
    assert centerface_frames(blurred) == 0  # and the DNN detector
    # a frame grab is the picture that viewer watches: the anonymised rendition's frame; the owner's is the original's
    frame = f"/api/v1/lessons/{lesson['id']}/frame?t_ms=1000"
    viewer_grab, owner_grab = viewer_api.get(frame), owner_api.get(frame)
    assert viewer_grab.status_code == owner_grab.status_code == 200
    from obsapp.media.frames import frame_at

    frame_at(blurred, 1000, tmp_path / "anonymised.jpg")
    frame_at(media_store().path(f"renditions/lessons/{lesson['id']}/video.mp4"), 1000, tmp_path / "original.jpg")

    def picture(data: bytes):
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE).astype(int)

    anonymised_frame = picture((tmp_path / "anonymised.jpg").read_bytes())
    original_frame = picture((tmp_path / "original.jpg").read_bytes())
    viewer_frame, owner_frame = picture(viewer_grab.get_data()), picture(owner_grab.get_data())
    assert np.abs(viewer_frame - anonymised_frame).mean() < 0.5 < np.abs(viewer_frame - original_frame).mean()
    assert np.abs(owner_frame - anonymised_frame).mean() > 0.5
    assert acceptance_faces(viewer_frame.astype(np.uint8)) == []

    # everyone consented after all: the anonymised copy goes, viewers get the original again
    assert owner_api.patch(f"/api/v1/lessons/{lesson['id']}", json={"consent": "all_consented"}).status_code == 200
    assert anonymised_files(lesson["id"]) == []
    assert viewer_api.get(video).get_data() == original


def test_a_shared_upload_without_consent_is_anonymised_and_deleted_with_the_lesson(
        api_as, owner, make_user, upload_lesson, face_sample, run_jobs):
    from obsapp.extensions import db
    from obsapp.jobs.models import Job

    def jobs(lesson_id):
        return {job.kind: job.state for job in db.session.query(Job).filter(Job.lesson_id == lesson_id)}

    lesson = upload_lesson(owner, face_sample, consent="unknown")  # runs every job
    # nobody but the owner (and mentors) sees it yet: no blurring is spent on it
    assert jobs(lesson["id"])["lesson.ingest"] == "done" and "lesson.anonymise" not in jobs(lesson["id"])
    assert anonymised_files(lesson["id"]) == []
    viewer = make_user(name="Vic Viewer")
    shared = api_as(owner).post(f"/api/v1/lessons/{lesson['id']}/shares", json={"user_id": viewer.id,
                                                                               "role": "viewer"})
    assert shared.status_code == 201, shared.json
    assert jobs(lesson["id"])["lesson.anonymise"] == "queued"
    assert api_as(viewer).get(f"/api/v1/lessons/{lesson['id']}/media/video.mp4").status_code == 409
    assert run_jobs() >= 1
    assert jobs(lesson["id"])["lesson.anonymise"] == "done" and len(anonymised_files(lesson["id"])) == 1
    assert api_as(viewer).get(f"/api/v1/lessons/{lesson['id']}/media/video.mp4").status_code == 200

    assert api_as(owner).delete(f"/api/v1/lessons/{lesson['id']}").status_code == 204
    assert not media_store().path(f"derived/lessons/{lesson['id']}").exists()
    assert anonymised_files(lesson["id"]) == []
