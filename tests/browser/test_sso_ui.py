"""Single sign-on in Chromium: the login page offers "Sign in with School Account" beside the password form (axe
finds nothing serious), the button leads to a real OIDC provider process (tests/servers/oidc.py), signing in
there lands on the dashboard; a refused sign-in comes back to the login page with a readable message."""

from __future__ import annotations

import pytest

from tests.browser.axe import axe_violations
from tests.servers.oidc import LABEL

pytestmark = pytest.mark.browser


def _at_provider(page, site, username: str) -> None:
    page.wait_for_url(site.provider.issuer + "/authorize*")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("provider-pw")
    page.get_by_role("button", name="Continue").click()


@pytest.mark.parametrize("size", [{"width": 1366, "height": 800}, {"width": 390, "height": 844}])
def test_sign_in_with_the_school_account_lands_on_the_dashboard(page, sso_site, size):
    page.set_viewport_size(size)
    page.goto(sso_site.url + "/login")
    button = page.get_by_role("link", name=f"Sign in with {LABEL}")
    assert button.is_visible()
    assert page.get_by_role("button", name="Sign in", exact=True).is_visible()  # the password form stays
    assert axe_violations(page, impacts=("serious", "critical")) == []
    button.click()
    _at_provider(page, sso_site, "ann")
    page.wait_for_url(sso_site.url + "/")
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.get_by_role("link", name="Ann Lee").is_visible()  # the header names the signed-in person
    assert page.errors == []


def test_a_refused_sign_in_says_why_on_the_login_page(page, sso_site):
    page.goto(sso_site.url + "/login")
    page.get_by_role("link", name=f"Sign in with {LABEL}").click()
    _at_provider(page, sso_site, "stan")
    page.wait_for_url(sso_site.url + "/login/sso/**")
    alert = page.get_by_role("alert")
    assert "There is no obsapp account for stan@school.test" in alert.inner_text()
    assert page.get_by_role("link", name=f"Sign in with {LABEL}").is_visible()  # try again, or use the password
    assert axe_violations(page, impacts=("serious", "critical")) == []


def test_changing_the_password_signs_out_the_other_browser(page, new_page, sso_site):
    from tests.servers.oidc import PASSWORD

    other = new_page()
    for browser_page in (page, other):  # the same person signed in in two browsers, with the school account
        browser_page.goto(sso_site.url + "/login")
        browser_page.get_by_role("link", name=f"Sign in with {LABEL}").click()
        _at_provider(browser_page, sso_site, "otto")
        browser_page.wait_for_url(sso_site.url + "/")
    page.goto(sso_site.url + "/account/tokens")
    page.get_by_role("link", name="Change your password").click()
    page.wait_for_url(sso_site.url + "/account/password")
    assert axe_violations(page, impacts=("serious", "critical")) == []
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a new passphrase for otto")
    page.get_by_label("New password again").fill("a new passphrase for otto")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(sso_site.url + "/account/tokens")
    assert page.get_by_text("You are signed out everywhere else").is_visible()
    other.goto(sso_site.url + "/")
    assert other.url.startswith(sso_site.url + "/login"), other.url  # the other browser is signed out
    page.goto(sso_site.url + "/")
    assert page.url == sso_site.url + "/"  # this one stays
