"""Single sign-on through OpenID Connect (Authlib's client): the authorization-code flow with PKCE (S256), the
provider's discovery document, state and nonce kept in the session, and the ID token's signature checked against
the provider's JWKS (Authlib). Accounts are matched by a VERIFIED email address only; the provider's account
(issuer + subject) is then linked to the obsapp account (SsoIdentity).

Configured by settings only (docs/operations.md, "Single sign-on"):

    OBSAPP_OIDC_PROVIDERS=google,microsoft
    OBSAPP_OIDC_GOOGLE_ISSUER=https://accounts.google.com
    OBSAPP_OIDC_GOOGLE_CLIENT_ID=...   OBSAPP_OIDC_GOOGLE_CLIENT_SECRET=...
    OBSAPP_OIDC_GOOGLE_LABEL=Google    OBSAPP_OIDC_GOOGLE_DOMAINS=school.example
    OBSAPP_OIDC_CREATE_ACCOUNTS=false  (true: an unknown verified address gets an account on first sign-in)
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from sqlalchemy import delete, select

from obsapp.accounts.models import AccountLink, SsoIdentity, User, utcnow
from obsapp.accounts.passwords import hash_password
from obsapp.accounts.services import INVITE, MAX_EMAIL, NO_PASSWORD, normalise_email
from obsapp.config import SettingsError
from obsapp.extensions import db

log = logging.getLogger(__name__)
EXTENSION = "obsapp.oidc"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SCOPES = "openid email profile"
HTTP_TIMEOUT_S = 15  # discovery, JWKS and token requests to the provider


@dataclass(frozen=True)
class Provider:
    name: str  # as in OBSAPP_OIDC_PROVIDERS, lower case
    label: str  # the button says "Sign in with <label>"
    issuer: str
    client_id: str
    client_secret: str
    domains: tuple[str, ...]  # allowed email domains; empty: any verified address

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class SignInRefused(Exception):
    """A sign-in the provider vouched for that obsapp still refuses; ``message`` is shown on the login page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _setting(config: dict, key: str) -> str:
    """A per-provider setting: the app's config (instance file, create_app overrides), else the environment."""
    value = config.get(key)
    if value is None or value == "":
        value = os.environ.get(f"OBSAPP_{key}", "")
    return str(value).strip()


def read_providers(config: dict) -> list[Provider]:
    """The providers named by OIDC_PROVIDERS, each checked: a missing issuer or client id is a SettingsError."""
    names = [n.strip().lower() for n in str(config.get("OIDC_PROVIDERS") or "").split(",") if n.strip()]
    providers = []
    for name in names:
        if not NAME_RE.match(name):
            raise SettingsError(f"OBSAPP_OIDC_PROVIDERS: {name!r} is not a valid provider name (letters, digits "
                                "and _, starting with a letter).")
        prefix = f"OIDC_{name.upper()}_"
        issuer = _setting(config, prefix + "ISSUER")
        client_id = _setting(config, prefix + "CLIENT_ID")
        for key, value in (("ISSUER", issuer), ("CLIENT_ID", client_id)):
            if not value:
                raise SettingsError(f"OBSAPP_{prefix}{key} is not set: provider {name!r} is listed in "
                                    "OBSAPP_OIDC_PROVIDERS.")
        if not re.match(r"^https?://[^/\s]+", issuer):
            raise SettingsError(f"OBSAPP_{prefix}ISSUER={issuer!r} is not valid: give the issuer's URL "
                                "(e.g. https://accounts.google.com).")
        domains = tuple(d.strip().lower().lstrip("@") for d in _setting(config, prefix + "DOMAINS").split(",")
                        if d.strip())
        providers.append(Provider(name=name, label=_setting(config, prefix + "LABEL") or name.capitalize(),
                                  issuer=issuer.rstrip("/"), client_id=client_id,
                                  client_secret=_setting(config, prefix + "CLIENT_SECRET"), domains=domains))
    return providers


def init_app(app: Flask) -> None:
    providers = read_providers(app.config)
    oauth = OAuth(app)
    for provider in providers:
        client_kwargs = {"scope": SCOPES, "code_challenge_method": "S256", "default_timeout": HTTP_TIMEOUT_S}
        if not provider.client_secret:  # a public client: PKCE alone
            client_kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105 - a method name, not a secret
        oauth.register(provider.name, client_id=provider.client_id, client_secret=provider.client_secret or None,
                       server_metadata_url=provider.metadata_url, client_kwargs=client_kwargs)
    app.extensions[EXTENSION] = {"oauth": oauth, "providers": {p.name: p for p in providers}}


