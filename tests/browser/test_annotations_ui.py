"""A mentor annotates a mentee's lesson in Chromium: the form, markers, the list, tagging hotkeys;
the mentee reads and replies."""

import pytest

from tests.waiting import job_settled

pytestmark = pytest.mark.browser


def _ready_lesson(live_server, media_samples, owner_email):
    token = live_server.token_for(owner_email)
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Annotated lesson"}).json()
    with open(media_samples["h264_aac_mp4"], "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    lesson = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert lesson["status"] == "ready", lesson
    return lesson, token


def test_mentor_annotates_tags_and_mentee_replies(page, new_page, live_server, sign_in, media_samples):
    mentee = live_server.make_user(name="Mentee Teacher")
    mentor = live_server.make_user(name="Mentor Teacher")
    live_server.mentor(mentor["email"], mentee["email"])
    lesson, mentee_token = _ready_lesson(live_server, media_samples, mentee["email"])

    sign_in(page, live_server, mentor["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'")
    page.locator("video").evaluate("v => { v.currentTime = 1.5; }")
    page.get_by_role("button", name="Add annotation").click()
    page.get_by_label("Comment").fill("Clear **model** of the method")
    page.get_by_label("Kind").select_option("strength")
    page.get_by_label("Criteria").fill("R4")
    page.get_by_label("Criteria").press("Enter")  # the picker: type to filter, Enter adds the first match
    page.get_by_label("Rating (optional)").select_option("3")
    page.get_by_role("button", name="Save").click()
    item = page.locator("#annotation-list li", has_text="Clear model")
    item.wait_for()
    assert "Clear model of the method" in item.inner_text() and "Models" in item.inner_text()
    assert page.locator("#timeline-markers .marker").count() == 1

    page.get_by_role("button", name="Tagging mode").click()
    page.locator("h1").click()
    page.locator("video").evaluate("v => { v.currentTime = 2.8; }")
    page.keyboard.press("6")  # Rosenshine: check for understanding
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 2")
    assert page.locator("#timeline-markers .marker").count() == 2
    tagged = live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", mentee_token).json()["items"]
    tag = next(a for a in tagged if a["body"] == "")
    assert tag["criteria"][0]["name"] == "Check for understanding" and 700 <= tag["start_ms"] <= 900

    assert "3/4" in item.inner_text()

    # The list filters by words, kind, criterion and author; the markers follow the filter.
    page.locator("#annotation-filters > summary").click()
    page.get_by_label("Feedback type").select_option("strength")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    assert page.locator("#timeline-markers .marker").count() == 1
    assert page.locator("#filter-count").inner_text() == "Showing 1 of 2."
    page.get_by_label("Feedback type").select_option("")
    page.get_by_label("Tagged with").select_option(label="R6 Check for understanding")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    assert "Check for understanding" in page.locator("#annotation-list li").inner_text()
    page.get_by_label("Tagged with").select_option("")
    page.get_by_label("Search feedback").fill("MODEL")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    page.get_by_label("Search feedback").fill("")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 2")

    page.locator("#annotation-list li", has_text="Clear model").get_by_role("button").first.click()
    page.wait_for_function("() => !document.querySelector('video').paused")
    assert page.locator("video").evaluate("v => v.currentTime") >= 1.4
    assert page.errors == []

    other = new_page()
    sign_in(other, live_server, mentee["email"])
    other.goto(f"{live_server.url}/lessons/{lesson['id']}")
    first = other.locator("#annotation-list li").first
    first.wait_for()
    first.get_by_text("Replies (0)").click()
    other.get_by_label("Your reply").fill("I planned that example the night before.")
    other.get_by_role("button", name="Send reply").click()
    other.get_by_text("Replies (1)").wait_for()
    assert other.errors == []


def test_clicking_anywhere_on_an_annotation_plays_from_its_start(page, live_server, sign_in, media_samples):
    owner = live_server.make_user(name="Owner Teacher")
    lesson, token = _ready_lesson(live_server, media_samples, owner["email"])
    for start_ms, body in ((1000, "Warm welcome at the door"), (2500, "Clear model of the method")):
        assert live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", token,
                               json={"start_ms": start_ms, "body": body, "kind": "strength"}).status_code == 201
    sign_in(page, live_server, owner["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
    video = page.locator("video")
    second = page.locator("#annotation-list li", has_text="Clear model")

    # a click on the item's text (not its time button) plays from the annotation's start
    second.locator(".annotation-meta").click()
    page.wait_for_function("() => { const v = document.querySelector('video'); return !v.paused && v.currentTime >= 2.4; }")
    video.evaluate("v => v.pause()")

    # Enter on the focused item does the same
    first = page.locator("#annotation-list li", has_text="Warm welcome")
    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const v = document.querySelector('video'); "
                           "return !v.paused && v.currentTime >= 0.9 && v.currentTime < 2.4; }")
    video.evaluate("v => { v.pause(); v.currentTime = 0.2; }")
    page.wait_for_function("() => { const v = document.querySelector('video'); return v.paused && !v.seeking; }")

    # a button inside the item does its own thing, and does not play
    second.get_by_role("button", name="Edit", exact=False).first.click()
    page.get_by_label("Comment").wait_for()
    assert page.get_by_label("Comment").input_value() == "Clear model of the method"
    state = video.evaluate("v => ({ paused: v.paused, t: v.currentTime })")
    assert state["paused"] and state["t"] < 0.5
    assert page.errors == []
