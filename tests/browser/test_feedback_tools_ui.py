"""In Chromium: an admin imports and edits a school framework on the admin pages; a mentor makes a lesson offer
only that framework, tags with its edited hotkey, reads the summary and prints the feedback."""

import time

import pytest

from tests.browser.test_annotations_ui import _ready_lesson
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SCHOOL = """slug: school-lens-{n}
name: School lens {n}
criteria:
  - code: C
    name: Classroom talk
    color: "#225588"
    children:
      - {{code: C1, name: Wait time, hotkey: "7"}}
      - {{code: C2, name: Cold calling, hotkey: "8"}}
  - code: P
    name: Practice
    children:
      - {{code: P1, name: Mini whiteboards, hotkey: "9"}}
"""


def test_admin_edits_framework_mentor_offers_it_tags_and_prints(page, new_page, live_server, sign_in, media_samples,
                                                                tmp_path):
    n = time.time_ns() % 10**6
    sign_in(page, live_server, "root@school.test", PASSWORD)
    page.get_by_role("link", name="Frameworks").click()
    page.get_by_label("Or paste the document").fill(SCHOOL.format(n=n).replace("hotkey: \"9\"", "hotkey: \"k\""))
    page.get_by_role("button", name="Import").click()
    problems = page.locator("#import-problems")
    assert "hotkey 'k' is taken by the player" in problems.inner_text()  # line-numbered, nothing imported
    assert "line 13" in problems.inner_text()
    page.get_by_label("Or paste the document").fill(SCHOOL.format(n=n))
    page.get_by_role("button", name="Import").click()
    page.get_by_text(f"Imported School lens {n}").wait_for()
    framework = next(f for f in live_server.api("GET", "/api/v1/frameworks").json()["items"]
                     if f["slug"] == f"school-lens-{n}")
    try:
        page.get_by_role("link", name=f"Edit criteria of School lens {n} v1").click()
        page.get_by_label("Name of C2").fill("Cold call, then build")
        page.get_by_label("Hotkey of C2").fill("5")
        page.get_by_label("Hotkey of C1").fill("5")
        page.get_by_role("button", name="Save changes").click()
        assert "also used by" in page.locator(".flash-error").inner_text()
        assert page.get_by_label("Name of C2").input_value() == "Cold call, then build"  # kept after the error
        page.get_by_label("Hotkey of C1").fill("")
        page.get_by_label("Colour of C2").fill("#aa3300")
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text(f"Saved School lens {n}").wait_for()
        c2 = next(c for c in live_server.api("GET", f"/api/v1/frameworks/{framework['id']}").json()["criteria"]
                  if c["code"] == "C2")
        assert (c2["name"], c2["hotkey"], c2["color"]) == ("Cold call, then build", "5", "#aa3300")
        assert page.errors == []

        mentee = live_server.make_user(name="Lens Mentee")
        mentor = live_server.make_user(name="Lens Mentor")
        live_server.mentor(mentor["email"], mentee["email"])
        lesson, mentee_token = _ready_lesson(live_server, media_samples, mentee["email"])
        mp = new_page()
        sign_in(mp, live_server, mentor["email"])
        mp.goto(f"{live_server.url}/lessons/{lesson['id']}")
        mp.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
        assert "all of the school's frameworks" in mp.locator("#frameworks-note").inner_text()
        mp.get_by_role("button", name="Choose frameworks").click()
        dialog = mp.get_by_role("dialog", name="Frameworks for this lesson")
        dialog.get_by_label("Singapore Teaching Practice", exact=False).uncheck()
        dialog.get_by_label("Principles of Instruction", exact=False).uncheck()
        dialog.get_by_label(f"School lens {n}", exact=False).uncheck()
        dialog.get_by_role("button", name="Save").click()
        assert "Choose at least one framework" in dialog.get_by_role("alert").inner_text()
        dialog.get_by_label(f"School lens {n}", exact=False).check()
        dialog.get_by_role("button", name="Save").click()
        mp.wait_for_function(f"() => document.getElementById('frameworks-note').textContent.includes('School lens {n}.')")
        mp.get_by_role("button", name="Add annotation").click()
        mp.get_by_label("Criteria").focus()
        groups = mp.locator("#annotation-criteria-listbox [role=group]")
        assert [g.get_attribute("aria-labelledby") and mp.locator("#" + g.get_attribute("aria-labelledby")).text_content()
                for g in groups.all()] == [f"School lens {n} · Classroom talk", f"School lens {n} · Practice"]
        options = mp.locator("#annotation-criteria-listbox [role=option]").all_inner_texts()
        assert options == ["C Classroom talk", "C1 Wait time", "C2 Cold call, then build", "P Practice", "P1 Mini whiteboards"]
        mp.get_by_role("button", name="Cancel").click()

        mp.get_by_role("button", name="Tagging mode").click()
        buttons = mp.locator("#tagging-panel .tag-button").all_inner_texts()
        assert [" ".join(b.split()) for b in buttons] == ["Wait time", "5 Cold call, then build", "9 Mini whiteboards"]
        mp.locator("h1").click()
        mp.locator("video").evaluate("v => { v.currentTime = 3; }")
        mp.keyboard.press("5")
        mp.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 1")
        mp.keyboard.press("6")  # Rosenshine's key: not offered on this lesson, so nothing happens
        mp.get_by_role("button", name="Tagging mode").click()
        mp.locator("video").evaluate("v => { v.currentTime = 1; }")
        mp.get_by_role("button", name="Add annotation").click()
        mp.get_by_label("Comment").fill("Students had **time to think** before answering")
        mp.get_by_label("Kind").select_option("strength")
        mp.get_by_label("Criteria").fill("wait")
        mp.get_by_label("Criteria").press("Enter")
        mp.get_by_role("button", name="Save").click()
        mp.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 2")
        items = live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", mentee_token).json()["items"]
        assert sorted(c["name"] for a in items for c in a["criteria"]) == ["Cold call, then build", "Wait time"]

        mp.wait_for_function("() => document.getElementById('annotation-summary').textContent.startsWith('2 annotations')")

        # Export to ELAN from the panel, a broken file is refused with its line, the ELAN file imports again.
        before = {a["id"] for a in
                  live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", mentee_token).json()["items"]}
        mp.locator("#annotation-transfer > summary").click()
        with mp.expect_download() as download:
            mp.get_by_role("link", name="ELAN (.eaf)").click()
        eaf = tmp_path / download.value.suggested_filename
        download.value.save_as(eaf)
        assert eaf.suffix == ".eaf" and b"time to think" in eaf.read_bytes()
        broken = tmp_path / "broken.csv"
        broken.write_text("start_ms,end_ms,kind,criteria,rating,visibility,author,body\n1000,,strength,,,shared,,ok\n"
                          "abc,,growth,,,shared,,bad time\n")
        mp.get_by_label("Import annotations from a file").set_input_files(str(broken))
        mp.get_by_role("button", name="Import", exact=True).click()
        mp.locator("#import-status .flash-error").wait_for()
        assert "line 3" in mp.locator("#import-status").inner_text()
        mp.get_by_label("Import annotations from a file").set_input_files(str(eaf))
        mp.get_by_role("button", name="Import", exact=True).click()
        mp.get_by_text("Imported 2 annotations.").wait_for()
        mp.wait_for_function("() => document.querySelectorAll('#annotation-list li').length === 4")
        after = live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/annotations", mentee_token).json()["items"]
        imported = [a for a in after if a["id"] not in before]
        assert sorted((a["start_ms"], a["body"]) for a in imported) == sorted((a["start_ms"], a["body"]) for a in
                                                                               after if a["id"] in before)
        mentor_token = live_server.token_for(mentor["email"])
        for a in imported:
            assert live_server.api("DELETE", f"/api/v1/annotations/{a['id']}", mentor_token).status_code == 204
        mp.reload()
        mp.wait_for_function("() => document.body.dataset.annotationsReady === '1'")
        mp.wait_for_function("() => document.getElementById('annotation-summary').textContent.startsWith('2 annotations')")
        mp.locator("#summary-box > summary").click()
        table = mp.locator("#summary-body table")
        assert f"School lens {n}" in table.locator("caption").inner_text()
        assert "C Classroom talk" in table.inner_text() and "C1 Wait time" in table.inner_text()
        mp.get_by_role("link", name="Printable feedback").click()
        mp.wait_for_url(f"{live_server.url}/lessons/{lesson['id']}/feedback")
        assert mp.get_by_role("heading", name="Strengths").is_visible()
        assert "time to think" in mp.locator("section.report-section.kind-strength").inner_text()
        assert "C Classroom talk" in mp.locator(".criteria-table").inner_text()
        mp.emulate_media(media="print")
        assert not mp.get_by_role("button", name="Print or save as PDF").is_visible()
        assert not mp.locator(".site-header").is_visible()
        pdf = mp.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") >= 1
        mp.emulate_media(media="screen")
        mp.locator(".item-time").first.click()
        mp.wait_for_url(f"{live_server.url}/lessons/{lesson['id']}#t=1")
        mp.wait_for_function("() => Math.abs(document.querySelector('video').currentTime - 1) < 0.3")
        assert mp.errors == []
    finally:
        live_server.api("PATCH", f"/api/v1/frameworks/{framework['id']}", json={"retired": True})
