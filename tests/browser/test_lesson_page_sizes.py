"""The lesson page as a mentor and a teacher use it, on a phone (390x844) and a laptop (1280x800): the layout
rule of the contract, tap targets, the keyboard-only annotation with two criteria, replies that stay open,
reserved keys, the key map, toasts that move nothing, and axe-core with no violations. Screenshots of the
lesson page at both sizes are saved as artefacts (OBSAPP_TEST_ARTIFACTS, default test-artifacts/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.axe import axe_violations
from tests.waiting import job_settled

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
ARTIFACTS = Path(os.environ.get("OBSAPP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def _ready_lesson(live_server, media_samples, owner_email, title):
    token = live_server.token_for(owner_email)
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": title, "description": "Fractions."}).json()
    with open(media_samples["h264_aac_mp4"], "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    lesson = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert lesson["status"] == "ready", lesson
    return lesson, token


def _open_lesson(page, live_server, lesson_id):
    page.goto(f"{live_server.url}/lessons/{lesson_id}")
    page.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'")
    page.wait_for_function("() => document.body.dataset.annotationsReady === '1'")


def _no_sideways_scroll(page):
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths[0]} px of content in {widths[1]} px"


def _small_tap_targets(page, root: str) -> list[str]:
    """Visible controls under `root` smaller than 44 px in height (markers on the timeline excepted)."""
    return page.evaluate("""(root) => [...document.querySelectorAll(root)].flatMap(r =>
        [...r.querySelectorAll('button, a.button, select, input:not([type=checkbox]):not([type=radio]), summary')])
        .filter(e => !e.closest('.marker, .timeline-markers') && e.offsetParent !== null)
        .filter(e => e.getBoundingClientRect().height < 44)
        .map(e => `${e.tagName.toLowerCase()} "${(e.getAttribute('aria-label') || e.textContent).trim().slice(0, 40)}"`
                  + ` ${Math.round(e.getBoundingClientRect().height)}px`)""", root)


def _annotate_by_keyboard(page, body):
    """Only keys: A opens the form at the playhead, Tab moves, the picker takes two criteria, Ctrl+Enter saves."""
    page.locator("h1").click()  # the focus on the page, not in a field
    page.keyboard.press("a")
    comment = page.get_by_label("Comment")
    assert comment.evaluate("e => e === document.activeElement")
    page.keyboard.type(body)
    page.keyboard.press("Tab")  # Kind
    assert page.evaluate("() => document.activeElement.id") == "annotation-kind"
    page.keyboard.press("Tab")  # Criteria
    assert page.evaluate("() => document.activeElement.id") == "annotation-criteria"
    page.keyboard.type("R4")
    page.keyboard.press("Enter")
    page.keyboard.type("r6 check")
    page.keyboard.press("ArrowDown")  # the first match is active already; Down wraps to it again (one match)
    page.keyboard.press("Enter")
    page.keyboard.type("R9")
    page.keyboard.press("Enter")
    page.keyboard.press("Backspace")  # Backspace in the empty field removes the last chip (R9)
    assert page.locator(".picker-chip span").all_inner_texts() == ["R4 Models", "R6 Check for understanding"]
    page.keyboard.press("Control+Enter")
    page.locator("#annotation-list li", has_text=body).wait_for()
    assert page.locator("#annotation-form").is_hidden()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_lesson_page_by_keyboard_and_layout(size, page, new_page, live_server, sign_in, media_samples):
    viewport = PHONE if size == "phone" else LAPTOP
    teacher = live_server.make_user(name="Tan Mei Ling")
    mentor = live_server.make_user(name="Daniel Lim")
    live_server.mentor(mentor["email"], teacher["email"])
    lesson, teacher_token = _ready_lesson(live_server, media_samples, teacher["email"], f"Fractions on a {size}")

    page.set_viewport_size(viewport)
    sign_in(page, live_server, mentor["email"])
    _open_lesson(page, live_server, lesson["id"])

    # the key map on "?" names the reserved keys and Ctrl+Enter
    page.locator("h1").click()
    page.keyboard.press("Shift+?")
    keymap = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert keymap.is_visible() and "Ctrl" in keymap.inner_text() and "A, I, O, F" in keymap.inner_text()
    page.keyboard.press("Escape")

    # tagging mode: a criterion key tags; A still opens the annotation form (STP's LP.6 no longer has it)
    page.get_by_role("button", name="Tagging mode").click()
    page.locator("h1").click()
    page.keyboard.press("6")
    page.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
    page.keyboard.press("a")
    assert page.get_by_label("Comment").evaluate("e => e === document.activeElement")
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Tagging mode").click()
    assert len(live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", teacher_token).json()["items"]) == 1

    page.locator("video").evaluate("v => { v.currentTime = 1.5; }")
    _annotate_by_keyboard(page, f"Worked example on the board ({size})")
    items = live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", teacher_token).json()["items"]
    written = next(a for a in items if a["body"].startswith("Worked example"))
    assert sorted(c["code"] for c in written["criteria"]) == ["R4", "R6"]

    # a toast says so without moving the video
    video_top = page.locator("video").evaluate("v => v.getBoundingClientRect().top + window.scrollY")
    assert page.locator("#live-region").get_by_text("Annotation saved.").is_visible()
    assert page.locator("#live-region").count() == 1 and page.locator(".flashes").count() == 0
    assert page.locator("video").evaluate("v => v.getBoundingClientRect().top + window.scrollY") == video_top

    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    player = page.locator("video").bounding_box()
    first_item = page.locator("#annotation-list li").first.bounding_box()
    if size == "phone":
        # the contract's rule: the first feedback item starts within 420 px below the player
        assert first_item["y"] - (player["y"] + player["height"]) <= 420, (player, first_item)
        assert _small_tap_targets(page, ".lesson-header, .lesson-side") == []
        assert page.locator("#lesson-tools-fold").evaluate("d => !d.open")  # clip tools folded away
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_timeout(200)
        assert page.locator("video").bounding_box()["y"] == pytest.approx(0, abs=2)  # the player stays on top
        page.evaluate("() => window.scrollTo(0, 0)")
    else:
        # player, timeline and the feedback panel's buttons fit in one laptop screen, feedback beside the player
        timeline = page.locator("#timeline").bounding_box()
        assert timeline["y"] + timeline["height"] <= viewport["height"], timeline
        assert page.get_by_role("button", name="Add annotation").bounding_box()["y"] < viewport["height"]
        assert first_item["x"] > player["x"] + player["width"]
        # the summary shows every kind, so that "All" adds up
        page.locator("#summary-box > summary").click()
        table = page.locator(".summary-table").first
        assert table.locator("thead th").all_inner_texts()[:6] == ["Criterion", "Strengths", "Growth", "Questions", "Notes", "All"]
        page.locator("#summary-box > summary").click()
    _no_sideways_scroll(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lesson-page-{viewport['width']}x{viewport['height']}.png"))
    found = axe_violations(page)
    assert found == [], "\n".join(found)

    # the teacher replies: the thread stays open with the reply shown and focused; Ctrl+Enter sends
    other = new_page()
    other.set_viewport_size(viewport)
    sign_in(other, live_server, teacher["email"])
    _open_lesson(other, live_server, lesson["id"])
    item = other.locator("#annotation-list li", has_text="Worked example")
    item.locator("summary", has_text="Replies (0)").click()
    item.get_by_label("Your reply").fill("Thank you, I will use two examples next time.")
    item.get_by_label("Your reply").press("Control+Enter")
    reply = item.locator(".reply", has_text="two examples next time")
    reply.wait_for()
    assert item.locator("details.replies").evaluate("d => d.open")
    assert reply.evaluate("e => e === document.activeElement")
    assert item.locator("summary").inner_text() == "Replies (1)"
    assert item.get_by_label("Your reply").input_value() == ""
    _no_sideways_scroll(other)
    found = axe_violations(other)
    assert found == [], "\n".join(found)
    assert page.errors == [] and other.errors == []
