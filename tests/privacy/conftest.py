"""Fixtures for the privacy tests: people, settings changed for one test, and ready lessons made through the real
upload and ingest job."""

from __future__ import annotations

import pytest


@pytest.fixture
def owner(make_user):
    return make_user(name="Olive Owner")


@pytest.fixture
def mentor(make_user, make_mentorship, owner):
    user = make_user(name="Marco Mentor")
    make_mentorship(user, owner)
    return user


@pytest.fixture
def admin(make_user):
    return make_user(name="Ada Admin", admin=True)


@pytest.fixture
def settings(app):
    """settings(NAME=value, ...) changes the app's settings for this test only."""
    saved = {}

    def change(**values):
        for name, value in values.items():
            saved.setdefault(name, app.config[name])
            app.config[name] = value

    yield change
    app.config.update(saved)


@pytest.fixture
def upload_lesson(api_as, run_jobs):
    """upload_lesson(owner, path, title=..., **fields) -> a ready lesson's JSON (the real upload and ingest job)."""

    def make(person, path, title="Fractions P4", **fields):
        api = api_as(person)
        response = api.post("/api/v1/lessons", json={"title": title, **fields})
        assert response.status_code == 201, response.json
        lesson = response.json
        with open(path, "rb") as handle:
            response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                                content_type="multipart/form-data")
        assert response.status_code == 202, response.json
        run_jobs()
        lesson = api.get(f"/api/v1/lessons/{lesson['id']}").json
        assert lesson["status"] == "ready", lesson["error"]
        return lesson

    return make


@pytest.fixture(scope="session")
def face_sample(tmp_path_factory):
    from tests.clips.faces import face_video

    return face_video(tmp_path_factory.mktemp("privacy-faces") / "faces.mp4", size="480x270", seconds=2.0)
