"""Account rules: people, sign-in, API tokens and mentorships. Services take the acting user and commit once."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from obsapp import mail, policy, uow
from obsapp.accounts.models import AccountLink, ApiToken, Mentorship, User, utcnow
from obsapp.accounts.passwords import burn_time, hash_password, verify_password
from obsapp.errors import Conflict, Forbidden, InvalidInput, NotFound
from obsapp.extensions import db

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL = 254  # User.email
MIN_PASSWORD = 8
TOKEN_PREFIX = "obs_"  # noqa: S105 - a visible prefix, not a secret


def require_admin(actor: User | None) -> None:
    """``actor`` None means the operator at the command line, who may do anything."""
    policy.require_admin(actor)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such person.")
    return user


def get_user_by_email(email: str) -> User:
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No account with the email {email!r}.")
    return user


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD} characters.",
                           fields={"password": [f"At least {MIN_PASSWORD} characters."]})


def _check_new_person(email: str, name: str) -> tuple[str, str]:
    email = normalise_email(email)
    if not EMAIL_RE.match(email):
        raise InvalidInput(f"{email!r} is not an email address.", fields={"email": ["Not an email address."]})
    if len(email) > MAX_EMAIL:  # the column's limit (PostgreSQL enforces it)
        raise InvalidInput(f"An email address has at most {MAX_EMAIL} characters.",
                           fields={"email": [f"At most {MAX_EMAIL} characters."]})
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the person's name.", fields={"name": ["Required."]})
    return email, name


def create_user(actor: User | None, *, email: str, name: str, password: str, is_admin: bool = False) -> User:
    require_admin(actor)
    email, name = _check_new_person(email, name)
    _check_password(password)
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"There is already an account for {email}.", code="email_taken")
    user = User(email=email, name=name[:120], password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(actor: User | None, user: User, *, name: str | None = None, is_admin: bool | None = None,
                active: bool | None = None, password: str | None = None) -> User:
    require_admin(actor)
    if name is not None:
        if not name.strip():
            raise InvalidInput("Give the person's name.", fields={"name": ["Required."]})
        user.name = name.strip()[:120]
    if actor is not None and actor.id == user.id and (is_admin is False or active is False):
        raise Conflict("You cannot remove your own administrator rights or deactivate yourself.")
    if is_admin is not None:
        user.is_admin = is_admin
    if active is not None:
        user.active = active
        if not active:  # a deactivated account's tokens stop working at once
            for token in db.session.execute(
                select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            ).scalars():
                token.revoked_at = utcnow()
    if password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
        end_other_sessions(user)  # set by an admin: every session and token of the person ends
    db.session.flush()
    return user


def end_other_sessions(user: User) -> int:
    """After a password change: every signed-in session of ``user`` ends (their cookies carry the old session
    version, see auth.load_user) and every API token is revoked. The request that changed the password keeps its
    own session by signing in again (login_user stores the new version). Returns how many tokens were revoked."""
    user.session_version = (user.session_version or 0) + 1
    revoked = 0
    for token in db.session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).scalars():
        token.revoked_at = utcnow()
        revoked += 1
    db.session.flush()
    return revoked


def change_password(user: User, current_password: str, new_password: str) -> User:
    """A signed-in person changes their own password: the current one must match. Their other sessions and their
    API tokens end (the caller signs the current session in again)."""
    ok, _ = verify_password(user.password_hash, current_password or "")
    if not ok:
        raise InvalidInput("Your current password is not right.", code="wrong_password",
                           fields={"current_password": ["Not your current password."]})
    _check_password(new_password)
    user.password_hash = hash_password(new_password)
    end_other_sessions(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None. Upgrades the stored hash when parameters changed."""
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is None:
        burn_time(password or "")
        return None
    ok, new_hash = verify_password(user.password_hash, password or "")
    if not ok or not user.is_active:
        return None
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def search_users(actor: User, q: str | None, limit: int = 50) -> list[User]:
    stmt = select(User).where(User.active.is_(True)).order_by(User.name, User.id)
    if q:
        # lower() on both sides: case-insensitive on SQLite and PostgreSQL alike; % and _ are searched literally
        needle = q.strip().lower()
        stmt = stmt.where(or_(func.lower(User.name).contains(needle, autoescape=True),
                              func.lower(User.email).contains(needle, autoescape=True)))
    return list(db.session.execute(stmt.limit(limit)).scalars())


