"""Invitations to watch together: the host invites people who may see the lesson; each is notified (in the app,
and by email when they chose it) with a link that joins the session, and the invitation expires when it ends."""

from __future__ import annotations

import pytest

from obsapp.mentoring.models import Notification
from obsapp.watch.models import WatchInvitation


@pytest.fixture
def lesson_with_people(make_user, make_lesson, make_mentorship, share):
    owner = make_user(name="Olivia Owner")
    lesson = make_lesson(owner, title="Fractions, Year 5", status="ready", duration_ms=60000)
    mentor, viewer, stranger = make_user(name="Marcus Mentor"), make_user(name="Vera Viewer"), make_user()
    make_mentorship(mentor, owner)
    share(lesson, viewer, "viewer")
    return owner, lesson, mentor, viewer, stranger


def _start(client, lesson) -> str:
    response = client.post(f"/api/v1/lessons/{lesson.id}/watch")
    assert response.status_code == 201
    return response.get_json()["session_id"]


def test_the_host_invites_people_who_may_see_the_lesson_and_each_is_notified_once(api_as, app, lesson_with_people):
    owner, lesson, mentor, viewer, _ = lesson_with_people
    host = api_as(mentor)
    session_id = _start(host, lesson)

    candidates = host.get(f"/api/v1/watch/{session_id}/invitation-candidates").get_json()["items"]
    assert [(c["name"], c["invited"]) for c in candidates] == [("Olivia Owner", False), ("Vera Viewer", False)]

    response = host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [owner.id, viewer.id]})
    assert response.status_code == 201, response.get_data(as_text=True)
    items = response.get_json()["items"]
    assert [i["user"]["id"] for i in items] == [owner.id, viewer.id]
    assert all(i["expired"] is False and i["invited_by"]["id"] == mentor.id for i in items)
    assert items[0]["url"] == f"/watch/{session_id}/invitation"

    again = host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [owner.id]})
    assert again.status_code == 201
    for person in (owner, viewer):
        notes = api_as(person).get("/api/v1/notifications").get_json()["items"]
        assert [(n["kind"], n["url"], n["read"]) for n in notes] == [
            ("watch", f"/watch/{session_id}/invitation", False)]
        assert notes[0]["title"] == "Marcus Mentor invites you to watch “Fractions, Year 5” together"
    assert api_as(mentor).get("/api/v1/notifications").get_json()["items"] == []
    with app.app_context():
        assert WatchInvitation.query.filter_by(session_id=session_id).count() == 2

    marked = host.get(f"/api/v1/watch/{session_id}/invitation-candidates").get_json()["items"]
    assert [c["invited"] for c in marked] == [True, True]
    assert [i["user"]["id"] for i in host.get(f"/api/v1/watch/{session_id}/invitations").get_json()["items"]] == [
        owner.id, viewer.id]
    mine = api_as(viewer).get("/api/v1/watch-invitations").get_json()["items"]
    assert [(i["session_id"], i["lesson_title"]) for i in mine] == [(session_id, "Fractions, Year 5")]
    own = api_as(viewer).get(f"/api/v1/watch/{session_id}/invitations").get_json()["items"]
    assert [i["user"]["id"] for i in own] == [viewer.id]  # not the host's whole list


def test_only_the_host_invites_and_only_people_who_may_see_the_lesson(api_as, app, lesson_with_people, make_user,
                                                                     share):
    owner, lesson, mentor, viewer, stranger = lesson_with_people
    session_id = _start(api_as(owner), lesson)

    refused = api_as(viewer).post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [mentor.id]})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_host"
    assert api_as(viewer).get(f"/api/v1/watch/{session_id}/invitation-candidates").status_code == 403
    hidden = api_as(stranger).post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [mentor.id]})
    missing = api_as(stranger).post("/api/v1/watch/no-such-session/invitations", json={"user_ids": [mentor.id]})
    assert hidden.status_code == missing.status_code == 404 and hidden.get_json() == missing.get_json()

    inactive = make_user(active=False)
    share(lesson, inactive, "viewer")
    host = api_as(owner)
    for bad in ([stranger.id], [mentor.id, stranger.id], [999999], [owner.id]):
        response = host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": bad})
        assert response.status_code == 422, bad
        body = response.get_json()["error"]
        assert body["code"] == "invalid_input" and body["fields"]["user_ids"]
    assert host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [inactive.id]}).status_code == 422
    for bad in ({}, {"user_ids": []}, {"user_ids": "3"}, {"user_ids": [-1]}, {"user_ids": [mentor.id], "x": 1}):
        response = host.post(f"/api/v1/watch/{session_id}/invitations", json=bad)
        assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_input", bad
    with app.app_context():  # nothing half-saved: the mentor of a refused mixed request was not invited
        assert WatchInvitation.query.filter_by(session_id=session_id).count() == 0
        assert Notification.query.filter_by(kind="watch").count() == 0


def test_an_invitation_joins_the_running_session_and_expires_when_it_ends(api_as, browser_client, lesson_with_people):
    owner, lesson, mentor, viewer, stranger = lesson_with_people
    host = api_as(owner)
    session_id = _start(host, lesson)
    assert host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [viewer.id]}).status_code == 201

    web = browser_client(viewer)
    opened = web.get(f"/watch/{session_id}/invitation")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/watch/{session_id}")
    assert browser_client(mentor).get(f"/watch/{session_id}/invitation").status_code == 404  # not invited
    assert browser_client(stranger).get(f"/watch/{session_id}/invitation").status_code == 404

    listed = web.get("/notifications").get_data(as_text=True)
    assert "invites you to watch" in listed and "expired: the session has ended" not in listed
    assert host.post(f"/api/v1/watch/{session_id}/end").status_code == 200
    assert "expired: the session has ended" in web.get("/notifications").get_data(as_text=True)
    expired = web.get(f"/watch/{session_id}/invitation")
    assert expired.status_code == 410
    assert "This invitation has expired" in expired.get_data(as_text=True)
    assert api_as(viewer).get("/api/v1/watch-invitations").get_json()["items"] == []
    old = api_as(viewer).get("/api/v1/watch-invitations?expired=true").get_json()["items"]
    assert [(i["session_id"], i["expired"]) for i in old] == [(session_id, True)]
    late = host.post(f"/api/v1/watch/{session_id}/invitations", json={"user_ids": [mentor.id]})
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "session_ended"


def test_the_host_sees_the_invitation_form_on_the_watch_page(browser_client, api_as, lesson_with_people):
    owner, lesson, mentor, viewer, _ = lesson_with_people
    session_id = _start(api_as(owner), lesson)
    page = browser_client(owner).get(f"/watch/{session_id}").get_data(as_text=True)
    assert "Invite people to watch" in page and "Marcus Mentor" in page and "Vera Viewer" in page
    guest = browser_client(viewer).get(f"/watch/{session_id}").get_data(as_text=True)
    assert "Invite people to watch" not in guest
