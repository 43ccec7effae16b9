"""Single sign-on through OpenID Connect, end to end: a real `obsapp serve` and a real OIDC provider process
(tests/servers/oidc.py, Authlib's server side), driven by an HTTP client that follows every redirect."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.servers.oidc import LABEL, PROVIDER_NAME

pytestmark = pytest.mark.slow


def _login_page(site, session: requests.Session, next_path: str | None = None) -> str:
    answer = session.get(site.url + "/login", params={"next": next_path} if next_path else None, timeout=30)
    assert answer.status_code == 200
    return answer.text


def _start(site, session: requests.Session, next_path: str | None = None) -> requests.Response:
    """Click "Sign in with ...": follow the link from the login page to the provider's sign-in form."""
    html = _login_page(site, session, next_path)
    match = re.search(r'<a class="button" id="sso-school"\s+href="([^"]+)">Sign in with ' + re.escape(LABEL), html)
    assert match, html
    href = match.group(1).replace("&amp;", "&")
    answer = session.get(site.url + href, timeout=30)
    assert answer.status_code == 200 and answer.url.startswith(site.provider.issuer + "/authorize"), answer.text
    return answer


def _provider_form(answer: requests.Response) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', answer.text))


def _sign_in(site, username: str, *, session: requests.Session | None = None, next_path: str | None = None,
             action: str = "allow") -> tuple[requests.Session, requests.Response]:
    session = session or requests.Session()
    form = _provider_form(_start(site, session, next_path))
    answer = session.post(site.provider.issuer + "/authorize", timeout=30,
                          data={**form, "username": username, "password": "provider-pw", "action": action})
    return session, answer


def _me(site, session: requests.Session) -> requests.Response:
    return session.get(site.url + "/api/v1/me", timeout=30)


def test_the_login_page_offers_the_provider_and_keeps_the_password_form(sso_site):
    html = _login_page(sso_site, requests.Session())
    assert f"Sign in with {LABEL}" in html
    assert '<button type="submit" class="button primary">Sign in</button>' in html
    assert 'name="password"' in html


def test_a_verified_address_signs_in_and_links_the_provider_account(sso_site):
    session, answer = _sign_in(sso_site, "ann", next_path="/account/tokens")
    assert answer.status_code == 200
    assert answer.url == sso_site.url + "/account/tokens"  # back where the sign-in started
    me = _me(sso_site, session)
    assert me.status_code == 200 and me.json()["email"] == "ann@school.test"  # the claim's case does not matter
    assert me.json()["last_login_at"] is not None
    # the flow was the code flow with PKCE, nonce and state, all in the redirect the app sent
    session2 = requests.Session()
    first = session2.get(f"{sso_site.url}/login/sso/{PROVIDER_NAME}", allow_redirects=False, timeout=30)
    assert first.status_code == 302
    query = parse_qs(urlsplit(first.headers["Location"]).query)
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"][0] and query["nonce"][0] and query["state"][0]
    assert "openid" in query["scope"][0].split() and "email" in query["scope"][0].split()
    # signing in again finds the linked provider account (and the dashboard by default)
    session3, answer = _sign_in(sso_site, "ann")
    assert answer.url == sso_site.url + "/" or answer.url.startswith(sso_site.url + "/?"), answer.url
    assert _me(sso_site, session3).json()["email"] == "ann@school.test"


@pytest.mark.parametrize(("username", "status", "message"), [
    ("una", 403, "has not verified the email address una@school.test"),
    ("stan", 403, "There is no obsapp account for stan@school.test. Ask an administrator to invite you."),
    ("gus", 403, "The account for gus@school.test is deactivated"),
    ("olga", 403, "is for addresses at school.test, elsewhere.test only; olga@other.test is not one of them"),
    ("eve", 400, "could not be verified (expired_token)"),
    ("fay", 400, "could not be verified (bad_signature)"),
])
def test_refusals_are_readable_and_sign_nobody_in(sso_site, username, status, message):
    session, answer = _sign_in(sso_site, username)
    assert answer.status_code == status, answer.text[:2000]
    assert answer.url.startswith(f"{sso_site.url}/login/sso/{PROVIDER_NAME}/callback")
    assert message in answer.text.replace("&#34;", '"').replace("&#39;", "'")
    assert 'role="alert"' in answer.text and "Sign in with" in answer.text  # the login page, to try again
    assert _me(sso_site, session).status_code == 401


def test_denied_consent_is_a_readable_message(sso_site):
    session, answer = _sign_in(sso_site, "ann", action="deny")
    assert answer.status_code == 400
    assert f"You did not allow obsapp to use your {LABEL} account" in answer.text
    assert _me(sso_site, session).status_code == 401


def test_a_callback_with_a_state_not_started_in_this_browser_is_refused(sso_site):
    # The provider answers a sign-in started by one browser; another browser (no such state) brings the answer.
    starter = requests.Session()
    form = _provider_form(_start(sso_site, starter))
    to_app = starter.post(sso_site.provider.issuer + "/authorize", allow_redirects=False, timeout=30,
                          data={**form, "username": "ann", "password": "provider-pw", "action": "allow"})
    assert to_app.status_code == 302
    callback = to_app.headers["Location"]
    assert parse_qs(urlsplit(callback).query)["state"] == [form["state"]]
    stranger = requests.Session()
    answer = stranger.get(callback, timeout=30)
    assert answer.status_code == 400 and "is no longer valid" in answer.text
    assert _me(sso_site, stranger).status_code == 401
    # the same answer twice: the state is spent after the first
    assert starter.get(callback, timeout=30).status_code == 200
    assert _me(sso_site, starter).json()["email"] == "ann@school.test"
    again = starter.get(callback, timeout=30)
    assert again.status_code == 400 and "is no longer valid" in again.text  # a replayed answer is refused
    assert _me(sso_site, starter).json()["email"] == "ann@school.test"
    tampered = requests.Session()
    bad = tampered.get(f"{sso_site.url}/login/sso/{PROVIDER_NAME}/callback", params={"state": "x"}, timeout=30)
    assert bad.status_code == 400 and "incomplete" in bad.text


def test_every_allowed_domain_signs_in(sso_site):
    # OBSAPP_OIDC_SCHOOL_DOMAINS lists two domains; otto's is the second (olga's, in none, is refused above)
    session, answer = _sign_in(sso_site, "otto")
    assert answer.status_code == 200
    assert _me(sso_site, session).json()["email"] == "otto@elsewhere.test"


def test_unknown_provider_and_provider_errors_never_answer_500(sso_site):
    session = requests.Session()
    assert session.get(f"{sso_site.url}/login/sso/nosuch", timeout=30).status_code == 404
    answer = session.get(f"{sso_site.url}/login/sso/{PROVIDER_NAME}/callback",
                         params={"error": "server_error", "error_description": "boom", "state": "s"}, timeout=30)
    assert answer.status_code == 400 and "could not sign you in (server_error)" in answer.text
    crafted = session.get(f"{sso_site.url}/login/sso/{PROVIDER_NAME}/callback",
                          params={"error": "Call 555-0100 to unlock your account", "state": "s"}, timeout=30)
    assert crafted.status_code == 400 and "555-0100" not in crafted.text  # only an error code's characters shown
