"""Exact frames of a lesson whose rendition is in a bucket (a real SeaweedFS): ffmpeg reads the rendition through a
short-lived presigned URL by HTTP ranges, so the web process makes no scratch copy of it, and the frame is the
same picture as one grabbed from the file itself. The permission check comes first."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.servers import database as test_database
from tests.waiting import HANG_GUARD_S

pytestmark = pytest.mark.database_neutral(reason="about reading media from a bucket; the database plays no part")


@pytest.fixture
def s3_app(s3_server, tmp_path):
    from obsapp import create_app, setup

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "ENV": "testing", "TESTING": True,
                      "DATABASE_URL": test_database.new_database_url(tmp_path, "frames"),
                      "MEDIA_ROOT": str(tmp_path / "scratch"), "STORAGE": "s3", "S3_BUCKET": s3_server.bucket("frames"),
                      "S3_ENDPOINT_URL": s3_server.endpoint_url, "S3_REGION": "us-east-1",
                      "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}})
    with app.app_context():
        setup.initialise(app)
    return app


@pytest.fixture(scope="module")
def large_rendition(tmp_path_factory) -> Path:
    """About 40 MB of H.264 (noisy test pattern, a keyframe every second, index first as our renditions are)."""
    path = tmp_path_factory.mktemp("large") / "video.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=s=640x360:r=25:d=12,noise=alls=25:allf=t", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "18", "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
                   check=True, timeout=HANG_GUARD_S)
    assert path.stat().st_size > 30 * 1024 * 1024
    return path


def _bytes_written_by_this_process() -> int:
    """Bytes this process (every thread of it) has passed to write() and the like since it started: a scratch copy
    of the rendition would be written through here; ffmpeg is a child with counts of its own."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def _pixels(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image.astype(np.int16)


def test_a_frame_of_a_large_rendition_is_read_by_ranges_without_a_scratch_copy(s3_app, large_rendition, tmp_path):
    from obsapp import uow
    from obsapp.accounts import services as accounts
    from obsapp.extensions import db
    from obsapp.lessons.models import Lesson
    from obsapp.media.frames import frame_at
    from obsapp.storage import media_store
    from obsapp.storage_keys import lesson_rendition

    with s3_app.app_context():
        owner = accounts.create_user(None, email="t@school.test", name="Tia Teacher", password="long-password-1")
        stranger = accounts.create_user(None, email="s@school.test", name="Sam Stranger", password="long-password-1")
        lesson = Lesson(owner_id=owner.id, title="A long lesson in the bucket", status="ready", duration_ms=12_000,
                        fps="25/1", width=640, height=360)
        db.session.add(lesson)
        uow.commit()
        _, token = accounts.create_token(None, owner, "test")
        _, stranger_token = accounts.create_token(None, stranger, "test")
        uow.commit()
        lesson_id = lesson.id
        store = media_store()
        store.put_file(lesson_rendition(lesson_id), large_rendition, move=False)
        size = store.size(lesson_rendition(lesson_id))
        scratch = store.tmp_root
    client = s3_app.test_client()
    url = f"/api/v1/lessons/{lesson_id}/frame?t_ms=7480"

    refused = client.get(url, headers={"Authorization": f"Bearer {stranger_token}"})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "not_found"

    scratch_before = sorted(p.name for p in scratch.iterdir()) if scratch.exists() else []
    written_before = _bytes_written_by_this_process()
    frame = client.get(url, headers={"Authorization": f"Bearer {token}"})
    written = _bytes_written_by_this_process() - written_before
    assert frame.status_code == 200 and frame.mimetype == "image/jpeg", frame.get_data(as_text=True)[:300]
    # A copy of the rendition would write all of its bytes; the frame request writes the JPEG and a few lines.
    assert written < size / 40, f"{written} bytes written for a frame of a {size}-byte rendition"
    assert sorted(p.name for p in scratch.iterdir()) == scratch_before  # and it leaves nothing behind

    # the right picture: the same as the frame taken from the file itself, and not its neighbours a second away
    expected = frame_at(large_rendition, 7480, tmp_path / "expected.jpg", duration_ms=12_000, fps=25)
    other = frame_at(large_rendition, 8480, tmp_path / "other.jpg", duration_ms=12_000, fps=25)
    got, want, away = _pixels(frame.data), _pixels(expected.read_bytes()), _pixels(other.read_bytes())
    assert got.shape == want.shape == (360, 640, 3)
    assert np.abs(got - want).mean() < 0.5
    assert np.abs(got - away).mean() > 5

    again = client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 200 and again.data == frame.data  # cached in the bucket


def test_a_frame_of_a_rendition_missing_from_the_bucket_is_a_404(s3_app):
    from obsapp import uow
    from obsapp.accounts import services as accounts
    from obsapp.extensions import db
    from obsapp.lessons.models import Lesson

    with s3_app.app_context():
        owner = accounts.create_user(None, email="m@school.test", name="Mo Teacher", password="long-password-1")
        lesson = Lesson(owner_id=owner.id, title="Lost", status="ready", duration_ms=4000, fps="25/1", width=640,
                        height=360)
        db.session.add(lesson)
        uow.commit()
        _, token = accounts.create_token(None, owner, "test")
        uow.commit()
        lesson_id = lesson.id
    answer = s3_app.test_client().get(f"/api/v1/lessons/{lesson_id}/frame?t_ms=1000",
                                      headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
