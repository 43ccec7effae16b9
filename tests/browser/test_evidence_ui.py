"""In Chromium: a teacher makes a reel of every strength on a criterion from their growth page, and it plays
(the video has a duration, the chapters are listed); a school leader sees the school's chart but no lesson."""

from __future__ import annotations

import pytest

from tests.browser.test_annotations_ui import _ready_lesson
from tests.browser.test_lesson_page_sizes import LAPTOP, PHONE
from tests.browser.test_pages_accessibility import _check

pytestmark = pytest.mark.browser


def test_strengths_reel_from_the_growth_page_and_a_leaders_school_chart(page, live_server, sign_in, media_samples):
    teacher = live_server.make_user(name="Rhea Reel")
    mentor = live_server.make_user(name="Omar Observer")
    live_server.mentor(mentor["email"], teacher["email"])
    first, _token = _ready_lesson(live_server, media_samples, teacher["email"])
    second, _token = _ready_lesson(live_server, media_samples, teacher["email"])
    mentor_token = live_server.token_for(mentor["email"])
    stp = next(f for f in live_server.api("GET", "/api/v1/frameworks", mentor_token).json()["items"]
               if f["slug"] == "stp")
    criteria = live_server.api("GET", f"/api/v1/frameworks/{stp['id']}", mentor_token).json()["criteria"]
    le8 = next(c for c in criteria if c["code"] == "LE.8")
    for lesson, at, words in ((first, 1000, "Waited after asking"), (second, 1500, "Probed the answer")):
        made = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", mentor_token, json={
            "start_ms": at, "body": words, "kind": "strength", "criterion_ids": [le8["id"]]})
        assert made.status_code == 201, made.text

    sign_in(page, live_server, teacher["email"])
    page.goto(f"{live_server.url}/growth")
    form = page.get_by_role("region", name="Evidence reel")
    form.get_by_label("Criterion").select_option(str(le8["id"]))
    form.get_by_label("Reel").select_option("strengths")
    form.get_by_role("button", name="Make evidence reel").click()
    page.wait_for_url("**/reels/*")
    assert "Strengths: LE.8" in page.get_by_role("heading", level=1).inner_text()
    # the page follows the clip jobs and the reel job, then reloads with the video
    video = page.locator("video#clip-video")
    video.wait_for(timeout=240_000)
    page.wait_for_function("() => document.getElementById('clip-video').readyState >= 1"
                           " && document.getElementById('clip-video').duration > 2", timeout=60_000)
    chapters = page.get_by_role("region", name="Chapters").get_by_role("listitem")
    assert chapters.count() == 2
    assert "Waited after asking" in chapters.nth(0).inner_text()
    assert "Probed the answer" in chapters.nth(1).inner_text()
    chapters.nth(1).get_by_role("button").click()
    page.wait_for_function("() => !document.getElementById('clip-video').paused"
                           " || document.getElementById('clip-video').currentTime > 0")
    # the analytics page, with the reel listed, at a phone's and a laptop's size
    for viewport in (PHONE, LAPTOP):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/analytics")
        assert page.get_by_role("img", name="Feedback by kind per month (numbers in the table below)").count() == 1
        assert page.get_by_role("region", name="Evidence reels").get_by_role("link").count() == 1
        _check(page, f"analytics at {viewport['width']}x{viewport['height']}")

    # a school leader: the school's chart, but the lesson itself is not found
    leader = live_server.make_user(name="Lena Leader")
    granted = live_server.api("PUT", f"/api/v1/leaders/{leader['id']}")
    assert granted.status_code == 200, granted.text
    page.context.clear_cookies()
    sign_in(page, live_server, leader["email"])
    page.goto(f"{live_server.url}/analytics/school")
    chart = page.get_by_role("img", name="Feedback by kind per month (numbers in the table below)")
    assert chart.count() == 1
    assert page.get_by_role("table").first.get_by_role("row").count() >= 2
    _check(page, "school analytics")
    answer = page.goto(f"{live_server.url}/lessons/{first['id']}")
    assert answer.status == 404
