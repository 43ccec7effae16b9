"""In Chromium, on the lesson page: a mentor writes up a tagged moment, deletes a slip, clips an annotation and a
marked span, and joins the clips into a reel; the teacher can hide feedback on their own lesson."""

import pytest

from tests.browser.test_annotations_ui import _ready_lesson

pytestmark = pytest.mark.browser


def test_write_up_clip_and_reel_from_the_lesson_page(page, new_page, live_server, sign_in, media_samples):
    mentee = live_server.make_user(name="Clip Mentee")
    mentor = live_server.make_user(name="Clip Mentor")
    live_server.mentor(mentor["email"], mentee["email"])
    lesson, mentee_token = _ready_lesson(live_server, media_samples, mentee["email"])
    lesson_id = lesson["id"]

    sign_in(page, live_server, mentor["email"])
    page.goto(f"{live_server.url}/lessons/{lesson_id}")
    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
    assert page.locator("#clips-empty").is_visible()

    # Tag two moments while "watching", then write one up and delete the other.
    page.get_by_role("button", name="Tagging mode").click()
    page.locator("h1").click()
    page.locator("video").evaluate("v => { v.currentTime = 2.5; }")
    page.keyboard.press("3")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    page.locator("video").evaluate("v => { v.currentTime = 2.9; }")
    page.keyboard.press("4")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 2")
    page.get_by_role("button", name="Tagging mode").click()

    items = page.locator("#annotation-list li")
    first, second = items.nth(0), items.nth(1)
    assert "to be written up" in first.inner_text()
    first.get_by_role("button", name="Write up").click()
    assert page.locator("#annotation-form-title").inner_text() == "Write up this moment"
    assert page.locator(".picker-chip span").all_inner_texts() == ["R3 Many questions"]
    page.get_by_label("Comment").fill("Six questions in **one minute**, to different pupils")
    page.get_by_label("Kind").select_option("strength")
    page.get_by_role("button", name="Save").click()
    page.locator("#annotation-list li", has_text="Six questions in one minute").wait_for()
    page.once("dialog", lambda d: d.accept())
    second.get_by_role("button", name="Delete").click()
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    stored = live_server.api("GET", f"/api/v1/lessons/{lesson_id}/annotations", mentee_token).json()["items"]
    assert len(stored) == 1 and stored[0]["body"].startswith("Six questions") and stored[0]["kind"] == "strength"
    assert stored[0]["criteria"][0]["code"] == "R3"

    # One click on the annotation's "Make clip" opens the clip dialog with its words as the title.
    page.locator("#annotation-list li").first.get_by_role("button", name="Make clip").click()
    dialog = page.get_by_role("dialog", name="Make a clip")
    assert dialog.get_by_label("Title").input_value().startswith("Six questions in one minute")
    assert dialog.get_by_label("Captions").is_checked()
    dialog.get_by_role("button", name="Make clip").click()
    dialog.get_by_role("link", name="open the clip").wait_for(timeout=120_000)
    dialog.get_by_role("button", name="Close").click()
    page.locator("#clip-list li").first.wait_for()

    # A span marked with I and O becomes a second clip.
    page.locator("h1").click()
    page.locator("video").evaluate("v => { v.currentTime = 0.5; }")
    page.keyboard.press("i")
    page.locator("video").evaluate("v => { v.currentTime = 1.5; }")
    page.keyboard.press("o")
    page.get_by_role("button", name="Cancel").click()  # the annotation form opened; this time we only clip
    page.keyboard.press("i")
    page.locator("video").evaluate("v => { v.currentTime = 2.0; }")
    page.get_by_role("button", name="Clip a span").click()
    dialog = page.get_by_role("dialog", name="Make a clip")
    assert "0:01 – 0:02 (0.5 s)" in dialog.inner_text()
    dialog.get_by_label("Title").fill("Transition")
    dialog.get_by_label("Frame-accurate").uncheck()
    dialog.get_by_label("Intro card").check()
    dialog.get_by_role("button", name="Make clip").click()
    dialog.get_by_role("link", name="open the clip").wait_for(timeout=120_000)
    dialog.get_by_role("button", name="Close").click()
    page.wait_for_function("() => document.querySelectorAll('#clip-list li .badge.ready').length === 2", timeout=60_000)
    clips = live_server.api("GET", f"/api/v1/clips?lesson_id={lesson_id}", mentee_token).json()["items"]
    transition = next(c for c in clips if c["title"] == "Transition")
    assert transition["title_card"] is True and transition["title_card_ms"] >= 1000

    # Tick both, in playing order, and make a reel.
    page.get_by_role("checkbox", name="Transition").check()
    page.get_by_role("checkbox", name="Six questions").check()
    assert "reel position 2" in page.locator("#clip-list li", has_text="Six questions").inner_text()
    page.get_by_label("Reel title").fill("Questioning, week 3")
    page.get_by_role("button", name="Make reel").click()
    page.get_by_role("link", name="open the reel").wait_for(timeout=120_000)
    page.get_by_role("link", name="open the reel").click()
    page.get_by_role("heading", name="Questioning, week 3").wait_for()
    page.get_by_role("link", name="My clips").click()
    mine = page.get_by_role("list", name="My clips")
    mine.get_by_role("checkbox", name="Transition").wait_for()
    assert mine.locator("li").count() == 2 and "Annotated lesson" in mine.inner_text()
    assert page.get_by_role("list", name="My reels").get_by_text("Questioning, week 3").is_visible()
    # a reel made on this page joins "My reels" at once, without a reload
    mine.get_by_role("checkbox", name="Six questions").check()
    page.get_by_label("Reel title").fill("Just the questions")
    page.get_by_role("button", name="Make reel").click()
    page.get_by_role("link", name="open the reel").wait_for(timeout=120_000)
    reels = page.get_by_role("list", name="My reels")
    assert reels.locator("li").first.get_by_text("Just the questions").is_visible()
    assert reels.locator("li").count() == 2
    assert page.errors == []

    # The teacher may hide the mentor's annotation on their own lesson (but not edit it).
    teacher = new_page()
    sign_in(teacher, live_server, mentee["email"])
    teacher.goto(f"{live_server.url}/lessons/{lesson_id}")
    teacher.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
    item = teacher.locator("#annotation-list li").first
    assert item.get_by_role("button", name="Edit").count() == 0
    item.get_by_role("button", name="Hide", exact=False).click()
    teacher.wait_for_function("() => document.querySelector('#annotation-list li').textContent.includes('hidden')")
    assert teacher.locator("#clip-list li").count() == 2

    # The teacher makes face blurring the default for everything that leaves this lesson.
    teacher.get_by_role("button", name="Edit details").click()
    teacher.get_by_label("Blur faces in every clip and reel made from this lesson").check()
    teacher.get_by_role("dialog", name="Lesson details").get_by_role("button", name="Save").click()
    teacher.get_by_text("Lesson details saved.").wait_for()
    assert live_server.api("GET", f"/api/v1/lessons/{lesson_id}", mentee_token).json()["blur_faces_default"] is True
    page.goto(f"{live_server.url}/lessons/{lesson_id}")
    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
    page.get_by_role("button", name="Clip a span").click()
    blur = page.get_by_role("dialog", name="Make a clip").get_by_label("Blur faces")
    assert blur.is_checked() and blur.is_disabled()
    assert teacher.errors == []
