"""API tokens: created, used as Bearer, stored hashed, listed, revoked."""

from sqlalchemy import select

from obsapp.accounts import services
from obsapp.accounts.models import ApiToken
from obsapp.extensions import db


def test_bearer_token_authenticates_and_needs_no_csrf(app, make_user):
    user = make_user()
    _, plain = services.create_token(None, user, "script")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=headers).json["id"] == user.id
    assert client.post("/api/v1/lessons", json={"title": "By script"}, headers=headers).status_code == 201


def test_token_is_stored_hashed(make_user):
    user = make_user()
    token, plain = services.create_token(None, user, "x")
    row = db.session.execute(select(ApiToken).where(ApiToken.id == token.id)).scalar_one()
    assert plain not in row.token_hash and len(row.token_hash) == 64
    assert plain.startswith(row.prefix)


def test_invalid_token_is_401(app):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer obs_not-a-token"})
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_token"


def test_list_create_and_revoke_over_the_api(api_as, make_user):
    user, other = make_user(), make_user()
    api = api_as(user)
    created = api.post("/api/v1/tokens", json={"name": "laptop"})
    assert created.status_code == 201 and created.json["token"].startswith("obs_")
    listed = api.get("/api/v1/tokens").json["items"]
    assert {t["name"] for t in listed} == {"tests", "laptop"} and all("token" not in t for t in listed)
    new_token = created.json["token"]
    client = api.client
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    # someone else cannot revoke it
    assert api_as(other).delete(f"/api/v1/tokens/{created.json['id']}").status_code == 404
    assert api.delete(f"/api/v1/tokens/{created.json['id']}").status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401


def test_deactivating_an_account_stops_its_tokens(api_as, make_user):
    user = make_user()
    api = api_as(user)
    assert api.get("/api/v1/me").status_code == 200
    services.update_user(None, user, active=False)
    assert api.get("/api/v1/me").status_code == 401


def test_tokens_page_creates_and_revokes(browser_client, make_user):
    user = make_user()
    client = browser_client(user)
    page = client.post("/account/tokens", data={"name": "staff PC", "csrf_token": client.csrf}).get_data(as_text=True)
    assert "Your new token" in page and "staff PC" in page
    token = services.list_tokens(user)[0]
    client.post("/account/tokens", data={"revoke": token.id, "csrf_token": client.csrf})
    assert services.list_tokens(user) == []
