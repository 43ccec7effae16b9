"""Every main page at a phone's and a laptop's size: axe-core (vendored) finds no violations, nothing scrolls
sideways, and a mentor's dashboard leads with the mentees' lessons with their status and "new" badge."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_violations
from tests.browser.test_lesson_page_sizes import LAPTOP, PHONE, _ready_lesson

pytestmark = pytest.mark.browser


def _check(page, what):
    found = axe_violations(page)
    assert found == [], f"{what}:\n" + "\n".join(found)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways: {widths}"
    assert page.errors == [], page.errors


def test_main_pages_at_both_sizes(page, live_server, sign_in, media_samples):
    teacher = live_server.make_user(name="Siti Nurhaliza binti Abdullah")
    mentor = live_server.make_user(name="Daniel Lim")
    live_server.mentor(mentor["email"], teacher["email"])
    lesson, teacher_token = _ready_lesson(live_server, media_samples, teacher["email"], "Persuasive writing, lesson 3")
    mentor_token = live_server.token_for(mentor["email"])
    created = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", mentor_token,
                              json={"start_ms": 1000, "body": "Good **hook**", "kind": "strength"})
    assert created.status_code == 201, created.text
    live_server.api("POST", f"/api/v1/annotations/{created.json()['id']}/replies", teacher_token,
                    json={"body": "Thanks!"})
    join_url = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/watch", mentor_token).json()["join_url"]

    for viewport in (PHONE, LAPTOP):
        size = f"{viewport['width']}x{viewport['height']}"
        page.set_viewport_size(viewport)
        page.context.clear_cookies()
        page.goto(live_server.url + "/login")
        _check(page, f"sign-in page at {size}")
        sign_in(page, live_server, mentor["email"])
        headings = page.locator("h2").all_inner_texts()
        assert headings[0] == "My mentees' lessons", headings
        card = page.locator(f"li[data-lesson='{lesson['id']}']")
        assert "reflection received" in card.inner_text()
        assert ("1 new" in card.inner_text()) == (viewport is PHONE)  # the teacher's reply; seen on the first round
        assert "1 feedback comment" in card.inner_text()
        _check(page, f"dashboard at {size}")
        page.goto(live_server.url + "/lessons/new")
        _check(page, f"upload page at {size}")
        page.goto(f"{live_server.url}/lessons/{lesson['id']}")
        page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
        page.locator("#annotation-list li").first.wait_for()
        _check(page, f"lesson page at {size}")
        page.goto(live_server.url + "/")
        assert " new" not in page.locator(f"li[data-lesson='{lesson['id']}']").inner_text()  # seen now
        page.goto(join_url if join_url.startswith("http") else live_server.url + join_url)
        page.wait_for_function("() => document.querySelector('video') && document.querySelector('video').readyState >= 1")
        page.get_by_text("Daniel Lim").first.wait_for()
        _check(page, f"watch page at {size}")
        if viewport is LAPTOP:  # player, timeline and the Flag button in one screen
            flag = page.get_by_role("button", name="Flag this moment").bounding_box()
            assert flag["y"] + flag["height"] <= viewport["height"], flag
        page.goto(live_server.url + "/clips/mine")
        _check(page, f"my clips at {size}")
