"""Sign-in by form and by API, sign-out, CSRF, the rate limit and Argon2id hashing."""

from obsapp.accounts.models import User
from obsapp.extensions import db
from tests.conftest import PASSWORD, csrf_token_of


def test_password_is_stored_as_argon2id_never_in_clear(make_user):
    user = make_user(password="correct horse battery")
    stored = db.session.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored


def test_form_sign_in_success_reaches_dashboard(app, make_user):
    user = make_user(name="Nur Aini")
    client = app.test_client()
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD,
                                           "csrf_token": csrf_token_of(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "My lessons" in page and "Nur Aini" in page
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("obsapp_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_over_https(app, make_user):
    user = make_user()
    client = app.test_client()
    token = csrf_token_of(client)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("obsapp_session=") and "Secure" in c for c in cookies)


def test_form_sign_in_wrong_password_says_so(app, make_user):
    user = make_user()
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": "nope-nope",
                                           "csrf_token": csrf_token_of(client)})
    assert response.status_code == 401
    assert "Invalid email or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_form_without_csrf_token_is_refused(app, make_user):
    user = make_user()
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_dashboard_requires_sign_in(app):
    response = app.test_client().get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_open_redirect_is_not_followed(app, make_user):
    user = make_user()
    client = app.test_client()
    response = client.post("/login?next=https://evil.example/", data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token_of(client)})
    assert response.headers["Location"] == "/"


def test_api_login_me_logout(app, make_user, make_mentorship):
    mentee, mentor = make_user(name="Mentee"), make_user(name="Mentor")
    make_mentorship(mentor, mentee)
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": mentee.email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json["email"] == mentee.email and "password" not in response.json
    me = client.get("/api/v1/me").json
    assert me["id"] == mentee.id and me["is_admin"] is False
    assert [m["name"] for m in me["mentors"]] == ["Mentor"] and me["mentees"] == []
    # logout is a cookie-authenticated write: it needs the CSRF token
    assert client.post("/api/v1/auth/logout").status_code == 400
    token = csrf_token_of(client)
    assert client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_api_login_bad_credentials_and_inactive(app, make_user):
    user = make_user()
    inactive = make_user(active=False)
    client = app.test_client()
    for email, password in [(user.email, "wrong-password"), ("nobody@school.test", PASSWORD),
                            (inactive.email, PASSWORD)]:
        response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401
        assert response.json["error"]["code"] == "invalid_credentials"


def test_cookie_api_write_needs_csrf(app, make_user):
    user = make_user()
    client = app.test_client()
    client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    refused = client.post("/api/v1/lessons", json={"title": "Forged"})
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"
    accepted = client.post("/api/v1/lessons", json={"title": "Mine"}, headers={"X-CSRFToken": csrf_token_of(client)})
    assert accepted.status_code == 201


def test_repeated_failures_are_rate_limited(app, make_user):
    user = make_user()
    client = app.test_client()
    statuses = [client.post("/api/v1/auth/login", json={"email": user.email, "password": "bad-guess"}).status_code
                for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    blocked = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "too_many_requests"
    # other accounts are not locked out by someone else's failures
    other = make_user()
    assert client.post("/api/v1/auth/login", json={"email": other.email, "password": PASSWORD}).status_code == 200


def test_successful_sign_ins_are_not_limited(app, make_user):
    user = make_user()
    client = app.test_client()
    for _ in range(15):
        assert client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}).status_code == 200
