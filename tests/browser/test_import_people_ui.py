"""An admin imports people and mentorships from a CSV file in Chromium: a file with a wrong line shows it by
number and offers no Import; the fixed file's check lists what would change, then Import does it."""

from __future__ import annotations

import time

import pytest

from tests.browser.axe import axe_violations

pytestmark = pytest.mark.browser


def _csv(tag: str, bad: bool) -> bytes:
    lines = ["email,name,role,mentor_email",
             f"mentor-{tag}@school.test,Mentor {tag},mentor,",
             f"teacher-{tag}@school.test,Teacher {tag},teacher,mentor-{tag}@school.test"]
    if bad:
        lines.append(f"teacher-{tag}@school.test,Twice,teacher,")
    return ("\r\n".join(lines) + "\r\n").encode()


def test_csv_check_then_import(page, live_server, sign_in):
    tag = str(time.time_ns() % 10**9)
    admin = live_server.make_user(name="Import Admin", admin=True)
    sign_in(page, live_server, admin["email"])
    page.goto(live_server.url + "/admin/people")
    page.get_by_role("link", name="Import people and mentorships from a CSV file").click()
    page.wait_for_url("**/admin/people/import")

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": _csv(tag, bad=True)}])
    page.get_by_role("button", name="Check the file").click()
    assert page.get_by_text(f"Line 4: teacher-{tag}@school.test is already on line 3.").is_visible()
    assert page.get_by_role("button", name="Import").count() == 0

    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": _csv(tag, bad=False)}])
    page.get_by_role("button", name="Check the file").click()
    assert page.get_by_text("2 to create, 0 unchanged, 1 mentorships to add.").is_visible()
    assert axe_violations(page, impacts=("serious", "critical")) == []
    people = live_server.api("GET", f"/api/v1/users?q={tag}").json()["items"]
    assert people == []  # the check changed nothing

    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url("**/admin/people")
    assert page.get_by_text("Imported: 2 people invited (0 by email), 1 mentorships added.").is_visible()
    assert page.locator("#pending-invites").get_by_text(f"Teacher {tag}").is_visible()
    mentorships = live_server.api("GET", "/api/v1/mentorships").json()["items"]
    assert any(m["mentor"]["email"] == f"mentor-{tag}@school.test"
               and m["mentee"]["email"] == f"teacher-{tag}@school.test" for m in mentorships)
    assert page.errors == [] and page.csp_violations == []
