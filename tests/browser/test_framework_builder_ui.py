"""An admin builds a framework in the field-by-field builder with the keyboard only (two processes, four
criteria, live checks of codes and hotkeys, a preview), at a phone's and a laptop's size with axe-core finding
nothing; a mentor then tags an annotation with two of its criteria, by keyboard too."""

from __future__ import annotations

import time

import pytest

from tests.browser.axe import axe_violations
from tests.browser.test_lesson_page_sizes import ARTIFACTS, _open_lesson, _ready_lesson

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}


def _accessible(page, what):
    found = axe_violations(page)
    assert found == [], f"{what}:\n" + "\n".join(found)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways: {widths}"


def _focused(page) -> str:
    return page.evaluate("() => document.activeElement.id")


def _press_button(page, element_id):
    """Move the focus to a button the way Tab would, and press Enter on it (no click)."""
    page.locator(f"#{element_id}").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _checked(page, before: int):
    page.wait_for_function("(n) => Number(document.getElementById('builder').dataset.checked || 0) > n", arg=before)


def _checks(page) -> int:
    return int(page.locator("#builder").get_attribute("data-checked") or 0)


def _type_fields(page, first_id, values):
    """Focus the first field, then type each value and Tab to the next field."""
    page.locator(f"#{first_id}").focus()
    for n, value in enumerate(values):
        page.keyboard.type(value)
        if n < len(values) - 1:
            page.keyboard.press("Tab")


def test_admin_builds_a_framework_by_keyboard_and_a_mentor_tags_with_it(page, live_server, sign_in,
                                                                        media_samples):
    slug = f"school-rubric-{time.time_ns() % 10**6}"
    admin = live_server.make_user(name="Aisha Admin", admin=True)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, admin["email"])
    page.goto(live_server.url + "/admin/frameworks")
    page.get_by_role("link", name="Build a new framework").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/admin/frameworks/new")
    _accessible(page, "the builder at 390x844")

    _type_fields(page, "f-name", ["Our school rubric", slug, "What we look for in lessons."])
    assert _focused(page) == "f-description"
    _type_fields(page, "f-p0-code", ["PL", "Planning"])
    # the first criterion: a reserved key is refused as one types, by the server's own rule
    before = _checks(page)
    _type_fields(page, "f-p0-c0-code", ["PL.1", "Clear objectives", "a"])
    _checked(page, before)
    error = page.locator("#err-p0-c0-hotkey")
    assert error.is_visible() and "taken by the player" in error.inner_text()
    assert page.locator("#f-p0-c0-hotkey").get_attribute("aria-invalid") == "true"
    assert "taken by the player" in page.locator("#builder-status").inner_text()  # the polite live region
    before = _checks(page)
    page.keyboard.press("Backspace")
    page.keyboard.type("m")
    _checked(page, before)
    assert error.is_hidden() and page.locator("#f-p0-c0-hotkey").get_attribute("aria-invalid") is None

    _press_button(page, "add-criterion-0")  # a round trip; the focus lands in the new criterion's code
    assert _focused(page) == "f-p0-c1-code"
    assert "Added criterion 2 to process 1." in page.locator("#builder-status").inner_text()
    before = _checks(page)
    for value in ("PL.1", "Tab", "Resources chosen"):
        page.keyboard.press("Tab") if value == "Tab" else page.keyboard.type(value)
    _checked(page, before)
    assert "PL.1 is already used" in page.locator("#err-p0-c1-code").inner_text()  # duplicate code, live
    page.locator("#f-p0-c1-code").focus()
    page.keyboard.press("End")
    page.keyboard.press("Backspace")
    page.keyboard.type("2")

    _press_button(page, "add-process")
    assert _focused(page) == "f-p1-code"
    page.keyboard.type("EN")
    page.keyboard.press("Tab")
    page.keyboard.type("Enactment")
    _press_button(page, "add-criterion-1")
    page.keyboard.type("EN.1")
    page.keyboard.press("Tab")
    page.keyboard.type("Checking understanding")
    _press_button(page, "add-criterion-1")
    page.keyboard.type("EN.2")
    page.keyboard.press("Tab")
    page.keyboard.type("Questions that probe")
    page.keyboard.press("Tab")
    page.keyboard.type("n")
    # reorder by keyboard: EN.2 goes first, and the focus follows it
    _press_button(page, "up-criterion-1-1")
    assert "Moved criterion EN.2 Questions that probe to place 1 in process 2." in \
        page.locator("#builder-status").inner_text()
    assert _focused(page) == "down-criterion-1-0"
    preview = page.locator("#builder-preview")
    assert preview.locator("li li").all_inner_texts() == ["PL.1 Clear objectives M", "PL.2 Resources chosen",
                                                         "EN.2 Questions that probe N", "EN.1 Checking understanding"]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "framework-builder-390x844.png"), full_page=True)
    page.set_viewport_size(LAPTOP)
    _accessible(page, "the builder at 1366x800, filled in")
    page.screenshot(path=str(ARTIFACTS / "framework-builder-1366x800.png"))
    _press_button(page, "save")
    page.wait_for_url(live_server.url + "/admin/frameworks")
    assert "Saved Our school rubric (version 1, 6 criteria)." in page.locator(".flashes").inner_text()
    framework = next(f for f in live_server.api("GET", "/api/v1/frameworks").json()["items"] if f["slug"] == slug)
    assert [(c["code"], c["hotkey"], c["parent_id"] is None) for c in framework["criteria"]] == [
        ("PL", None, True), ("PL.1", "m", False), ("PL.2", None, False),
        ("EN", None, True), ("EN.2", "n", False), ("EN.1", None, False)]
    assert page.errors == []
    try:
        _mentor_tags_with(page, live_server, sign_in, media_samples, framework)
    finally:  # the live server is shared: other tests count the school's active frameworks
        live_server.api("PATCH", f"/api/v1/frameworks/{framework['id']}", json={"retired": True})


