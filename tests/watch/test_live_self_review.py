"""Watching together during an observation cycle's self-review first: the mentor's new annotation is pushed live
only to those who may see it (not to the mentee, until both reviews are done)."""

from __future__ import annotations

from tests.watch.conftest import ready_lesson, start_session


def test_a_held_back_annotation_is_not_pushed_to_the_mentee(watch_server, make_person, connect, media_samples):
    mentee, mentor, colleague = make_person("Mia Mentee"), make_person("Max Mentor"), make_person("Cal Colleague")
    watch_server.mentor(mentor.email, mentee.email)
    lesson = ready_lesson(mentee, media_samples["h264_aac_mp4"], "Place value, Year 3")
    assert mentee.api("POST", f"/api/v1/lessons/{lesson['id']}/shares",
                      json={"user_id": colleague.id, "role": "viewer"}).status_code == 201
    cycle = mentor.api("POST", "/api/v1/cycles", json={"mentee_id": mentee.id, "lesson_id": lesson["id"]})
    assert cycle.status_code == 201, cycle.text
    session = start_session(mentee, lesson["id"])
    watchers = {person.name: connect(person) for person in (mentee, mentor, colleague)}
    for watcher in watchers.values():
        assert watcher.join(session["session_id"])["ok"]

    held = mentor.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations",
                      json={"start_ms": 1000, "body": "Wait longer after asking.", "kind": "growth"})
    assert held.status_code == 201, held.text
    for name in ("Max Mentor", "Cal Colleague"):
        watchers[name].wait_for("annotation", lambda m: m["annotation"].get("id") == held.json()["id"])
    # a round trip of the mentee's own flushes anything that was sent their way
    assert watchers["Mia Mentee"].call("time", {"client_time_ms": 0})["ok"]
    assert all(m["annotation"].get("id") != held.json()["id"] for m in watchers["Mia Mentee"].received("annotation"))

    own = mentee.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations",
                     json={"start_ms": 1500, "body": "I rushed this.", "kind": "note"})
    assert own.status_code == 201, own.text
    for watcher in watchers.values():  # the mentee's self-review is not hidden (the cycle is not blind)
        watcher.wait_for("annotation", lambda m: m["annotation"].get("id") == own.json()["id"])