def providers() -> list[Provider]:
    return list(current_app.extensions[EXTENSION]["providers"].values())


def provider(name: str) -> Provider | None:
    return current_app.extensions[EXTENSION]["providers"].get((name or "").lower())


def client(name: str):
    """Authlib's client for a configured provider."""
    return current_app.extensions[EXTENSION]["oauth"].create_client(name)


def _email_verified(claims: dict) -> bool:
    """The provider says it verified the address: ``email_verified`` true (Google, most providers), or Microsoft
    Entra ID's optional claim ``xms_edov`` (the address's domain is verified by the tenant)."""
    for key in ("email_verified", "xms_edov"):
        value = claims.get(key)
        if value is True or (isinstance(value, str) and value.lower() == "true"):
            return True
    return False


def sign_in(provider: Provider, claims: dict) -> User:
    """The account for the ID token's (already verified) claims, or SignInRefused with a readable reason.

    Matching is by verified email only: the address must be verified by the provider (also when the provider's
    account is already linked), within the provider's allowed domains, and belong to an active account
    (or, with OIDC_CREATE_ACCOUNTS, to nobody yet: an account is made). The issuer + subject is then linked to
    the account (a link whose provider account now carries another account's address moves to that account)."""
    email = normalise_email(str(claims.get("email") or ""))
    issuer, subject = str(claims.get("iss") or provider.issuer), str(claims.get("sub") or "")
    if not subject or not email or "@" not in email or len(email) > MAX_EMAIL:
        raise SignInRefused(f"{provider.label} did not tell us your email address, so you cannot be signed in "
                            "with it. Sign in with your email and password instead.")
    if not _email_verified(claims):
        _log_refusal(provider, email, "unverified email")
        raise SignInRefused(f"{provider.label} has not verified the email address {email}, so it cannot be used "
                            f"to sign in here. Verify it with {provider.label} first, or sign in with your password.")
    domain = email.rpartition("@")[2]
    if provider.domains and domain not in provider.domains:
        _log_refusal(provider, email, "domain not allowed")
        raise SignInRefused(f"Signing in with {provider.label} is for addresses at {', '.join(provider.domains)} "
                            f"only; {email} is not one of them.")
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    identity = db.session.execute(select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                            SsoIdentity.subject == subject)).scalar_one_or_none()
    if identity is not None and user is not None and identity.user_id != user.id:
        # The provider's account now carries another person's address: the address decides.
        identity = None
    if user is None:
        if not current_app.config.get("OIDC_CREATE_ACCOUNTS"):
            _log_refusal(provider, email, "no account")
            raise SignInRefused(f"There is no obsapp account for {email}. Ask an administrator to invite you.")
        name = str(claims.get("name") or "").strip() or email.partition("@")[0]
        # No password anyone knows: "Forgot your password?" can set one later.
        user = User(email=email, name=name[:120], password_hash=hash_password(secrets.token_urlsafe(32)))
        db.session.add(user)
        db.session.flush()
        log.info("sso: account created for %s through %s", email, provider.name)
    if not user.is_active:
        _log_refusal(provider, email, "account deactivated")
        raise SignInRefused(f"The account for {email} is deactivated, so it cannot sign in. Ask an administrator.")
    if user.password_hash == NO_PASSWORD:  # an invitee signing in with the school account: the invitation is used
        user.password_hash = hash_password(secrets.token_urlsafe(32))
        db.session.execute(delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == INVITE))
    now = utcnow()
    if identity is None:
        identity = db.session.execute(select(SsoIdentity).where(SsoIdentity.issuer == issuer,
                                                                SsoIdentity.subject == subject)).scalar_one_or_none()
        if identity is None:
            identity = SsoIdentity(issuer=issuer, subject=subject, provider=provider.name, email=email,
                                   user_id=user.id, created_at=now)
            db.session.add(identity)
            log.info("sso: %s (%s) linked to account #%s", issuer, subject, user.id)
    identity.user_id, identity.email, identity.provider, identity.last_login_at = user.id, email, provider.name, now
    user.last_login_at = now
    db.session.flush()
    log.info("sso: sign-in of account #%s (%s) through %s", user.id, email, provider.name)
    return user


def _log_refusal(provider: Provider, email: str, reason: str) -> None:
    log.warning("sso: sign-in refused through %s for %s: %s", provider.name, email, reason)
