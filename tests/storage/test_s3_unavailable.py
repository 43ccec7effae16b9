"""A bucket that stops answering while the app serves: the media request is a 503 in the contract's error shape
(a readable page for a browser), never a 500; the lesson's data is untouched and served again once the bucket is
back. Two apps share one database and instance: one reaches the bucket, the other an address nobody listens on."""

from __future__ import annotations

import pytest

from tests.conftest import _free_port
from tests.servers import database as test_database

pytestmark = pytest.mark.database_neutral  # storage behaviour; the database plays no part


@pytest.fixture
def apps(s3_server, tmp_path):
    from obsapp import create_app, setup

    bucket = s3_server.bucket("gone")
    common = {"INSTANCE_PATH": str(tmp_path / "instance"), "ENV": "testing", "TESTING": True,
              "DATABASE_URL": test_database.new_database_url(tmp_path, "unavailable"),
              "MEDIA_ROOT": str(tmp_path / "scratch"), "STORAGE": "s3", "S3_BUCKET": bucket, "S3_REGION": "us-east-1",
              "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}}
    good = create_app({**common, "S3_ENDPOINT_URL": s3_server.endpoint_url})
    dead = create_app({**common, "S3_ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}"})
    with good.app_context():
        setup.initialise(good)
    return good, dead


def test_media_from_a_bucket_that_does_not_answer_is_a_503_not_a_500(apps):
    from obsapp import uow
    from obsapp.accounts import services as accounts
    from obsapp.extensions import db
    from obsapp.lessons.models import Lesson
    from obsapp.storage import media_store
    from obsapp.storage_keys import lesson_rendition

    good, dead = apps
    with good.app_context():
        owner = accounts.create_user(None, email="t@school.test", name="Tia Teacher", password="long-password-1")
        lesson = Lesson(owner_id=owner.id, title="Stored in the bucket", status="ready", duration_ms=1000)
        db.session.add(lesson)
        uow.commit()
        _, token = accounts.create_token(None, owner, "test")
        uow.commit()
        lesson_id = lesson.id
        media_store().put_bytes(lesson_rendition(lesson_id), b"\x00" * 4096)
    headers = {"Authorization": f"Bearer {token}"}
    video_url = good.test_client().get(f"/api/v1/lessons/{lesson_id}", headers=headers).get_json()["media"]["video_url"]
    assert good.test_client().get(video_url, headers={**headers, "Range": "bytes=0-9"}).status_code == 206

    answer = dead.test_client().get(video_url, headers={**headers, "Range": "bytes=0-9"})
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "unavailable"
    assert "storage" in answer.get_json()["error"]["message"]
    page = dead.test_client().get(video_url, headers={**headers, "Accept": "text/html"})
    assert page.status_code == 503 and b"Traceback" not in page.data

    # nothing was lost: the lesson and its bytes are served as before once the bucket answers
    again = good.test_client().get(video_url, headers={**headers, "Range": "bytes=0-9"})
    assert again.status_code == 206 and again.data == b"\x00" * 10