def _mentor_tags_with(page, live_server, sign_in, media_samples, framework):
    # a mentor tags an annotation with two of the new criteria, keys only
    teacher = live_server.make_user(name="Nur Aini")
    mentor = live_server.make_user(name="Ravi Kumar")
    live_server.mentor(mentor["email"], teacher["email"])
    lesson, teacher_token = _ready_lesson(live_server, media_samples, teacher["email"], "Ratios")
    chosen = live_server.api("PUT", f"/api/v1/lessons/{lesson['id']}/frameworks", teacher_token,
                             json={"framework_ids": [framework["id"]]})
    assert chosen.status_code == 200, chosen.text
    page.context.clear_cookies()
    sign_in(page, live_server, mentor["email"])
    _open_lesson(page, live_server, lesson["id"])
    page.locator("video").evaluate("v => { v.currentTime = 1.5; }")
    page.locator("h1").click()  # the focus on the page, not in a field
    page.keyboard.press("a")
    assert _focused(page) == page.get_by_label("Comment").get_attribute("id")
    page.keyboard.type("Objectives on the board, then a probing question")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page) == "annotation-criteria"
    page.keyboard.type("PL.1")
    page.keyboard.press("Enter")
    page.keyboard.type("probe")
    page.keyboard.press("Enter")
    assert page.locator(".picker-chip span").all_inner_texts() == ["PL.1 Clear objectives",
                                                                   "EN.2 Questions that probe"]
    page.keyboard.press("Control+Enter")
    page.locator("#annotation-list li", has_text="probing question").wait_for()
    items = live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", teacher_token).json()["items"]
    assert sorted(c["code"] for c in items[0]["criteria"]) == ["EN.2", "PL.1"]
    by_code = {c["code"]: c["id"] for c in framework["criteria"]}
    assert sorted(c["id"] for c in items[0]["criteria"]) == sorted([by_code["PL.1"], by_code["EN.2"]])
    assert page.errors == []
