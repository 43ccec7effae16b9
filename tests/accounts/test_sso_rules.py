"""The matching rules of single sign-on (obsapp.accounts.sso.sign_in) on claims the provider vouched for, and the
settings that configure it. The flow itself, against a real provider, is in test_sso.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from obsapp.accounts import sso
from obsapp.accounts.models import SsoIdentity, User
from obsapp.config import SettingsError
from obsapp.extensions import db

GOOGLE = sso.Provider(name="google", label="Google", issuer="https://accounts.example", client_id="c",
                      client_secret="s", domains=("school.test",))
ANYWHERE = sso.Provider(name="m365", label="Microsoft 365", issuer="https://login.example/tenant/v2.0",
                        client_id="c", client_secret="", domains=())


def _claims(email: str, sub: str = "sub-1", **extra) -> dict:
    return {"iss": GOOGLE.issuer, "sub": sub, "email": email, "email_verified": True, **extra}


def _links(user) -> list[SsoIdentity]:
    return list(db.session.execute(select(SsoIdentity).where(SsoIdentity.user_id == user.id)).scalars())


def test_a_verified_address_signs_in_and_is_linked_once(make_user):
    user = make_user("ana@school.test")
    assert sso.sign_in(GOOGLE, _claims("ANA@school.test")) == user
    assert sso.sign_in(GOOGLE, _claims("ana@school.test")) == user
    links = _links(user)
    assert [(link.issuer, link.subject, link.provider, link.email) for link in links] == [
        (GOOGLE.issuer, "sub-1", "google", "ana@school.test")]
    assert links[0].last_login_at is not None and user.last_login_at is not None


@pytest.mark.parametrize("claims", [
    {"email_verified": False}, {"email_verified": "false"}, {"email_verified": None}, {},
])
def test_an_unverified_address_is_refused(make_user, claims):
    make_user("ana@school.test")
    base = {"iss": GOOGLE.issuer, "sub": "s", "email": "ana@school.test", **claims}
    with pytest.raises(sso.SignInRefused, match="has not verified the email address ana@school.test"):
        sso.sign_in(GOOGLE, base)


def test_a_linked_provider_account_still_needs_a_verified_address(make_user):
    make_user("ana@school.test")
    sso.sign_in(GOOGLE, _claims("ana@school.test"))
    with pytest.raises(sso.SignInRefused, match="has not verified"):
        sso.sign_in(GOOGLE, _claims("ana@school.test", email_verified=False))


def test_microsoft_domain_verified_claim_counts_as_verified(make_user):
    user = make_user("ana@school.test")
    claims = {"iss": ANYWHERE.issuer, "sub": "oid-1", "email": "ana@school.test", "xms_edov": True}
    assert sso.sign_in(ANYWHERE, claims) == user


def test_addresses_outside_the_allowed_domains_are_refused(make_user):
    make_user("ana@elsewhere.test")
    with pytest.raises(sso.SignInRefused, match="for addresses at school.test only"):
        sso.sign_in(GOOGLE, _claims("ana@elsewhere.test"))


def test_unknown_deactivated_and_erased_accounts_are_refused(app, make_user):
    with pytest.raises(sso.SignInRefused, match="There is no obsapp account for new@school.test"):
        sso.sign_in(GOOGLE, _claims("new@school.test"))
    make_user("gone@school.test", active=False)
    with pytest.raises(sso.SignInRefused, match="is deactivated"):
        sso.sign_in(GOOGLE, _claims("gone@school.test"))
    from obsapp.privacy import erasure

    erased = make_user("erased@school.test")
    sso.sign_in(GOOGLE, _claims("erased@school.test", sub="sub-erased"))
    erasure.erase_person(None, erased.id, "erased@school.test")
    db.session.commit()
    assert _links(erased) == []  # erasure removes the link to the provider's account
    with pytest.raises(sso.SignInRefused, match="There is no obsapp account for erased@school.test"):
        sso.sign_in(GOOGLE, _claims("erased@school.test", sub="sub-erased"))


def test_just_in_time_accounts_when_the_setting_allows(app):
    app.config["OIDC_CREATE_ACCOUNTS"] = True
    try:
        user = sso.sign_in(GOOGLE, _claims("new@school.test", name="Nia Okafor"))
    finally:
        app.config["OIDC_CREATE_ACCOUNTS"] = False
    assert (user.email, user.name, user.active, user.is_admin) == ("new@school.test", "Nia Okafor", True, False)
    assert user.password_hash  # a random password nobody knows ("Forgot your password?" sets one)
    assert len(_links(user)) == 1


def test_missing_email_is_refused_readably():
    with pytest.raises(sso.SignInRefused, match="did not tell us your email address"):
        sso.sign_in(GOOGLE, {"iss": GOOGLE.issuer, "sub": "s", "email_verified": True})


def test_the_verified_address_decides_when_a_provider_account_changes_hands(make_user):
    ana, ben = make_user("ana@school.test"), make_user("ben@school.test")
    sso.sign_in(GOOGLE, _claims("ana@school.test", sub="shared"))
    # the provider's account now carries Ben's verified address: Ben signs in, the link moves to him
    assert sso.sign_in(GOOGLE, _claims("ben@school.test", sub="shared")) == ben
    assert _links(ana) == [] and len(_links(ben)) == 1


def test_settings_name_the_provider_and_fail_readably(monkeypatch):
    config = {"OIDC_PROVIDERS": "Google, m365", "OIDC_GOOGLE_ISSUER": "https://accounts.google.com/",
              "OIDC_GOOGLE_CLIENT_ID": "id", "OIDC_GOOGLE_CLIENT_SECRET": "secret",
              "OIDC_GOOGLE_DOMAINS": "@School.test, other.test"}
    monkeypatch.setenv("OBSAPP_OIDC_M365_ISSUER", "https://login.microsoftonline.com/tenant-id/v2.0")
    monkeypatch.setenv("OBSAPP_OIDC_M365_CLIENT_ID", "app-id")
    monkeypatch.setenv("OBSAPP_OIDC_M365_LABEL", "Microsoft 365")
    google, m365 = sso.read_providers(config)
    assert (google.name, google.label, google.issuer, google.domains) == (
        "google", "Google", "https://accounts.google.com", ("school.test", "other.test"))
    assert google.metadata_url == "https://accounts.google.com/.well-known/openid-configuration"
    assert (m365.label, m365.client_id, m365.client_secret) == ("Microsoft 365", "app-id", "")
    with pytest.raises(SettingsError, match="OBSAPP_OIDC_SCHOOL_ISSUER is not set"):
        sso.read_providers({"OIDC_PROVIDERS": "school"})
    with pytest.raises(SettingsError, match="not a valid provider name"):
        sso.read_providers({"OIDC_PROVIDERS": "my school"})
    with pytest.raises(SettingsError, match="OBSAPP_OIDC_X_ISSUER='accounts.google.com' is not valid"):
        sso.read_providers({"OIDC_PROVIDERS": "x", "OIDC_X_ISSUER": "accounts.google.com", "OIDC_X_CLIENT_ID": "i"})
    assert sso.read_providers({"OIDC_PROVIDERS": ""}) == []


def test_without_providers_the_login_page_has_no_sso_buttons(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert "Sign in with" not in html and '<button type="submit" class="button primary">Sign in</button>' in html
    assert app.test_client().get("/login/sso/google").status_code == 404
    assert app.test_client().get("/login/sso/google/callback?code=x&state=y").status_code == 404
    assert User  # the model module is importable with the new table


def test_an_invitee_signing_in_with_the_school_account_uses_the_invitation():
    from obsapp.accounts import services

    user, _, plain, _ = services.invite_user(None, email="new@school.test", name="Nia Okafor")
    db.session.commit()
    assert services.is_pending(user)
    assert sso.sign_in(GOOGLE, _claims("new@school.test")) == user
    db.session.commit()
    assert not services.is_pending(user) and services.pending_invites(None) == []
    with pytest.raises(Exception, match="not valid any more"):
        services.find_link(plain, services.INVITE)


def test_a_provider_that_cannot_be_reached_gives_a_readable_page(app):
    """A provider configured but down (nothing listens on its port): the button's link answers the login page
    with a "try again" message and 502, never a 500."""
    from tests.servers.oidc import free_port

    issuer = f"http://127.0.0.1:{free_port()}"
    config = {"OIDC_PROVIDERS": "down", "OIDC_DOWN_ISSUER": issuer, "OIDC_DOWN_CLIENT_ID": "c"}
    saved = app.extensions[sso.EXTENSION]
    settings = {key: app.config.get(key) for key in config}
    app.config.update(config)
    try:
        app.extensions.pop("authlib.integrations.flask_client", None)
        sso.init_app(app)
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert "Sign in with Down" in page
        answer = client.get("/login/sso/down")
        assert answer.status_code == 502
        assert "Down could not be reached just now" in answer.get_data(as_text=True)
    finally:
        app.config.update(settings)
        app.extensions[sso.EXTENSION] = saved
