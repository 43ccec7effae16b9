"""HTML pages: sign-in, my API tokens, and the admin pages for people and mentorships."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from joserfc.errors import JoseError

from obsapp import mail, policy
from obsapp.accounts import importing, services, sso
from obsapp.accounts.auth import login_rate_limits, reset_rate_limits
from obsapp.accounts.models import utcnow
from obsapp.errors import InvalidInput, ObsError

bp = Blueprint("accounts", __name__, template_folder="templates")
log = logging.getLogger(__name__)
SSO_NEXT = "obsapp.sso_next"  # where to go after signing in with a provider (kept in the session meanwhile)


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("lessons.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@login_rate_limits()
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        user = services.authenticate(email, request.form.get("password", ""))
        if user is not None:
            login_user(user)  # no "Welcome" banner: the dashboard greets by name, and other pages need no banner
            return redirect(_safe_next(request.args.get("next") or request.form.get("next")))
        g.login_failed = True
        error = "Invalid email or password."
    return _login_page(error=error, email=email), (401 if error else 200)


def _login_page(*, error: str | None = None, email: str = ""):
    return render_template("accounts/login.html", error=error, email=email, next=request.args.get("next", ""),
                           sso_providers=sso.providers())


@bp.route("/login/sso/<name>")
def sso_start(name: str):
    """"Sign in with <label>": off to the provider (state, nonce and the PKCE verifier kept in the session)."""
    provider = sso.provider(name)
    if provider is None:
        abort(404)
    session[SSO_NEXT] = _safe_next(request.args.get("next"))
    try:
        return sso.client(provider.name).authorize_redirect(
            url_for("accounts.sso_callback", name=provider.name, _external=True))
    except (AuthlibBaseError, requests.RequestException, ValueError) as exc:
        log.warning("sso: %s's discovery document could not be read: %s", provider.name, exc)
        return _login_page(error=f"{provider.label} could not be reached just now, so you cannot sign in with it. "
                                 "Try again in a moment, or sign in with your email and password."), 502


@bp.route("/login/sso/<name>/callback")
def sso_callback(name: str):
    """The provider sends the browser back here with a code (or an error): the code is exchanged for tokens, the
    ID token checked (signature against the JWKS, issuer, audience, expiry, nonce), and the account matched."""
    provider = sso.provider(name)
    if provider is None:
        abort(404)
    label = provider.label
    if request.args.get("error"):
        error = request.args["error"]
        # the code is shown on the page: only an OAuth error code's characters (anyone can craft this link)
        error = error if re.fullmatch(r"[a-z_]{1,40}", error) else "error"
        log.info("sso: %s answered %s: %s", provider.name, error, request.args.get("error_description", ""))
        if error == "access_denied":
            message = f"You did not allow obsapp to use your {label} account, so you are not signed in."
        else:
            message = (f"{label} could not sign you in ({error}). Try again, or sign in with your email and "
                       "password.")
        return _login_page(error=message), 400
    if not request.args.get("state") or not request.args.get("code"):
        return _login_page(error=f"That answer from {label} is incomplete. Start again with "
                                 f"\"Sign in with {label}\"."), 400
    try:
        token = sso.client(provider.name).authorize_access_token()
    except AuthlibBaseError as exc:  # a state that is not this browser's, or a refused code
        log.warning("sso: %s sign-in failed: %s", provider.name, exc)
        if getattr(exc, "error", "") == "mismatching_state":
            message = (f"That sign-in with {label} is no longer valid: it was started in another browser or tab, "
                       f"or already used. Start again with \"Sign in with {label}\".")
        else:
            reason = str(getattr(exc, "description", None) or exc.error)[:200]
            message = (f"{label} did not accept the sign-in ({reason}). "
                       f"Start again with \"Sign in with {label}\".")
        return _login_page(error=message), 400
    except JoseError as exc:  # a bad signature, an expired ID token, a wrong nonce, issuer or audience
        log.warning("sso: %s's ID token was refused: %s", provider.name, exc)
        return _login_page(error=f"The answer from {label} could not be verified ({exc.error}), so you are not "
                                 f"signed in. Start again; if it happens again, tell your administrator."), 400
    except (requests.RequestException, ValueError) as exc:
        log.warning("sso: %s could not be reached: %s", provider.name, exc)
        return _login_page(error=f"{label} could not be reached just now. Try again in a moment."), 502
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _login_page(error=f"{label} did not send an ID token, so you are not signed in."), 400
    try:
        user = sso.sign_in(provider, claims)
    except sso.SignInRefused as exc:
        return _login_page(error=exc.message), 403
    target = session.pop(SSO_NEXT, None)
    logout_user()
    login_user(user)
    return redirect(_safe_next(target))


FORGOT_ANSWER = ("If an account uses that address, we have emailed it a link to choose a new password. "
                 "It works once, for {minutes} minutes. Check your spam folder if nothing arrives.")


@bp.route("/forgot-password", methods=["GET", "POST"])
@reset_rate_limits()
def forgot_password():
    """Always the same answer, whether or not the address has an account."""
    sent = None
    if request.method == "POST" and mail.configured():
        services.request_password_reset(request.form.get("email", ""))
        sent = FORGOT_ANSWER.format(minutes=current_app.config["RESET_TOKEN_MINUTES"])
    return render_template("accounts/forgot_password.html", email_ready=mail.configured(), sent=sent)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        link = services.find_link(token)
    except ObsError as exc:
        return render_template("accounts/reset_password.html", invalid=exc.message), 410
    error = None
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_again", ""):
            error = "The two passwords are not the same."
        else:
            try:
                user = services.reset_password(token, password)
                if current_user.is_authenticated:
                    logout_user()
                flash(f"Your password is changed, {user.name}. Sign in with it now.", "success")
                return redirect(url_for("accounts.login"))
            except ObsError as exc:
                error = exc.message
    return render_template("accounts/reset_password.html", invalid=None, user=link.user, error=error), \
        (422 if error else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    try:
        link = services.find_link(token, services.INVITE)
    except ObsError as exc:
        return render_template("accounts/accept_invite.html", invalid=exc.message), 410
    error = None
    name = request.form.get("name", link.user.name)
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password_again", ""):
            error = "The two passwords are not the same."
        else:
            try:
                user = services.accept_invite(token, name=name, password=password)
                logout_user()
                login_user(user)
                flash(f"Welcome to obsapp, {user.name}.", "success")
                return redirect(url_for("lessons.dashboard"))
            except ObsError as exc:
                error = exc.message
    return render_template("accounts/accept_invite.html", invalid=None, user=link.user, name=name, error=error), \
        (422 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    new_token = None
    if request.method == "POST":
        if request.form.get("revoke"):
            try:
                services.revoke_token(current_user, int(request.form["revoke"]))
                flash("Token revoked. Scripts using it can no longer sign in.", "success")
            except (ObsError, ValueError) as exc:
                flash(getattr(exc, "message", "No such token."), "error")
            return redirect(url_for("accounts.tokens"))
        _, new_token = services.create_token(current_user, current_user, request.form.get("name", ""))
    return render_template("accounts/tokens.html", tokens=services.list_tokens(current_user), new_token=new_token)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change my password; my other sessions end and my API tokens are revoked, this session stays."""
    error = None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password_again", ""):
            error = "The two new passwords are not the same."
        else:
            try:
                user = current_user._get_current_object()
                services.change_password(user, request.form.get("current_password", ""), new)
                login_user(user)  # this session carries the new session version: it stays signed in
                flash("Your password is changed. You are signed out everywhere else, and your API tokens are "
                      "revoked.", "success")
                return redirect(url_for("accounts.tokens"))
            except ObsError as exc:
                error = exc.message
    return render_template("accounts/change_password.html", error=error), (422 if error else 200)


