"""In Chromium: a mentor turns a span annotation into a captioned, face-blurred clip with one click on the
lesson page and sends it; the mentee finds it under "Feedback for me", plays it
(marked watched), reflects and marks it reviewed; the mentor sees that."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.waiting import job_settled

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def wait_ready(live_server, path, token):
    """The item once its job has settled (ready or failed), however long a busy machine takes."""
    return job_settled(lambda: live_server.api("GET", path, token).json())


def test_feedback_clip_from_mentor_to_mentee(page, new_page, live_server, sign_in, face_sample):
    mentor = live_server.make_user(name="Grace Mentor")
    mentee = live_server.make_user(name="Tom Mentee")
    live_server.mentor(mentor["email"], mentee["email"])
    mentee_token, mentor_token = live_server.token_for(mentee["email"]), live_server.token_for(mentor["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", mentee_token, json={"title": "Space science P5"}).json()
    with open(face_sample, "rb") as handle:
        uploaded = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", mentee_token,
                                   files={"file": ("lesson.mp4", handle, "video/mp4")})
    assert uploaded.status_code == 202, uploaded.text
    assert wait_ready(live_server, f"/api/v1/lessons/{lesson['id']}", mentee_token)["status"] == "ready"
    made = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", mentor_token, json={
        "start_ms": 200, "end_ms": 1800, "body": "Class leans in", "kind": "strength"})
    assert made.status_code == 201, made.text
    annotation_id = made.json()["id"]

    # The mentor opens the lesson, and one click on the span annotation's "Make clip" opens the clip dialog.
    sign_in(page, live_server, mentor["email"], PASSWORD)
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
    page.locator("#annotation-list li", has_text="Class leans in").get_by_role("button", name="Make clip").click()
    dialog = page.get_by_role("dialog", name="Make a clip")
    assert dialog.get_by_label("Title").input_value() == "Class leans in"
    assert dialog.get_by_label("Frame-accurate").is_checked()
    dialog.get_by_label("Captions").check()
    dialog.get_by_label("Blur faces").check()
    dialog.get_by_role("button", name="Make clip").click()
    dialog.get_by_role("link", name="open the clip").wait_for(timeout=120_000)
    dialog.get_by_label("Tom Mentee").check()
    dialog.get_by_label("Message").fill("Watch the pupils' faces… or rather, don't!")
    dialog.get_by_role("button", name="Send clip").click()
    dialog.get_by_text("Sent to Tom Mentee.").wait_for()
    clip_url = dialog.get_by_role("link", name="open the clip").get_attribute("href")
    dialog.get_by_role("button", name="Close").click()
    clip_id = int(clip_url.rstrip("/").split("/")[-1])
    clip = live_server.api("GET", f"/api/v1/clips/{clip_id}", mentor_token).json()
    assert clip["blur_faces"] and clip["captions"] and clip["status"] == "ready"
    assert clip["annotation_id"] == annotation_id

    # The mentee sees it under "Feedback for me", plays it, reflects and marks it reviewed.
    learner = new_page()
    sign_in(learner, live_server, mentee["email"], PASSWORD)
    inbox = learner.get_by_role("list", name="Feedback for me")
    assert inbox.get_by_text("Unread").is_visible() and inbox.get_by_text("Grace Mentor").is_visible()
    inbox.get_by_role("link", name="Class leans in").click()
    learner.wait_for_url(f"**/clips/{clip_id}")
    assert learner.get_by_role("heading", name="Class leans in").is_visible()
    assert learner.locator("video track[kind=captions]").count() == 1
    learner.evaluate("document.querySelector('video').play()")
    learner.get_by_text("Watched on").wait_for()
    learner.get_by_label("Your reflection").fill("I will pause longer after questions.")
    learner.get_by_role("button", name="Reflect").click()
    learner.get_by_text("I will pause longer after questions.").wait_for()
    learner.get_by_role("button", name="Mark as reviewed").click()
    learner.get_by_text("You marked it reviewed").wait_for()
    learner.goto(live_server.url + "/")
    assert learner.get_by_role("list", name="Feedback for me").get_by_text("Reviewed").is_visible()

    # The mentor sees who watched and reviewed it.
    page.goto(live_server.url + clip_url)
    row = page.locator("#deliveries li", has_text="Tom Mentee")
    row.wait_for()
    facts = row.locator(".badge").all_inner_texts()
    assert facts[0].startswith("Watched ") and facts[1] == "1 reflection" and facts[2].startswith("Reviewed "), facts
    box, card = row.bounding_box(), page.locator("#deliveries").bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 1  # it fits its card
    assert page.errors == [] and learner.errors == []
