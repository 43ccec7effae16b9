"""Fixtures for the clip tests: people, a ready lesson made through the real upload and ingest job."""

from __future__ import annotations

import pytest


@pytest.fixture
def mentee(make_user):
    return make_user(name="Mina Mentee")


@pytest.fixture
def mentor(make_user, make_mentorship, mentee):
    user = make_user(name="Marco Mentor")
    make_mentorship(user, mentee)
    return user


@pytest.fixture
def upload_lesson(api_as, run_jobs):
    """upload_lesson(owner, path, title=...) -> a ready lesson's JSON (the real ingest job)."""

    def make(owner, path, title="Fractions P4"):
        api = api_as(owner)
        lesson = api.post("/api/v1/lessons", json={"title": title}).json
        with open(path, "rb") as handle:
            response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                                content_type="multipart/form-data")
        assert response.status_code == 202, response.json
        run_jobs()
        lesson = api.get(f"/api/v1/lessons/{lesson['id']}").json
        assert lesson["status"] == "ready", lesson["error"]
        return lesson

    return make


@pytest.fixture
def counter_lesson(upload_lesson, mentee, media_samples):
    return upload_lesson(mentee, media_samples["counter_mp4"])


@pytest.fixture
def av_lesson(upload_lesson, mentee, media_samples):
    return upload_lesson(mentee, media_samples["h264_aac_mp4"])


@pytest.fixture(scope="session")
def face_sample(tmp_path_factory):
    from tests.clips.faces import face_video

    return face_video(tmp_path_factory.mktemp("faces") / "faces.mp4", size="480x270", seconds=2.0)
