"""How a request is authenticated: the session cookie (Flask-Login) or an API token (Bearer),
CSRF for cookie-authenticated writes, and the sign-in rate limit."""

from __future__ import annotations

from flask import Flask, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from obsapp.accounts import services, sso
from obsapp.accounts.models import User
from obsapp.errors import Unauthorized, wants_json
from obsapp.extensions import csrf, db, limiter, login_manager

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Reachable without signing in (see the contract).
PUBLIC_API_ENDPOINTS = {"accounts_api.login", "accounts_api.password_reset_request",
                        "accounts_api.password_reset_confirm", "accounts_api.invite_accept", "api-docs.openapi_json",
                        "api-docs.openapi_swagger_ui", "api_docs_assets"}
CSRF_EXEMPT_ENDPOINTS = {"accounts_api.login"}


class SessionInterface(SecureCookieSessionInterface):
    """Session cookie marked Secure whenever the request came over HTTPS (or always, if configured)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        if app.config.get("FORCE_SECURE_COOKIES"):
            return True
        try:
            return request.is_secure
        except RuntimeError:
            return False


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user: its id is "<user id>:<session version>" (User.get_id); a session made before the
    password last changed carries an older version and is signed out. A bare "<user id>" (a session from before
    versions existed) holds only while the version is still 0."""
    raw_id, _, version = str(user_id).partition(":")
    try:
        user = db.session.get(User, int(raw_id))
        version_number = int(version) if version else 0
    except (TypeError, ValueError):
        return None
    if user is None or not user.is_active or version_number != (user.session_version or 0):
        return None
    return user


@login_manager.unauthorized_handler
def unauthorized():
    if wants_json():
        raise Unauthorized()
    return redirect(url_for("accounts.login", next=request.full_path if request.query_string else request.path))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def authenticate_request():
    """before_request: bearer tokens, then the API's sign-in requirement, then CSRF."""
    g.auth_via_token = False
    g.login_failed = False
    g.pop("_login_user", None)  # always resolve the user afresh (an app context can outlive a request)
    g.pop("csrf_token", None)  # likewise Flask-WTF's token, cached in g: it must come from this request's session
    if request.routing_exception is not None:  # 404/405: let routing answer
        return
    token = bearer_token()
    if token is not None:
        user = services.user_for_token(token)
        if user is None:
            raise Unauthorized("That API token is not valid (revoked, expired or mistyped).", code="invalid_token")
        g._login_user = user  # Flask-Login's per-request user; no session cookie is touched
        g.auth_via_token = True
    is_api = request.path.startswith("/api/")
    if (is_api and request.method != "OPTIONS" and request.endpoint not in PUBLIC_API_ENDPOINTS
            and not current_user.is_authenticated):
        raise Unauthorized()
    # A script without a session has nothing to forge; the sign-in requirement above answers it.
    if (request.method in UNSAFE_METHODS and not g.auth_via_token and request.endpoint not in CSRF_EXEMPT_ENDPOINTS
            and (not is_api or current_user.is_authenticated)):
        csrf.protect()


def _login_email_key() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) else None  # any JSON: the schema rejects it after this
    email = services.normalise_email(email if isinstance(email, str) else "")
    return f"{request.remote_addr}|{email}"


def _login_failed(response) -> bool:
    return bool(g.get("login_failed"))


def login_rate_limits():
    """Decorators for a sign-in view: failed attempts count, per account and address, and per address."""
    per_account = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_email_key,
                                methods=["POST"], deduct_when=_login_failed, scope="login-account")
    per_address = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_IP"], methods=["POST"],
                                deduct_when=_login_failed, scope="login-address")

    def decorate(view):
        return per_address(per_account(view))

    return decorate


def reset_rate_limits():
    """Decorators for "forgot your password?": every request counts, per email and address, and per address."""
    per_account = limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], key_func=_login_email_key,
                                methods=["POST"], scope="reset-account")
    per_address = limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT_PER_IP"], methods=["POST"],
                                scope="reset-address")

    def decorate(view):
        return per_address(per_account(view))

    return decorate


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(authenticate_request)
    sso.init_app(app)