def list_users(actor: User) -> list[User]:
    require_admin(actor)
    return list(db.session.execute(select(User).order_by(User.name, User.id)).scalars())


# --- API tokens ---------------------------------------------------------------------------------

def _digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is right here (a slow one would only slow every request).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(actor: User | None, user: User, name: str = "") -> tuple[ApiToken, str]:
    if actor is not None and actor.id != user.id:
        raise Forbidden("You can only create tokens for yourself.")
    if not user.is_active:
        raise Conflict("That account is deactivated.")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=(name or "").strip()[:120], token_hash=_digest(plain),
                     prefix=plain[: len(TOKEN_PREFIX) + 6])
    db.session.add(token)
    db.session.flush()
    return token, plain


def user_for_token(plain: str) -> User | None:
    if not plain:
        return None
    token = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == _digest(plain.strip()), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if token is None or not token.user.is_active:
        return None
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or now - last > timedelta(minutes=5):  # avoid a write on every request
        token.last_used_at = now
        db.session.flush()
    return token.user


def list_tokens(actor: User) -> list[ApiToken]:
    stmt = select(ApiToken).where(ApiToken.user_id == actor.id, ApiToken.revoked_at.is_(None))
    return list(db.session.execute(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def revoke_token(actor: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id or token.revoked_at is not None:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    db.session.flush()


# --- Mentorships --------------------------------------------------------------------------------

def create_mentorship(actor: User | None, mentor: User, mentee: User) -> Mentorship:
    require_admin(actor)
    if mentor.id == mentee.id:
        raise InvalidInput("A person cannot mentor themselves.")
    if not mentor.is_active or not mentee.is_active:
        raise Conflict("Both people must have active accounts.")
    existing = db.session.execute(
        select(Mentorship).where(Mentorship.mentor_id == mentor.id, Mentorship.mentee_id == mentee.id,
                                 Mentorship.ended_at.is_(None))
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(f"{mentor.name} already mentors {mentee.name}.", code="already_paired")
    mentorship = Mentorship(mentor_id=mentor.id, mentee_id=mentee.id, created_by_id=actor.id if actor else None)
    db.session.add(mentorship)
    db.session.flush()
    return mentorship


def get_mentorship(actor: User, mentorship_id: int) -> Mentorship:
    mentorship = db.session.get(Mentorship, mentorship_id)
    if mentorship is None or not policy.may_see_mentorship(actor, mentorship):
        raise NotFound("No such mentorship.")
    return mentorship


def end_mentorship(actor: User | None, mentorship: Mentorship) -> Mentorship:
    require_admin(actor)
    if mentorship.ended_at is None:
        mentorship.ended_at = utcnow()
        db.session.flush()
    return mentorship


def list_mentorships(actor: User, *, include_ended: bool = False) -> list[Mentorship]:
    stmt = select(Mentorship).order_by(Mentorship.created_at.desc(), Mentorship.id.desc())
    stmt = stmt.where(policy.mentorships_filter(actor, Mentorship.mentor_id, Mentorship.mentee_id))
    if not include_ended:
        stmt = stmt.where(Mentorship.ended_at.is_(None))
    return list(db.session.execute(stmt).scalars())


def mentees_of(user: User) -> list[User]:
    stmt = (select(User).join(Mentorship, Mentorship.mentee_id == User.id)
            .where(Mentorship.mentor_id == user.id, Mentorship.ended_at.is_(None)).order_by(User.name, User.id))
    return list(db.session.execute(stmt).scalars().unique())


def mentors_of(user: User) -> list[User]:
    stmt = (select(User).join(Mentorship, Mentorship.mentor_id == User.id)
            .where(Mentorship.mentee_id == user.id, Mentorship.ended_at.is_(None)).order_by(User.name, User.id))
    return list(db.session.execute(stmt).scalars().unique())


# --- One-time links: password reset -------------------------------------------------------------

RESET = "reset"
INVITE = "invite"
NO_PASSWORD = ""  # an invited person's password_hash until they accept: no password can match it
BAD_LINK = "This link is not valid any more: it was used, replaced by a newer one, or has expired. Ask for a new one."


def _link_lifetime(purpose: str) -> timedelta:
    if purpose == INVITE:
        return timedelta(days=current_app.config["INVITE_TOKEN_DAYS"])
    return timedelta(minutes=current_app.config["RESET_TOKEN_MINUTES"])


def issue_link(actor: User | None, user: User, purpose: str = RESET) -> tuple[AccountLink, str]:
    """A new one-time link for ``user``; the older unused links of that purpose die. Returns (link, token)."""
    if actor is not None and actor.id != user.id:
        require_admin(actor)
    if not user.is_active:
        raise Conflict(f"{user.name}'s account is deactivated: activate it first.", code="inactive")
    db.session.execute(delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == purpose,
                                                 AccountLink.used_at.is_(None)))
    plain = secrets.token_urlsafe(32)
    now = utcnow()
    link = AccountLink(user_id=user.id, purpose=purpose, token_hash=_digest(plain), created_at=now,
                       expires_at=now + _link_lifetime(purpose), created_by_id=actor.id if actor else None)
    db.session.add(link)
    db.session.flush()
    return link, plain


def reset_url(plain: str) -> str:
    return mail.public_url(f"/reset/{plain}")


def _reset_mail(user: User, plain: str) -> mail.Mail:
    minutes = current_app.config["RESET_TOKEN_MINUTES"]
    return mail.Mail(to=user.email, subject="obsapp: choose a new password",
                     text=f"Hello {user.name},\n\nTo choose a new password for obsapp, open this link within "
                          f"{minutes} minutes (it works once):\n\n{reset_url(plain)}\n\n"
                          "If you did not ask for this, ignore this email: your password stays as it is.\n")


def _deliver_in_background(settings: dict, mails: list[mail.Mail]) -> None:
    # The answer to "forgot your password?" must not wait for the mail server: its delay would tell a known
    # address from an unknown one.
    threading.Thread(target=mail.deliver, args=(settings, mails), name="obsapp-reset-mail", daemon=True).start()


def send_reset_link(actor: User | None, user: User) -> tuple[AccountLink, str, bool]:
    """Issue a reset link for ``user`` and email it after the commit when email is set up.
    Returns (link, token, emailed): without email the caller shows the link to the admin to pass on."""
    link, plain = issue_link(actor, user, RESET)
    if mail.configured():
        uow.after_commit(_deliver_in_background, mail.smtp_settings(), [_reset_mail(user, plain)])
        return link, plain, True
    return link, plain, False


def request_password_reset(email: str) -> None:
    """"Forgot your password?": emails a link when an active account has this address; says nothing either way."""
    if not mail.configured():
        return
    user = db.session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()
    if user is not None and user.is_active and len(normalise_email(email)) <= MAX_EMAIL:
        send_reset_link(None, user)


def find_link(plain: str, purpose: str = RESET) -> AccountLink:
    """The live link for this token, or InvalidInput with a readable message (code ``invalid_link``)."""
    link = None
    if plain and len(plain) <= 200:
        link = db.session.execute(
            select(AccountLink).where(AccountLink.token_hash == _digest(plain.strip()), AccountLink.purpose == purpose)
        ).scalar_one_or_none()
    if link is None or link.used_at is not None or link.expires_at <= utcnow() or not link.user.is_active:
        raise InvalidInput(BAD_LINK, code="invalid_link")
    return link


def reset_password(plain: str, password: str) -> User:
    """Set a new password through a reset link; the link is spent (the change commits with it)."""
    link = find_link(plain, RESET)
    _check_password(password)
    user = link.user
    user.password_hash = hash_password(password)
    link.used_at = utcnow()
    end_other_sessions(user)  # whoever knew the old password is signed out, their tokens revoked
    return user


# --- Invites --------------------------------------------------------------------------------------

def is_pending(user: User) -> bool:
    """Invited, and has not chosen a password yet."""
    return user.password_hash == NO_PASSWORD


def _invite_mail(user: User, plain: str, inviter: User | None) -> mail.Mail:
    days = current_app.config["INVITE_TOKEN_DAYS"]
    by_text = f"{inviter.name} has invited you" if inviter is not None else "You have been invited"
    return mail.Mail(to=user.email, subject="obsapp: you are invited",
                     text=f"Hello {user.name},\n\n{by_text} to obsapp, where teachers watch their lessons and give "
                          f"each other feedback.\n\nOpen this link within {days} days to choose your password "
                          f"(it works once):\n\n{invite_url(plain)}\n")


def invite_url(plain: str) -> str:
    return mail.public_url(f"/invite/{plain}")


def send_invite(actor: User | None, user: User) -> tuple[AccountLink, str, bool]:
    """A new invite link for a pending person (older ones die), emailed after the commit when email is set up."""
    require_admin(actor)
    if not is_pending(user):
        raise Conflict(f"{user.name} has already accepted their invitation.", code="already_accepted")
    link, plain = issue_link(actor, user, INVITE)
    if mail.configured():
        uow.after_commit(mail.deliver, mail.smtp_settings(), [_invite_mail(user, plain, actor)])
        return link, plain, True
    return link, plain, False


def invite_user(actor: User | None, *, email: str, name: str, is_admin: bool = False
                ) -> tuple[User, AccountLink, str, bool]:
    """An account without a password and a one-time link to choose one. Inviting a pending (or revoked) invitee's
    address again renews their invitation."""
    require_admin(actor)
    email, name = _check_new_person(email, name)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is not None and not is_pending(user):
        raise Conflict(f"There is already an account for {email}.", code="email_taken")
    if user is None:
        user = User(email=email, name=name[:120], password_hash=NO_PASSWORD, is_admin=is_admin)
        db.session.add(user)
    else:
        user.name, user.is_admin, user.active = name[:120], is_admin, True
    db.session.flush()
    link, plain, emailed = send_invite(actor, user)
    return user, link, plain, emailed


def pending_invites(actor: User | None) -> list[tuple[User, AccountLink | None]]:
    """Invited people who have not accepted (and are not revoked), with their live link if any."""
    require_admin(actor)
    users = db.session.execute(select(User).where(User.password_hash == NO_PASSWORD, User.active.is_(True))
                               .order_by(User.created_at.desc(), User.id.desc())).scalars().all()
    links = {link.user_id: link for link in db.session.execute(
        select(AccountLink).where(AccountLink.purpose == INVITE, AccountLink.used_at.is_(None),
                                  AccountLink.user_id.in_([u.id for u in users]))).scalars()}
    return [(user, links.get(user.id)) for user in users]


def revoke_invite(actor: User | None, user: User) -> None:
    """The link dies and the account is deactivated (inviting the address again renews it)."""
    require_admin(actor)
    if not is_pending(user):
        raise Conflict(f"{user.name} has already accepted their invitation.", code="already_accepted")
    db.session.execute(delete(AccountLink).where(AccountLink.user_id == user.id, AccountLink.purpose == INVITE))
    user.active = False
    db.session.flush()


def accept_invite(plain: str, *, name: str, password: str) -> User:
    """The invitee sets their name and password; the link is spent."""
    link = find_link(plain, INVITE)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give your name.", fields={"name": ["Required."]})
    _check_password(password)
    user = link.user
    user.name = name[:120]
    user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    link.used_at = utcnow()
    db.session.flush()
    return user
