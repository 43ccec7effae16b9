"""JSON API: sign-in, me, people, API tokens, mentorships."""

from __future__ import annotations

from flask import current_app, g, request
from flask.views import MethodView
from flask_login import current_user, login_user, logout_user
from flask_smorest import Blueprint

from obsapp import mail, policy
from obsapp.accounts import importing, services
from obsapp.accounts.auth import login_rate_limits, reset_rate_limits
from obsapp.accounts.schemas import (
    InviteAcceptSchema,
    InviteCreateSchema,
    InviteSchema,
    LoginSchema,
    MentorshipCreateSchema,
    MentorshipListSchema,
    MentorshipQuerySchema,
    MentorshipSchema,
    MeSchema,
    NewTokenSchema,
    PasswordChangeSchema,
    PendingInviteListSchema,
    PeopleImportFormSchema,
    PeopleImportResultSchema,
    PersonListSchema,
    ResetConfirmSchema,
    ResetLinkSchema,
    ResetRequestAnswerSchema,
    ResetRequestSchema,
    TokenListSchema,
    TokenSchema,
    UserCreateSchema,
    UserQuerySchema,
    UserSchema,
    UserUpdateSchema,
)
from obsapp.errors import Conflict, InvalidInput, Unauthorized

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Sign-in, people, tokens, mentorships")


def me_payload(user):
    return {
        "id": user.id, "email": user.email, "name": user.name, "is_admin": user.is_admin, "active": user.active,
        "created_at": user.created_at, "last_login_at": user.last_login_at,
        "mentees": services.mentees_of(user), "mentors": services.mentors_of(user),
    }


@blp.route("/auth/login", methods=["POST"])
@login_rate_limits()
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
@blp.alt_response(401, description="Invalid email or password")
@blp.alt_response(429, description="Too many failed attempts")
def login(data):
    """Sign in with email and password; sets the session cookie."""
    user = services.authenticate(data["email"], data["password"])
    if user is None:
        g.login_failed = True
        raise Unauthorized("Invalid email or password.", code="invalid_credentials")
    login_user(user)
    return me_payload(user)


@blp.route("/auth/logout", methods=["POST"])
@blp.response(204)
def logout():
    """Sign out (ends the session cookie)."""
    logout_user()


@blp.route("/auth/password-reset", methods=["POST"])
@reset_rate_limits()
@blp.arguments(ResetRequestSchema)
@blp.response(202, ResetRequestAnswerSchema)
@blp.alt_response(409, description="Email is not set up on this server (code email_not_configured)")
@blp.alt_response(429, description="Too many requests")
def password_reset_request(data):
    """Forgot your password: emails a one-time link if an account has this address; the answer never says."""
    if not mail.configured():
        raise Conflict("Email is not set up on this server: ask an administrator for a reset link.",
                       code="email_not_configured")
    services.request_password_reset(data["email"])
    return {"message": "If an account uses that address, a link to choose a new password is on its way. It works "
                       f"once, for {current_app.config['RESET_TOKEN_MINUTES']} minutes."}


@blp.route("/auth/password-reset/confirm", methods=["POST"])
@blp.arguments(ResetConfirmSchema)
@blp.response(204)
@blp.alt_response(422, description="The link is used, replaced or expired (invalid_link), or the password too short")
def password_reset_confirm(data):
    """Set a new password with the token of an emailed reset link (single use)."""
    services.reset_password(data["token"], data["password"])


@blp.route("/users/<int:user_id>/password-reset", methods=["POST"])
@blp.response(201, ResetLinkSchema)
def user_password_reset(user_id):
    """Send a person a one-time link to choose a new password (admin). Without email set up, the answer carries the
    link to pass on."""
    services.require_admin(current_user)
    link, plain, emailed = services.send_reset_link(current_user, services.get_user(user_id))
    return {"emailed": emailed, "url": None if emailed else services.reset_url(plain), "expires_at": link.expires_at}


@blp.route("/invites")
class Invites(MethodView):
    @blp.response(200, PendingInviteListSchema)
    @blp.alt_response(403, description="Not an administrator")
    def get(self):
        """Pending invitations (admin): invited people who have not chosen a password yet."""
        return {"items": [{"user": user, "expires_at": link.expires_at if link else None}
                          for user, link in services.pending_invites(current_user)], "next": None}

    @blp.arguments(InviteCreateSchema)
    @blp.response(201, InviteSchema)
    @blp.alt_response(409, description="An account already uses the address (email_taken)")
    def post(self, data):
        """Invite a person (admin): an account without a password and a one-time link, emailed when email is set
        up, else in the answer's ``url`` to pass on. Inviting a pending address again renews the invitation."""
        user, link, plain, emailed = services.invite_user(current_user, **data)
        return {"user": user, "emailed": emailed, "url": None if emailed else services.invite_url(plain),
                "expires_at": link.expires_at}


