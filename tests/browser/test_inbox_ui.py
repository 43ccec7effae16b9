"""The dashboard's "Feedback for me": drawn by the server, then redrawn by inbox.js from
GET /api/v1/clips?for=me when the page comes back into view."""

import pytest

from tests.browser.test_annotations_ui import _ready_lesson

pytestmark = pytest.mark.browser


def test_feedback_for_me_redraws_when_the_dashboard_comes_back_into_view(
        page, new_page, live_server, sign_in, media_samples):
    mentor = live_server.make_user(name="Grace Mentor")
    mentee = live_server.make_user(name="Tom Mentee")
    live_server.mentor(mentor["email"], mentee["email"])
    lesson, mentee_token = _ready_lesson(live_server, media_samples, mentee["email"])
    mentor_token = live_server.token_for(mentor["email"])
    made = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/clips", mentor_token,
                           json={"start_ms": 0, "end_ms": 1500, "title": "Your opening"})
    assert made.status_code == 202, made.text
    clip_id = made.json()["clip"]["id"]

    # the mentor's clip page follows the job, then offers "Send clip"
    sign_in(page, live_server, mentor["email"])
    page.goto(f"{live_server.url}/clips/{clip_id}")
    page.get_by_label("Tom Mentee").check(timeout=120_000)
    page.get_by_label("Message").fill("Look at how the lesson starts")
    page.get_by_role("button", name="Send clip").click()
    page.get_by_text("Sent to Tom Mentee.").first.wait_for()

    learner = new_page()
    sign_in(learner, live_server, mentee["email"])
    inbox = learner.get_by_role("list", name="Feedback for me")
    item = inbox.get_by_role("listitem").filter(has_text="Your opening")
    item.get_by_text("Unread").wait_for()
    assert "From Grace Mentor" in item.inner_text()

    # watched elsewhere (another tab, the phone): the dashboard shows it when it is looked at again
    assert live_server.api("POST", f"/api/v1/clips/{clip_id}/watched", mentee_token).status_code == 200
    learner.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    item.get_by_text("Watched", exact=True).wait_for()
    assert item.get_by_text("Unread").count() == 0
    assert "From Grace Mentor" in item.inner_text() and "Look at how the lesson starts" in item.inner_text()
    assert item.get_by_role("link", name="Your opening").get_attribute("href") == f"/clips/{clip_id}"
    assert page.errors == [] and learner.errors == []
