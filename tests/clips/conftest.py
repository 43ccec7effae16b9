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
def counter_lesson(upload_lesson, mentee, media_samples):
    return upload_lesson(mentee, media_samples["counter_mp4"])


@pytest.fixture
def av_lesson(upload_lesson, mentee, media_samples):
    return upload_lesson(mentee, media_samples["h264_aac_mp4"])


@pytest.fixture(scope="session")
def face_sample(tmp_path_factory):
    from tests.clips.faces import face_video

    return face_video(tmp_path_factory.mktemp("faces") / "faces.mp4", size="480x270", seconds=2.0)
