"""Annotations made on a watched lesson reach the people watching it, live (needs the annotations API)."""

from __future__ import annotations

import pytest

from tests.watch.conftest import ready_lesson, start_session


@pytest.fixture
def annotations_api(watch_server):
    paths = watch_server.api("GET", "/api/v1/openapi.json").json()["paths"]
    if not any(path.startswith("/api/v1/lessons/{") and path.endswith("}/annotations") and "post" in spec
               for path, spec in paths.items()):
        pytest.skip("this build has no annotations API yet")


def test_annotations_made_while_watching_arrive_live_and_are_logged(
        annotations_api, make_person, connect, media_samples):
    owner, mentor, viewer = make_person("Olivia Owner"), make_person("Marcus Mentor"), make_person("Vera Viewer")
    lesson = ready_lesson(owner, media_samples["h264_aac_mp4"], "Phonics, Year 1")
    for person, role in ((mentor, "commenter"), (viewer, "viewer")):
        assert owner.api("POST", f"/api/v1/lessons/{lesson['id']}/shares",
                         json={"user_id": person.id, "role": role}).status_code == 201
    session = start_session(owner, lesson["id"])
    watchers = {person.name: connect(person) for person in (owner, mentor, viewer)}
    for watcher in watchers.values():
        assert watcher.join(session["session_id"])["ok"]

    created = mentor.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations",
                         json={"start_ms": 1500, "body": "Clear modelling of the sound.", "kind": "note"})
    assert created.status_code == 201, created.text
    for watcher in watchers.values():
        message = watcher.wait_for("annotation", lambda m: m["annotation"].get("id") == created.json()["id"])
        assert message["event"] == "annotation.created"
        assert message["annotation"]["body"] == "Clear modelling of the sound."
        assert message["annotation"]["start_ms"] == 1500

    private = mentor.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations",
                         json={"start_ms": 2000, "body": "Ask her about this.", "kind": "question",
                               "visibility": "private"})
    assert private.status_code == 201, private.text
    watchers["Marcus Mentor"].wait_for("annotation", lambda m: m["annotation"].get("id") == private.json()["id"])
    for name in ("Olivia Owner", "Vera Viewer"):  # a private annotation stays with its author
        # it went out before its author got it: a round trip of their own flushes anything sent their way
        assert watchers[name].call("time", {"client_time_ms": 0})["ok"]
        assert all(m["annotation"].get("id") != private.json()["id"] for m in watchers[name].received("annotation"))

    log = owner.api("GET", f"/api/v1/watch/{session['session_id']}").json()["log"]
    notes = [e for e in log if e["kind"] == "note"]
    assert notes and notes[0]["user"]["name"] == "Marcus Mentor" and notes[0]["at_ms"] == 1500
    assert notes[0]["payload"]["annotation_id"] == created.json()["id"]
