"""The onboarding pages at a phone's and a laptop's size: forgot password, choose a new password, accept an
invitation, People with a pending invitation, and the CSV import with its check: axe-core finds no violations and
nothing scrolls sideways."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from tests.browser.test_lesson_page_sizes import LAPTOP, PHONE
from tests.browser.test_pages_accessibility import _check

pytestmark = pytest.mark.browser


def test_onboarding_pages_at_both_sizes(page, live_server, sign_in):
    tag = str(time.time_ns() % 10**9)
    admin = live_server.make_user(name="Onboarding Admin", admin=True)
    teacher = live_server.make_user(name="Reset Person")
    reset = live_server.api("POST", f"/api/v1/users/{teacher['id']}/password-reset").json()["url"]
    invite = live_server.api("POST", "/api/v1/invites", json={"email": f"invitee-{tag}@school.test",
                                                              "name": "Invited Person"}).json()["url"]
    csv = (f"email,name,role,mentor_email\r\nnew-{tag}@school.test,New {tag},teacher,{admin['email']}\r\n"
           f"bad-{tag},Bad,teacher,\r\n").encode()
    for viewport in (PHONE, LAPTOP):
        size = f"{viewport['width']}x{viewport['height']}"
        page.set_viewport_size(viewport)
        page.context.clear_cookies()
        page.goto(live_server.url + "/forgot-password")
        _check(page, f"forgot password at {size}")
        page.goto(live_server.url + urlsplit(reset).path)
        page.get_by_label("New password again").wait_for()
        _check(page, f"choose a new password at {size}")
        page.goto(live_server.url + urlsplit(invite).path)
        page.get_by_label("Your name").wait_for()
        _check(page, f"accept an invitation at {size}")
        page.goto(live_server.url + "/reset/not-a-token")
        _check(page, f"a dead link at {size}")
        sign_in(page, live_server, admin["email"])
        page.goto(live_server.url + "/admin/people")
        page.locator("#pending-invites").get_by_text("Invited Person").wait_for()
        _check(page, f"people with a pending invitation at {size}")
        page.goto(live_server.url + "/admin/people/import")
        page.get_by_label("CSV file").set_input_files(
            files=[{"name": "staff.csv", "mimeType": "text/csv", "buffer": csv}])
        page.get_by_role("button", name="Check the file").click()
        page.get_by_text(f"Line 3: 'bad-{tag}' is not an email address.").wait_for()
        _check(page, f"import check at {size}")
