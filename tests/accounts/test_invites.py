"""Invitations: an admin invites by email, the invitee opens the one-time link, sets name and password and is
signed in; pending invitations are listed on People with resend and revoke. Real SMTP (aiosmtpd)."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from obsapp.accounts import services
from obsapp.accounts.models import AccountLink, User
from obsapp.extensions import db
from tests.conftest import csrf_token_of
from tests.mentoring.conftest import smtp_server  # noqa: F401 - the fixture

NEW = "my own passphrase"


def _link_in(message) -> str:
    match = re.search(r"https://obsapp\.school\.test(/invite/\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def _invite(client, email="new@school.test", name="New Teacher", admin=False):
    data = {"email": email, "name": name, "csrf_token": client.csrf}
    if admin:
        data["is_admin"] = "1"
    return client.post("/admin/invites", data=data, follow_redirects=True)


def _accept(client, path, name="Nia Teacher", password=NEW, again=None):
    return client.post(path, data={"name": name, "password": password,
                                   "password_again": password if again is None else again,
                                   "csrf_token": csrf_token_of(client)})


def test_invite_accept_and_signed_in(app, make_user, browser_client, smtp_server):  # noqa: F811
    admin = make_user(admin=True, name="Head Teacher")
    client = browser_client(admin)
    page = _invite(client, admin=True).get_data(as_text=True)
    assert "Invitation emailed to new@school.test" in page
    assert "Pending invitations" in page and "Revoke the invitation to New Teacher" in page
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "new@school.test" and "Head Teacher has invited you" in message.get_content()
    assert "within 7 days" in message.get_content()
    invited = services.get_user_by_email("new@school.test")
    assert invited.is_admin and services.is_pending(invited)
    assert services.authenticate("new@school.test", "") is None  # no password signs in before accepting

    path = _link_in(message)
    guest = app.test_client()
    assert "new@school.test" in guest.get(path).get_data(as_text=True)
    assert _accept(guest, path, name=" ").status_code == 422
    assert _accept(guest, path, again="different words").status_code == 422
    done = _accept(guest, path)
    assert done.status_code == 302 and urlsplit(done.headers["Location"]).path == "/"
    assert "Nia Teacher" in guest.get("/").get_data(as_text=True)  # signed in
    assert services.authenticate("new@school.test", NEW) is not None
    assert app.test_client().get(path).status_code == 410  # once only
    assert "Pending invitations" not in client.get("/admin/people").get_data(as_text=True)


def test_email_taken_and_bad_input_are_messages(app, make_user, browser_client):
    admin = make_user(admin=True)
    taken = make_user(email="taken@school.test")
    client = browser_client(admin)
    assert "already an account" in _invite(client, email=taken.email).get_data(as_text=True)
    assert "is not an email address" in _invite(client, email="not-an-email").get_data(as_text=True)
    assert "Give the person&#39;s name" in _invite(client, name="").get_data(as_text=True)
    assert db.session.execute(db.select(AccountLink)).first() is None


def test_without_smtp_the_admin_gets_the_link(app, make_user, browser_client):
    admin = make_user(admin=True)
    client = browser_client(admin)
    text = _invite(client).get_data(as_text=True)
    assert "Email is not set up" in text
    path = urlsplit(re.search(r"(http://\S+/invite/[\w-]+)", text).group(1)).path
    assert _accept(app.test_client(), path).status_code == 302


def test_resend_kills_the_old_link_and_revoke_deactivates(app, make_user, browser_client, smtp_server):  # noqa: F811
    admin = make_user(admin=True)
    client = browser_client(admin)
    _invite(client)
    first = _link_in(smtp_server.wait_for(1)[0])
    invited = services.get_user_by_email("new@school.test")
    page = client.post("/admin/invites", data={"resend": invited.id, "csrf_token": client.csrf},
                       follow_redirects=True).get_data(as_text=True)
    assert "Invitation emailed" in page
    second = _link_in(smtp_server.wait_for(2)[1])
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    page = client.post("/admin/invites", data={"revoke": invited.id, "csrf_token": client.csrf},
                       follow_redirects=True).get_data(as_text=True)
    assert "revoked" in page and "Pending invitations" not in page
    assert app.test_client().get(second).status_code == 410
    assert db.session.get(User, invited.id).active is False
    _invite(client)  # inviting the address again renews it
    third = _link_in(smtp_server.wait_for(3)[2])
    assert _accept(app.test_client(), third).status_code == 302


def test_expired_invite_is_a_readable_page(app, make_user, browser_client, smtp_server):  # noqa: F811
    client = browser_client(make_user(admin=True))
    _invite(client)
    path = _link_in(smtp_server.wait_for(1)[0])
    link = db.session.execute(db.select(AccountLink)).scalar_one()
    assert link.expires_at - link.created_at == timedelta(days=7)
    link.expires_at = link.created_at
    db.session.commit()
    page = app.test_client().get(path)
    assert page.status_code == 410 and "has expired" in page.get_data(as_text=True)


def test_a_reset_link_is_not_an_invite_link(app, make_user):
    user = make_user()
    _, plain = services.issue_link(None, user, services.RESET)
    db.session.commit()
    assert app.test_client().get(f"/invite/{plain}").status_code == 410


def test_teachers_cannot_invite(app, make_user, browser_client, api_as):
    teacher = make_user()
    client = browser_client(teacher)
    assert _invite(client).status_code == 403
    assert api_as(teacher).post("/api/v1/invites", json={"email": "x@school.test", "name": "X"}).status_code == 403
    assert api_as(teacher).get("/api/v1/invites").status_code == 403
    assert api_as(None).get("/api/v1/invites").status_code == 401


def test_api_invite_list_resend_revoke_accept(app, make_user, api_as):
    admin = make_user(admin=True)
    api = api_as(admin)
    created = api.post("/api/v1/invites", json={"email": "Api@School.test", "name": "Api Person"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["emailed"] is False and body["user"]["email"] == "api@school.test"
    user_id = body["user"]["id"]
    listed = api.get("/api/v1/invites").get_json()["items"]
    assert [i["user"]["id"] for i in listed] == [user_id] and listed[0]["expires_at"]
    assert api.post("/api/v1/invites", json={"email": admin.email, "name": "X"}).status_code == 409
    assert api.post("/api/v1/invites", json={"email": "bad", "name": "X"}).status_code == 422
    resent = api.post(f"/api/v1/invites/{user_id}")
    assert resent.status_code == 201
    token = resent.get_json()["url"].rsplit("/", 1)[1]
    anon = api_as(None)
    old = body["url"].rsplit("/", 1)[1]
    bad = anon.post("/api/v1/auth/invite/accept", json={"token": old, "name": "A", "password": NEW})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_link"
    ok = anon.post("/api/v1/auth/invite/accept", json={"token": token, "name": "Api P.", "password": NEW})
    assert ok.status_code == 200 and ok.get_json()["name"] == "Api P."
    assert api.get("/api/v1/invites").get_json()["items"] == []
    assert api.delete(f"/api/v1/invites/{user_id}").status_code == 409  # accepted: nothing to revoke
    assert api.post(f"/api/v1/invites/{user_id}").status_code == 409
    assert api.delete("/api/v1/invites/999999").status_code == 404
