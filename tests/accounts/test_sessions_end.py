"""After a password reset or change, every OTHER session of that person ends and their API tokens are revoked:
sessions are Flask-Login cookies carrying "<id>:<session version>" (User.get_id), the version is raised."""

from __future__ import annotations

from obsapp.accounts import services
from obsapp.extensions import db
from tests.conftest import PASSWORD, csrf_token_of

NEW = "a brand new passphrase"


def _signed_in(client) -> bool:
    return client.get("/api/v1/me").status_code == 200


def _token(user) -> str:
    plain = services.create_token(None, user, "script")[1]
    db.session.commit()
    return plain


def _me_with(app, token: str) -> int:
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_reset_link_signs_out_every_session_and_revokes_tokens(app, make_user, browser_client):
    user = make_user()
    laptop, phone = browser_client(user), browser_client(user)
    other_person = browser_client(make_user())
    token = _token(user)
    assert _signed_in(laptop) and _signed_in(phone) and _me_with(app, token) == 200
    _, plain = services.issue_link(None, user)
    db.session.commit()
    answer = phone.post(f"/reset/{plain}", data={"password": NEW, "password_again": NEW,
                                                 "csrf_token": csrf_token_of(phone)})
    assert answer.status_code == 302
    assert not _signed_in(laptop)  # the other signed-in browser is signed out
    assert laptop.get("/").status_code == 302  # pages send it to the login page
    assert not _signed_in(phone)  # the reset page signs its own browser out too: sign in with the new password
    assert _me_with(app, token) == 401  # the old token is revoked
    assert _signed_in(other_person)  # nobody else is touched
    assert _signed_in(browser_client(user, password=NEW))


def test_a_reset_through_the_api_ends_sessions_and_tokens(app, make_user, browser_client):
    user = make_user()
    laptop = browser_client(user)
    token = _token(user)
    _, plain = services.issue_link(None, user)
    db.session.commit()
    answer = app.test_client().post("/api/v1/auth/password-reset/confirm", json={"token": plain, "password": NEW})
    assert answer.status_code == 204
    assert not _signed_in(laptop)
    assert _me_with(app, token) == 401
    assert app.test_client().get("/api/v1/tokens", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_changing_my_password_keeps_this_session_and_ends_the_others(app, make_user, browser_client):
    user = make_user()
    here, elsewhere = browser_client(user), browser_client(user)
    token = _token(user)
    form = {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW, "csrf_token": here.csrf}
    answer = here.post("/account/password", data=form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:800]
    assert _signed_in(here)
    assert not _signed_in(elsewhere)
    assert _me_with(app, token) == 401
    assert "You are signed out everywhere else" in here.get("/account/tokens").get_data(as_text=True)


def test_the_password_page_refuses_a_wrong_current_password_and_changes_nothing(make_user, browser_client):
    user = make_user()
    here, elsewhere = browser_client(user), browser_client(user)
    form = {"current_password": "not it at all", "new_password": NEW, "new_password_again": NEW,
            "csrf_token": here.csrf}
    answer = here.post("/account/password", data=form)
    assert answer.status_code == 422 and "Your current password is not right." in answer.get_data(as_text=True)
    mismatch = here.post("/account/password", data={**form, "current_password": PASSWORD,
                                                    "new_password_again": "something else"})
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    assert _signed_in(here) and _signed_in(elsewhere)
    assert _signed_in(browser_client(user))  # the old password still works


def test_changing_my_password_through_the_api(app, make_user, browser_client):
    user = make_user()
    here, elsewhere = browser_client(user), browser_client(user)
    token, other_token = _token(user), _token(user)
    wrong = here.post("/api/v1/me/password", json={"current_password": "nope", "new_password": NEW},
                      headers={"X-CSRFToken": here.csrf})
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "wrong_password"
    short = here.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"},
                      headers={"X-CSRFToken": here.csrf})
    assert short.status_code == 422
    answer = here.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW},
                       headers={"X-CSRFToken": here.csrf})
    assert answer.status_code == 204
    assert _signed_in(here) and not _signed_in(elsewhere)
    assert _me_with(app, token) == 401 and _me_with(app, other_token) == 401
    # by token: the token itself is revoked with the others
    new_token = _token(user)
    by_token = app.test_client().post("/api/v1/me/password", json={"current_password": NEW, "new_password": PASSWORD},
                                      headers={"Authorization": f"Bearer {new_token}"})
    assert by_token.status_code == 204
    assert _me_with(app, new_token) == 401
    assert not _signed_in(here)


def test_an_admin_setting_a_password_signs_the_person_out(app, make_user, browser_client, api_as):
    user = make_user()
    theirs = browser_client(user)
    token = _token(user)
    admin = api_as(make_user(admin=True))
    assert admin.patch(f"/api/v1/users/{user.id}", json={"password": NEW}).status_code == 200
    assert not _signed_in(theirs)
    assert _me_with(app, token) == 401


def test_a_session_from_before_versions_existed_holds_until_the_first_change(app, make_user):
    user = make_user()
    client = app.test_client()
    with client.session_transaction() as session:  # as Flask-Login wrote it before: the bare id
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert _signed_in(client)
    services.end_other_sessions(user)
    db.session.commit()
    assert not _signed_in(client)


def test_changing_a_password_needs_a_signed_in_person_and_the_csrf_token(app, make_user, browser_client):
    anonymous = app.test_client().post("/api/v1/me/password", json={"current_password": PASSWORD,
                                                                     "new_password": NEW})
    assert anonymous.status_code == 401
    assert app.test_client().get("/account/password").status_code == 302  # to the login page
    user = make_user()
    here = browser_client(user)
    forged = here.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW})
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf_failed"
    extra = here.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW, "x": 1},
                      headers={"X-CSRFToken": here.csrf})
    assert extra.status_code == 422
    assert _signed_in(browser_client(user))  # nothing changed
