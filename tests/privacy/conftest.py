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


@pytest.fixture(scope="session")
def face_sample(tmp_path_factory):
    from tests.clips.faces import face_video

    return face_video(tmp_path_factory.mktemp("privacy-faces") / "faces.mp4", size="480x270", seconds=2.0)