def _admin_only():
    if not policy.is_admin(current_user):
        abort(403)


@bp.route("/admin/people", methods=["GET", "POST"])
@login_required
def people():
    _admin_only()
    form = {}
    if request.method == "POST":
        form = request.form
        try:
            user = services.create_user(current_user, email=form.get("email", ""), name=form.get("name", ""),
                                        password=form.get("password", ""), is_admin=bool(form.get("is_admin")))
            flash(f"Account created for {user.name} ({user.email}).", "success")
            return redirect(url_for("accounts.people"))
        except ObsError as exc:
            flash(exc.message, "error")
    return render_template("accounts/people.html", users=services.list_users(current_user), form=form,
                           invites=services.pending_invites(current_user), is_pending=services.is_pending,
                           now_utc=utcnow())


def _flash_invite(user, emailed: bool, plain: str) -> None:
    if emailed:
        flash(f"Invitation emailed to {user.email}.", "success")
    else:
        days = current_app.config["INVITE_TOKEN_DAYS"]
        flash(f"Email is not set up, so pass this invitation link to {user.name} yourself (it works once, for "
              f"{days} days): {services.invite_url(plain)}", "info")


@bp.route("/admin/people/import", methods=["GET", "POST"])
@login_required
def import_people():
    """Upload a CSV: a dry run first (what would change, line-numbered errors); then Import runs it for real."""
    _admin_only()
    result, data, error, done = None, "", None, False
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            raw = upload.read(importing.MAX_BYTES + 1)
        else:
            raw = request.form.get("csv_text", "").encode()
        dry_run = request.form.get("action") != "import"
        try:
            if not raw.strip():
                raise InvalidInput("Choose a CSV file.")
            result = importing.run(current_user, raw, dry_run=dry_run)
            data = importing.decode(raw)
            done = not dry_run and not result.errors
        except ObsError as exc:
            error = exc.message
        if done:
            flash(f"Imported: {len(result.created)} people invited ({result.invites_emailed} by email), "
                  f"{len(result.mentorships_added)} mentorships added.", "success")
            return redirect(url_for("accounts.people"))
    status = 422 if error or (result is not None and result.errors) else 200
    return render_template("accounts/import.html", result=result, data=data, error=error,
                           max_kb=importing.MAX_BYTES // 1024, email_ready=mail.configured()), status


@bp.route("/admin/invites", methods=["POST"])
@login_required
def invite():
    _admin_only()
    form = request.form
    try:
        if form.get("revoke"):
            user = services.get_user(int(form["revoke"]))
            services.revoke_invite(current_user, user)
            flash(f"Invitation for {user.email} revoked: the link no longer works.", "success")
        elif form.get("resend"):
            user = services.get_user(int(form["resend"]))
            _, plain, emailed = services.send_invite(current_user, user)
            _flash_invite(user, emailed, plain)
        else:
            user, _, plain, emailed = services.invite_user(current_user, email=form.get("email", ""),
                                                           name=form.get("name", ""),
                                                           is_admin=bool(form.get("is_admin")))
            _flash_invite(user, emailed, plain)
    except ObsError as exc:
        flash(exc.message, "error")
    except ValueError:
        flash("No such invitation.", "error")
    return redirect(url_for("accounts.people"))


@bp.route("/admin/people/<int:user_id>", methods=["POST"])
@login_required
def person_update(user_id: int):
    _admin_only()
    user = services.get_user(user_id)
    action = request.form.get("action")
    try:
        if action == "deactivate":
            services.update_user(current_user, user, active=False)
            flash(f"{user.name} can no longer sign in.", "success")
        elif action == "activate":
            services.update_user(current_user, user, active=True)
            flash(f"{user.name} can sign in again.", "success")
        elif action == "reset_password":
            services.update_user(current_user, user, password=request.form.get("password", ""))
            flash(f"New password set for {user.name}.", "success")
        elif action == "send_reset_link":
            _, plain, emailed = services.send_reset_link(current_user, user)
            if emailed:
                flash(f"A link to choose a new password is on its way to {user.email}.", "success")
            else:
                minutes = current_app.config["RESET_TOKEN_MINUTES"]
                flash(f"Email is not set up, so pass this link to {user.name} yourself (it works once, for "
                      f"{minutes} minutes): {services.reset_url(plain)}", "info")
        elif action in ("make_admin", "remove_admin"):
            services.update_user(current_user, user, is_admin=action == "make_admin")
            flash(f"Administrator rights updated for {user.name}.", "success")
        else:
            flash("Unknown action.", "error")
    except ObsError as exc:
        flash(exc.message, "error")
    return redirect(url_for("accounts.people"))


@bp.route("/admin/mentorships", methods=["GET", "POST"])
@login_required
def mentorships():
    _admin_only()
    if request.method == "POST":
        try:
            if request.form.get("end"):
                mentorship = services.get_mentorship(current_user, int(request.form["end"]))
                services.end_mentorship(current_user, mentorship)
                flash(f"Mentorship ended: {mentorship.mentor.name} no longer sees {mentorship.mentee.name}'s "
                      "lessons.", "success")
            else:
                mentor = services.get_user(int(request.form.get("mentor_id") or 0))
                mentee = services.get_user(int(request.form.get("mentee_id") or 0))
                services.create_mentorship(current_user, mentor, mentee)
                flash(f"{mentor.name} now mentors {mentee.name}.", "success")
        except ObsError as exc:
            flash(exc.message, "error")
        except ValueError:
            flash("Choose a mentor and a mentee.", "error")
        return redirect(url_for("accounts.mentorships"))
    users = [u for u in services.list_users(current_user) if u.active]
    return render_template("accounts/mentorships.html", users=users,
                           mentorships=services.list_mentorships(current_user, include_ended=True))
