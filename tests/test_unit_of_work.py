"""The unit of work: services flush, the boundary (request, Socket.IO event, CLI command, job run) commits once;
side effects registered with uow.after_commit run after that commit and never after a rollback."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from obsapp import storage_keys, uow
from obsapp.annotations import events as annotation_events
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.lessons.models import Lesson
from obsapp.storage import media_store
from obsapp.watch.models import WatchEvent, WatchSession
from obsapp.watch.services import state_store

TUS = {"Tus-Resumable": "1.0.0"}


@contextmanager
def database_log():
    """What reaches the database on the test's connection: "write" for INSERT/UPDATE/DELETE, "commit" when the
    session commits (in tests a commit releases the savepoint the session runs in)."""
    log: list[str] = []
    connection = db.engines[None]

    def on_execute(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            log.append("write")

    def on_release(_conn, _name, _context):
        log.append("commit")

    event.listen(connection, "before_cursor_execute", on_execute)
    event.listen(connection, "release_savepoint", on_release)
    try:
        yield log
    finally:
        event.remove(connection, "before_cursor_execute", on_execute)
        event.remove(connection, "release_savepoint", on_release)


def commits_with_writes(log: list[str]) -> int:
    count, wrote = 0, False
    for entry in log:
        if entry == "write":
            wrote = True
        elif entry == "commit" and wrote:
            count, wrote = count + 1, False
    assert not wrote, f"writes left uncommitted at the end of the request: {log}"
    return count


@pytest.fixture
def recorded_events():
    seen: list[tuple[int, str, dict]] = []

    def record(lesson_id, name, payload):
        seen.append((lesson_id, name, payload))

    annotation_events.subscribe(record)
    yield seen
    annotation_events._subscribers.remove(record)


def test_after_commit_runs_after_the_commit_and_is_dropped_on_rollback():
    calls: list[str] = []
    uow.after_commit(calls.append, "dropped")
    uow.rollback()
    uow.commit()
    assert calls == []
    uow.after_commit(calls.append, "first")
    uow.after_commit(calls.append, "second")
    assert calls == []
    uow.commit()
    assert calls == ["first", "second"]
    uow.commit()
    assert calls == ["first", "second"]  # each action runs once


def test_a_tus_chunk_that_completes_the_upload_commits_once(api_as, make_user):
    api = api_as(make_user())
    lesson = api.post("/api/v1/lessons", json={"title": "Fractions"}).json
    created = api.post(lesson["upload_url"], headers={**TUS, "Upload-Length": "10"})
    assert created.status_code == 201
    with database_log() as log:
        response = api.patch(created.headers["Location"], data=b"0123456789",
                             headers={**TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "10"
    assert commits_with_writes(log) == 1, log  # the offset, the upload's end, the lesson and its job together
    row = db.session.get(Lesson, lesson["id"])
    assert row.status == "processing"
    assert db.session.get(Job, row.job_id).state == "queued"


def test_reading_a_watch_session_never_writes(app, api_as, make_user, make_lesson, monkeypatch):
    owner = make_user()
    lesson = make_lesson(owner, status="ready", duration_ms=60000)
    api = api_as(owner)
    session_id = api.post(f"/api/v1/lessons/{lesson.id}/watch").get_json()["session_id"]
    # the process holding it is gone and it has waited longer than a session may wait for its first participant
    state_store().discard(session_id)
    monkeypatch.setitem(app.config, "WATCH_START_GRACE_S", -1)
    with database_log() as log:
        response = api.get(f"/api/v1/watch/{session_id}")
        page = api.get(f"/watch/{session_id}")
    assert response.status_code == 200 and page.status_code == 200
    assert "write" not in log
    assert db.session.get(WatchSession, session_id).ended_at is None
    # the next write settles it: ending it finds it abandoned
    assert api.post(f"/api/v1/watch/{session_id}/end").status_code == 200
    db.session.expire_all()
    assert db.session.get(WatchSession, session_id).ended_at is not None
    reasons = db.session.execute(select(WatchEvent.payload).where(WatchEvent.session_id == session_id,
                                                                  WatchEvent.kind == "end")).scalars().all()
    assert reasons == [{"reason": "abandoned"}]


def test_annotation_events_follow_the_commit_and_a_refused_change_sends_none(api_as, make_user, make_lesson,
                                                                            recorded_events):
    owner = make_user()
    lesson = make_lesson(owner, status="ready", duration_ms=60000)
    api = api_as(owner)
    with database_log() as log:
        annotation_events.subscribe(on_event := lambda *_: log.append("event"))
        try:
            created = api.post(f"/api/v1/lessons/{lesson.id}/annotations",
                               json={"start_ms": 1000, "kind": "strength", "body": "Clear model"})
        finally:
            annotation_events._subscribers.remove(on_event)
    assert created.status_code == 201
    assert log.index("event") > log.index("commit") and log.count("event") == 1
    assert [(lid, name) for lid, name, _ in recorded_events] == [(lesson.id, "annotation.created")]
    assert recorded_events[0][2]["body"] == "Clear model"
    stale = api.patch(f"/api/v1/annotations/{created.json['id']}", json={"body": "Changed"},
                      headers={"If-Match": '"0-0"'})
    assert stale.status_code == 412
    assert len(recorded_events) == 1
    assert api.get(f"/api/v1/annotations/{created.json['id']}").json["body"] == "Clear model"


def test_deleting_a_lesson_deletes_its_files_and_its_clips_files_only_once_committed(make_user, make_lesson):
    from obsapp.lessons import services

    owner = make_user()
    lesson = make_lesson(owner, status="ready")
    store = media_store()
    keys = [storage_keys.lesson_rendition(lesson.id), storage_keys.lesson_derived(lesson.id, "poster.jpg"),
            storage_keys.clip_prefix(lesson.id, 7) + "/video.mp4"]
    for key in keys:
        store.put_bytes(key, b"media")
    services.delete_lesson(owner, lesson)
    assert all(store.exists(key) for key in keys)  # flushed, not committed: nothing is gone yet
    uow.rollback()
    assert all(store.exists(key) for key in keys) and db.session.get(Lesson, lesson.id) is not None
    services.delete_lesson(owner, db.session.get(Lesson, lesson.id))
    uow.commit()
    assert not any(store.exists(key) for key in keys)
    assert db.session.get(Lesson, lesson.id) is None
