"""The celery backend's settings and sending, on the run's throwaway Redis: what a long ffmpeg job needs from
Celery, which queue each task's jobs go to, and that a job is sent once its unit of work commits (never for
one rolled back)."""

from __future__ import annotations

import base64
import json

import pytest

from obsapp import uow
from obsapp.config import SettingsError, load_settings
from obsapp.jobs import celery_backend, queue


@pytest.fixture
def celery_app(app, redis_server, monkeypatch):
    """The test app switched to the celery backend on the run's Redis (its own Celery app, dropped after)."""
    monkeypatch.setitem(app.config, "JOB_BACKEND", "celery")
    monkeypatch.setitem(app.config, "REDIS_URL", redis_server.url)
    app.extensions.pop(celery_backend._EXTENSION, None)
    client = redis_server.client()
    client.flushall()
    yield client
    app.extensions.pop(celery_backend._EXTENSION, None)
    client.flushall()
    client.close()


def messages(client, queue_name: str) -> list[int]:
    """The job ids waiting in a Celery queue (kombu's Redis transport keeps a list per queue; a message's body
    is the task's (args, kwargs, embed) in JSON, base64-encoded)."""
    ids = []
    for raw in reversed(client.lrange(queue_name, 0, -1)):  # LPUSHed: the oldest last
        message = json.loads(raw)
        assert message["headers"]["task"] == celery_backend.TASK_NAME
        args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        assert kwargs == {} and len(args) == 1
        ids.append(args[0])
    return ids


def test_long_jobs_settings(app):
    conf = celery_backend._make(app).conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert {q.name for q in conf.task_queues} == {"heavy", "light"}
    longest = celery_backend.longest_job_s(app)
    assert longest >= app.config["FFMPEG_TIMEOUT_S"]
    assert conf.broker_transport_options["visibility_timeout"] > longest


def test_each_task_declares_its_queue():
    assert queue.queue_of("lesson.ingest", {}) == "heavy"
    assert queue.queue_of("reel.render", {"reel_id": 1}) == "heavy"
    assert queue.queue_of("clip.render", {"clip_id": 10**9}) == "light"  # a cut; blurred ones are heavy
    assert queue.queue_of("no.such.task", {}) == "light"
    with pytest.raises(ValueError, match="queue must be one of"):
        queue.Task("x", lambda ctx: None, queue="medium")


def test_a_blurred_clip_goes_to_the_heavy_queue(app, make_user, make_lesson):
    from obsapp.clips.models import Clip
    from obsapp.extensions import db

    owner = make_user()
    lesson = make_lesson(owner, status="ready")
    plain = Clip(lesson_id=lesson.id, creator_id=owner.id, start_ms=0, end_ms=1000, title="a", status="processing")
    blurred = Clip(lesson_id=lesson.id, creator_id=owner.id, start_ms=0, end_ms=1000, title="b",
                   status="processing", blur_faces=True)
    db.session.add_all([plain, blurred])
    db.session.flush()
    assert queue.queue_of("clip.render", {"clip_id": plain.id}) == "light"
    assert queue.queue_of("clip.render", {"clip_id": blurred.id}) == "heavy"


def test_a_job_is_sent_to_its_queue_after_commit_and_never_for_a_rollback(app, celery_app):
    job = queue.enqueue("lesson.ingest", lesson_id=10**9)
    assert celery_app.llen("heavy") == 0  # not before the commit: the worker could not see the row yet
    uow.commit()
    assert messages(celery_app, "heavy") == [job.id]
    assert celery_app.llen("light") == 0

    queue.enqueue("reel.render", reel_id=1)
    uow.rollback()
    assert messages(celery_app, "heavy") == [job.id]


def test_queued_jobs_are_sent_again_when_a_worker_starts(app, own_database, celery_app):
    first = queue.enqueue("lesson.ingest", lesson_id=10**9)
    second = queue.enqueue("clip.render", clip_id=10**9)
    uow.commit()
    celery_app.flushall()  # as if Redis had restarted empty
    assert celery_backend.republish_queued(app) == 2
    assert messages(celery_app, "heavy") == [first.id]
    assert messages(celery_app, "light") == [second.id]


def test_the_celery_backend_needs_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSAPP_JOB_BACKEND", "celery")
    monkeypatch.delenv("OBSAPP_REDIS_URL", raising=False)
    with pytest.raises(SettingsError, match="OBSAPP_JOB_BACKEND=celery needs OBSAPP_REDIS_URL"):
        load_settings(tmp_path)
    monkeypatch.setenv("OBSAPP_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("OBSAPP_SECRET_KEY", "a-long-random-secret-for-this-test-0123456789")
    config = load_settings(tmp_path)
    assert (config["JOB_BACKEND"], config["JOB_LEASE_SECONDS"]) == ("celery", 120)


def test_lost_messages_are_sent_again_once_while_the_queues_are_empty(app, own_database, celery_app):
    from datetime import timedelta

    job = queue.enqueue("lesson.ingest", lesson_id=10**9)
    uow.commit()
    assert celery_backend.resend_lost(app, timedelta(0)) == 0  # its message waits: nothing is lost
    celery_app.flushall()  # Redis restarted empty
    assert celery_backend.resend_lost(app, timedelta(minutes=5)) == 0  # too recent to call lost
    assert celery_backend.resend_lost(app, timedelta(0)) == 1
    assert messages(celery_app, "heavy") == [job.id]
    assert celery_backend.resend_lost(app, timedelta(0)) == 0  # no pile of duplicates
    assert celery_backend.waiting_messages(app) == 1
