"""Password reset by an emailed one-time link, through a real SMTP server (aiosmtpd): the mail arrives, the link
works once, expired, used and replaced links give a readable page, unknown addresses get the same answer."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from obsapp.accounts import services
from obsapp.accounts.models import AccountLink, User
from obsapp.extensions import db
from tests.conftest import PASSWORD, csrf_token_of
from tests.mentoring.conftest import smtp_server  # noqa: F401 - the fixture

NEW = "a brand new passphrase"


def _link_in(message) -> str:
    body = message.get_content()
    match = re.search(r"https://obsapp\.school\.test(/reset/\S+)", body)
    assert match, body
    return match.group(1)


def _forgot(client, email):
    return client.post("/forgot-password", data={"email": email, "csrf_token": csrf_token_of(client)})


def _set(client, path, password=NEW, again=None):
    return client.post(path, data={"password": password, "password_again": password if again is None else again,
                                   "csrf_token": csrf_token_of(client)})


def _signs_in(app, email, password) -> bool:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token_of(client)})
    return response.status_code == 302


def test_login_page_offers_forgot_password(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "Forgot your password?" in page


def test_emailed_link_works_once(app, make_user, smtp_server):  # noqa: F811
    user = make_user(email="ana@school.test", name="Ana Lima")
    client = app.test_client()
    response = _forgot(client, "  ANA@school.test ")
    assert response.status_code == 200
    answer = response.get_data(as_text=True)
    assert "If an account uses that address" in answer and "60 minutes" in answer
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "ana@school.test" and "new password" in message["Subject"]
    path = _link_in(message)
    token = path.rsplit("/", 1)[1]
    stored = db.session.execute(db.select(AccountLink.token_hash)).scalars().all()
    assert stored and token not in stored  # only a hash is kept

    page = client.get(path)
    assert page.status_code == 200 and "Ana Lima" in page.get_data(as_text=True)
    mismatch = _set(client, path, again="something else entirely")
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    short = _set(client, path, password="short")
    assert short.status_code == 422 and "at least 8 characters" in short.get_data(as_text=True)
    done = _set(client, path)
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/login"
    assert _signs_in(app, user.email, NEW) and not _signs_in(app, user.email, PASSWORD)

    again = client.get(path)
    assert again.status_code == 410 and "not valid any more" in again.get_data(as_text=True)
    replay = _set(client, path, password="yet another passphrase")
    assert replay.status_code == 410
    assert _signs_in(app, user.email, NEW)


def test_unknown_email_gets_the_same_answer_and_no_mail(app, make_user, smtp_server):  # noqa: F811
    make_user(email="known@school.test")
    known = _forgot(app.test_client(), "known@school.test").get_data(as_text=True)
    unknown = _forgot(app.test_client(), "nobody@school.test").get_data(as_text=True)
    strip = lambda html: re.sub(r'name="csrf-token" content="[^"]+"', "", html)  # noqa: E731
    assert strip(known) == strip(unknown)
    assert len(smtp_server.wait_for(2, timeout=1.5)) == 1


def test_deactivated_account_gets_no_mail(app, make_user, smtp_server):  # noqa: F811
    make_user(email="gone@school.test", active=False)
    assert _forgot(app.test_client(), "gone@school.test").status_code == 200
    assert smtp_server.wait_for(1, timeout=1.0) == []


def test_expired_link_gives_a_readable_page(app, make_user, smtp_server):  # noqa: F811
    make_user(email="late@school.test")
    client = app.test_client()
    _forgot(client, "late@school.test")
    path = _link_in(smtp_server.wait_for(1)[0])
    link = db.session.execute(db.select(AccountLink)).scalar_one()
    link.expires_at = link.created_at - timedelta(seconds=1)
    db.session.commit()
    page = client.get(path)
    assert page.status_code == 410 and "has expired" in page.get_data(as_text=True)
    assert _set(client, path).status_code == 410


def test_lifetime_follows_the_setting(app, make_user, smtp_server, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "RESET_TOKEN_MINUTES", 5)
    user = make_user()
    _forgot(app.test_client(), user.email)
    assert "within 5 minutes" in smtp_server.wait_for(1)[0].get_content()
    link = db.session.execute(db.select(AccountLink)).scalar_one()
    assert link.expires_at - link.created_at == timedelta(minutes=5)


def test_a_newer_link_kills_the_older(app, make_user, smtp_server):  # noqa: F811
    user = make_user()
    client = app.test_client()
    _forgot(client, user.email)
    first = _link_in(smtp_server.wait_for(1)[0])
    _forgot(client, user.email)
    second = _link_in(smtp_server.wait_for(2)[1])
    assert first != second
    assert client.get(first).status_code == 410
    assert _set(client, second).status_code == 302


def test_bogus_tokens_are_readable_pages(app):
    client = app.test_client()
    for token in ("nope", "x" * 500, "%00"):
        page = client.get(f"/reset/{token}")
        assert page.status_code == 410 and "not valid any more" in page.get_data(as_text=True)


def test_forgot_password_is_rate_limited(app, make_user, smtp_server, monkeypatch):  # noqa: F811
    monkeypatch.setitem(app.config, "RESET_RATE_LIMIT", "3 per 15 minutes")
    user = make_user()
    client = app.test_client()
    codes = [_forgot(client, user.email).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    assert len(smtp_server.wait_for(4, timeout=1.5)) == 3


def test_without_smtp_the_page_says_email_is_not_set_up(app, make_user):
    user = make_user()
    client = app.test_client()
    assert "Email is not set up" in client.get("/forgot-password").get_data(as_text=True)
    assert "Email is not set up" in _forgot(client, user.email).get_data(as_text=True)
    assert db.session.execute(db.select(AccountLink)).first() is None


def test_admin_sends_the_link_from_people(app, make_user, browser_client, smtp_server):  # noqa: F811
    admin = make_user(admin=True)
    teacher = make_user(name="Bea Cruz")
    client = browser_client(admin)
    page = client.get("/admin/people").get_data(as_text=True)
    assert "Send Bea Cruz a reset link" in page
    response = client.post(f"/admin/people/{teacher.id}", data={"action": "send_reset_link",
                                                                 "csrf_token": client.csrf}, follow_redirects=True)
    assert f"on its way to {teacher.email}" in response.get_data(as_text=True)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == teacher.email
    assert _set(app.test_client(), _link_in(message)).status_code == 302
    assert _signs_in(app, teacher.email, NEW)


def test_admin_without_smtp_gets_the_link_to_copy(app, make_user, browser_client):
    admin = make_user(admin=True)
    teacher = make_user(name="Cy Dale")
    client = browser_client(admin)
    response = client.post(f"/admin/people/{teacher.id}", data={"action": "send_reset_link",
                                                                 "csrf_token": client.csrf}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "Email is not set up" in text
    path = urlsplit(re.search(r"(http://\S+/reset/[\w-]+)", text).group(1)).path
    assert _set(app.test_client(), path).status_code == 302
    assert _signs_in(app, teacher.email, NEW)


# --- the API ------------------------------------------------------------------------------------------

def test_api_request_and_confirm(app, make_user, api_as, smtp_server):  # noqa: F811
    user = make_user()
    anon = api_as(None)
    known = anon.post("/api/v1/auth/password-reset", json={"email": user.email})
    unknown = anon.post("/api/v1/auth/password-reset", json={"email": "nobody@school.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    token = _link_in(smtp_server.wait_for(1)[0]).rsplit("/", 1)[1]
    short = anon.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"})
    assert short.status_code == 422 and short.get_json()["error"]["code"] == "invalid_input"
    ok = anon.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert ok.status_code == 204
    again = anon.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW})
    assert again.status_code == 422 and again.get_json()["error"]["code"] == "invalid_link"
    assert services.authenticate(user.email, NEW) is not None


@pytest.mark.parametrize("body", [{}, {"email": 5}, {"email": "a@b.c", "extra": 1}, {"email": "x" * 400}])
def test_api_bad_request_bodies(app, api_as, smtp_server, body):  # noqa: F811
    response = api_as(None).post("/api/v1/auth/password-reset", json=body)
    assert response.status_code == 422 and "error" in response.get_json()


def test_api_without_smtp_says_so(app, api_as):
    response = api_as(None).post("/api/v1/auth/password-reset", json={"email": "a@school.test"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "email_not_configured"


def test_api_admin_link_for_a_person(app, make_user, api_as):
    admin, teacher = make_user(admin=True), make_user()
    response = api_as(admin).post(f"/api/v1/users/{teacher.id}/password-reset")
    assert response.status_code == 201
    body = response.get_json()
    assert body["emailed"] is False and "/reset/" in body["url"] and body["expires_at"]
    assert api_as(teacher).post(f"/api/v1/users/{admin.id}/password-reset").status_code == 403
    assert api_as(None).post(f"/api/v1/users/{admin.id}/password-reset").status_code == 401
    assert api_as(admin).post("/api/v1/users/999999/password-reset").status_code == 404
    db.session.get(User, teacher.id).active = False
    db.session.commit()
    assert api_as(admin).post(f"/api/v1/users/{teacher.id}/password-reset").status_code == 409