@blp.route("/invites/<int:user_id>")
class InviteById(MethodView):
    @blp.response(201, InviteSchema)
    @blp.alt_response(409, description="Already accepted (already_accepted)")
    def post(self, user_id):
        """Resend an invitation (admin): a new link; the older one dies."""
        user = services.get_user(user_id)
        link, plain, emailed = services.send_invite(current_user, user)
        return {"user": user, "emailed": emailed, "url": None if emailed else services.invite_url(plain),
                "expires_at": link.expires_at}

    @blp.response(204)
    @blp.alt_response(409, description="Already accepted (already_accepted)")
    def delete(self, user_id):
        """Revoke an invitation (admin): the link dies and the account is deactivated."""
        services.revoke_invite(current_user, services.get_user(user_id))


@blp.route("/auth/invite/accept", methods=["POST"])
@blp.arguments(InviteAcceptSchema)
@blp.response(200, MeSchema)
@blp.alt_response(422, description="The link is used, replaced or expired (invalid_link), or the password too short")
def invite_accept(data):
    """Accept an invitation: set your name and password with the link's token; signs you in."""
    user = services.accept_invite(data["token"], name=data["name"], password=data["password"])
    login_user(user)
    return me_payload(user)


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """The signed-in person, with their mentees and mentors."""
    return me_payload(current_user)


@blp.route("/me/password", methods=["POST"])
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(422, description="The current password is wrong (wrong_password) or the new one too short")
def change_password(data):
    """Change my password. Every other session of mine ends and all my API tokens are revoked (the token making
    this call too); a session cookie making it stays signed in."""
    user = current_user._get_current_object()
    services.change_password(user, data["current_password"], data["new_password"])
    if not g.auth_via_token:
        login_user(user)  # this session carries the new session version


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserQuerySchema, location="query")
    @blp.response(200, PersonListSchema)
    def get(self, args):
        """Find people (by name or email) to share a lesson with."""
        return {"items": services.search_users(current_user, args.get("q")), "next": None}

    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        """Create an account (admin)."""
        return services.create_user(current_user, **data)


@blp.route("/users/import", methods=["POST"])
@blp.arguments(PeopleImportFormSchema, location="form")
@blp.response(200, PeopleImportResultSchema)
@blp.alt_response(422, description="A line is wrong (the real run then changes nothing), or the file is unreadable")
def import_users(form):
    """Import people and mentorships from CSV (admin; multipart ``file``, columns email,name,role,mentor_email;
    role teacher, mentor or admin). ``dry_run``: what would change and line-numbered errors, nothing changed. The
    real run is all or nothing; new people get invitations (emailed when email is set up)."""
    services.require_admin(current_user)
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("Send the CSV file as a multipart field named 'file'.", fields={"file": ["Required."]})
    result = importing.run(current_user, upload.read(importing.MAX_BYTES + 1), dry_run=form["dry_run"])
    if result.errors and not form["dry_run"]:
        messages = [f"Line {e['line']}: {e['message']}" for e in result.errors]
        raise InvalidInput("Nothing was imported: " + "; ".join(messages[:5]), code="import_failed",
                           fields={"file": messages})
    return {"dry_run": form["dry_run"], **result.__dict__}


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One person (admin sees every detail; others get the public fields)."""
        user = services.get_user(user_id)
        if not policy.may_see_account_details(current_user, user):
            return {"id": user.id, "name": user.name, "email": user.email}
        return user

    @blp.arguments(UserUpdateSchema, required=False)  # every field is optional: no body changes nothing
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        """Rename, deactivate, make admin or reset the password of an account (admin)."""
        return services.update_user(current_user, services.get_user(user_id), **data)


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenListSchema)
    def get(self):
        """My API tokens (not revoked)."""
        return {"items": services.list_tokens(current_user), "next": None}

    @blp.arguments(TokenSchema, required=False)  # no body: a token without a name
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Create an API token; the token itself is shown only in this answer."""
        token, plain = services.create_token(current_user, current_user, data.get("name", ""))
        return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": token.created_at,
                "last_used_at": None, "token": plain}


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(token_id):
    """Revoke one of my API tokens."""
    services.revoke_token(current_user, token_id)


@blp.route("/mentorships")
class Mentorships(MethodView):
    @blp.arguments(MentorshipQuerySchema, location="query")
    @blp.response(200, MentorshipListSchema)
    def get(self, args):
        """Mentorships: all of them for an admin, my own otherwise."""
        return {"items": services.list_mentorships(current_user, include_ended=args["include_ended"]),
                "next": None}

    @blp.arguments(MentorshipCreateSchema)
    @blp.response(201, MentorshipSchema)
    def post(self, data):
        """Pair a mentor with a mentee (admin)."""
        services.require_admin(current_user)
        return services.create_mentorship(current_user, services.get_user(data["mentor_id"]),
                                          services.get_user(data["mentee_id"]))


@blp.route("/mentorships/<int:mentorship_id>")
class MentorshipById(MethodView):
    @blp.response(200, MentorshipSchema)
    def get(self, mentorship_id):
        return services.get_mentorship(current_user, mentorship_id)

    @blp.response(204)
    def delete(self, mentorship_id):
        """End a mentorship (admin): the mentor loses access to the mentee's lessons at once."""
        services.end_mentorship(current_user, services.get_mentorship(current_user, mentorship_id))
