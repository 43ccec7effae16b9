"""A person signs in through the real page in Chromium and sees their dashboard."""

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_and_see_the_dashboard(page, live_server, sign_in):
    user = live_server.make_user(name="Farah Ahmad")
    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/login")  # signed out: sent to sign in
    sign_in(page, live_server, user["email"], PASSWORD)
    assert page.get_by_role("heading", name="Hello, Farah Ahmad")  # the full name as stored.is_visible()
    for section in ("My lessons", "Shared with me", "Feedback for me"):
        assert page.get_by_role("heading", name=section).is_visible()
    assert page.get_by_role("link", name="Upload a lesson").first.is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert page.errors == []


def test_wrong_password_stays_on_login_and_says_so(page, live_server):
    user = live_server.make_user()
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Invalid email or password").is_visible()
    assert page.url.startswith(live_server.url + "/login")
    assert page.errors == []


def test_admin_pairs_a_mentor_in_the_browser(page, live_server, sign_in):
    admin = live_server.make_user(name="School Admin", admin=True)
    mentor = live_server.make_user(name="Ms Goh")
    mentee = live_server.make_user(name="Mr Tan")
    sign_in(page, live_server, admin["email"])
    page.get_by_role("link", name="Mentorships").click()
    page.get_by_label("Mentor", exact=True).select_option(label=f"Ms Goh ({mentor['email']})")
    page.get_by_label("Mentee", exact=True).select_option(label=f"Mr Tan ({mentee['email']})")
    page.get_by_role("button", name="Pair").click()
    assert page.get_by_text("Ms Goh now mentors Mr Tan").is_visible()
    page.get_by_role("button", name="End mentorship of Ms Goh with Mr Tan").click()
    assert page.get_by_text("Mentorship ended").is_visible()
    assert page.errors == []
