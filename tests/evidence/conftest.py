"""Fixtures for the evidence tests: a teacher and their mentor, the stp criteria, lessons made through the real
upload and ingest job."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework


def criterion(code: str) -> Criterion:
    return db.session.execute(select(Criterion).join(Framework).where(Framework.slug == "stp",
                                                                      Criterion.code == code)).scalar_one()


@pytest.fixture
def teacher(make_user):
    return make_user(name="Tara Teacher")


@pytest.fixture
def mentor(make_user, make_mentorship, teacher):
    user = make_user(name="Milo Mentor")
    make_mentorship(user, teacher)
    return user


@pytest.fixture
def upload_lesson(api_as, run_jobs):
    """upload_lesson(owner, path, title=..., taught_on=...) -> a ready lesson's JSON (the real ingest job)."""

    def make(owner, path, title="Fractions P4", taught_on=None):
        api = api_as(owner)
        lesson = api.post("/api/v1/lessons", json={"title": title, "taught_on": taught_on}).json
        with open(path, "rb") as handle:
            response = api.post(f"/api/v1/lessons/{lesson['id']}/video", data={"file": (handle, path.name)},
                                content_type="multipart/form-data")
        assert response.status_code == 202, response.json
        run_jobs()
        lesson = api.get(f"/api/v1/lessons/{lesson['id']}").json
        assert lesson["status"] == "ready", lesson["error"]
        return lesson

    return make
