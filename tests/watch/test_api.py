"""The watch-session JSON API and page, in-process (the live behaviour is in test_sockets.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def owner_and_lesson(make_user, make_lesson):
    owner = make_user(name="Olivia Owner")
    return owner, make_lesson(owner, title="Fractions, Year 5", status="ready", duration_ms=60000)


def test_anyone_who_may_see_the_lesson_starts_a_session(api_as, owner_and_lesson, make_user, make_mentorship, share):
    owner, lesson = owner_and_lesson
    mentor, viewer, stranger, admin = make_user(), make_user(), make_user(), make_user(admin=True)
    make_mentorship(mentor, owner)
    share(lesson, viewer, "viewer")
    for person in (owner, mentor, viewer):
        response = api_as(person).post(f"/api/v1/lessons/{lesson.id}/watch")
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        assert body["join_url"].endswith(f"/watch/{body['session_id']}") and body["join_url"].startswith("http")
        assert len(body["session_id"]) >= 20 and body["host"]["id"] == person.id and body["active"] is True
        assert body["state"]["playing"] is False and body["presence"] == {"users": []} and body["log"] == []
    for person in (stranger, admin):  # admins do not see recordings unless shared or mentoring
        response = api_as(person).post(f"/api/v1/lessons/{lesson.id}/watch")
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert api_as(owner).post("/api/v1/lessons/999999/watch").status_code == 404
    assert api_as(None).post(f"/api/v1/lessons/{lesson.id}/watch").status_code == 401


def test_a_session_is_invisible_to_people_who_may_not_see_its_lesson(api_as, owner_and_lesson, make_user):
    owner, lesson = owner_and_lesson
    session = api_as(owner).post(f"/api/v1/lessons/{lesson.id}/watch").get_json()
    stranger = api_as(make_user())
    hidden = stranger.get(f"/api/v1/watch/{session['session_id']}")
    missing = stranger.get("/api/v1/watch/no-such-session")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert stranger.post(f"/api/v1/watch/{session['session_id']}/end").status_code == 404
    assert stranger.get(f"/api/v1/lessons/{lesson.id}/watch-sessions").status_code == 404
    assert api_as(owner).get(f"/api/v1/watch/{session['session_id']}").status_code == 200


def test_only_the_host_ends_a_session_and_it_stays_in_the_lessons_history(api_as, owner_and_lesson, make_user, share):
    owner, lesson = owner_and_lesson
    colleague = make_user()
    share(lesson, colleague, "commenter")
    first = api_as(owner).post(f"/api/v1/lessons/{lesson.id}/watch").get_json()
    second = api_as(colleague).post(f"/api/v1/lessons/{lesson.id}/watch").get_json()

    refused = api_as(colleague).post(f"/api/v1/watch/{first['session_id']}/end")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_host"
    ended = api_as(owner).post(f"/api/v1/watch/{first['session_id']}/end")
    assert ended.status_code == 200
    body = ended.get_json()
    assert body["active"] is False and body["ended_at"] and body["state"] is None
    assert [(e["kind"], e["payload"], e["user"]["id"]) for e in body["log"]] == [("end", {"reason": "host"}, owner.id)]
    again = api_as(owner).post(f"/api/v1/watch/{first['session_id']}/end").get_json()
    assert again["ended_at"] == body["ended_at"] and len(again["log"]) == 1

    history = api_as(colleague).get(f"/api/v1/lessons/{lesson.id}/watch-sessions").get_json()
    assert [item["session_id"] for item in history["items"]] == [second["session_id"], first["session_id"]]
    assert [item["active"] for item in history["items"]] == [True, False]
    page = api_as(colleague).get(f"/api/v1/lessons/{lesson.id}/watch-sessions?per_page=1").get_json()
    assert len(page["items"]) == 1 and "page=2" in page["next"]


def test_the_watch_page(browser_client, owner_and_lesson, make_user, api_as):
    owner, lesson = owner_and_lesson
    session = api_as(owner).post(f"/api/v1/lessons/{lesson.id}/watch").get_json()
    path = f"/watch/{session['session_id']}"
    html = browser_client(owner).get(path).get_data(as_text=True)
    for text in ("Fractions, Year 5", 'aria-label="People watching"', "Flag this moment", "Lock controls",
                 "End session", "Copy invite link", 'for="note-body">Note<', "Save note", "js/pages/watch.js"):
        assert text in html, text
    assert "cdn" not in html.lower()
    # (one browser_client per test: the test app context shares `g`, and with it the CSRF token)
    response = api_as(make_user()).get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404 and "text/html" in response.content_type
    assert "Fractions" not in response.get_data(as_text=True)
    anonymous = api_as(None).client.get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_lesson_deletion_takes_its_sessions_along(api_as, owner_and_lesson):
    owner, lesson = owner_and_lesson
    session = api_as(owner).post(f"/api/v1/lessons/{lesson.id}/watch").get_json()
    assert api_as(owner).delete(f"/api/v1/lessons/{lesson.id}").status_code == 204
    assert api_as(owner).get(f"/api/v1/watch/{session['session_id']}").status_code == 404


def test_the_watch_api_is_in_the_openapi_document(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/lessons/{lesson_id}/watch", "/api/v1/watch/{session_id}",
                 "/api/v1/watch/{session_id}/end", "/api/v1/lessons/{lesson_id}/watch-sessions"):
        assert path in paths, path
