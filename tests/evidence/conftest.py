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


