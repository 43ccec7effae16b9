"""In-app notifications (and their email, when the person asked for it).

Made by the mentoring services (journal shared, replies, cycle steps) and, for what happens in the domains below
(feedback on my lesson, a reply to my annotation, a clip or reel sent to me, an invitation to watch together), by
watching the unit of work: new rows of those kinds in a flush add a notification to the same transaction, so it is
saved with them or not at all.
"""

from __future__ import annotations

from datetime import timedelta

from flask import has_app_context
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from obsapp import policy, uow
from obsapp.accounts.models import User, utcnow
from obsapp.annotations.models import Annotation, Reply
from obsapp.clips.models import FeedbackItem
from obsapp.errors import InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from obsapp.mentoring import mail
from obsapp.mentoring.models import NOTIFICATION_KINDS, Notification, NotificationSetting
from obsapp.watch.models import WatchInvitation, WatchSession

EMAIL_CHOICES = ("off", "instant", "digest")


def send(user_id: int, kind: str, title: str, url: str, session: Session | None = None) -> Notification:
    """Tell ``user_id`` (a short title, a link within obsapp); email it now if they chose instant email."""
    session = session or db.session
    note = Notification(user_id=user_id, kind=kind, title=title[:200], url=url)
    session.add(note)
    if has_app_context() and mail.configured():
        with session.no_autoflush:
            choice = session.get(NotificationSetting, (user_id, kind))
            user = session.get(User, user_id)
        if choice is not None and choice.email == "instant" and user is not None and user.is_active:
            note.emailed_at = utcnow()
            message = mail.Mail(to=user.email, subject=f"obsapp: {note.title}",
                                text=f"{note.title}\n\n{mail.public_url(url)}\n\nStop these emails: "
                                     f"{mail.unsubscribe_url(user_id, kind)}\n",
                                unsubscribe_url=mail.unsubscribe_url(user_id, kind))
            uow.after_commit(mail.deliver, mail.smtp_settings(), [message])
    return note


# --- what the domains below do ----------------------------------------------------------------------------------


@event.listens_for(Session, "before_flush")
def _watch_new_rows(session: Session, _context, _instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, (Annotation, Reply, FeedbackItem, WatchInvitation))]
    if not new:
        return
    with session.no_autoflush:
        for obj in new:
            if isinstance(obj, Annotation):
                _on_annotation(session, obj)
            elif isinstance(obj, Reply):
                _on_reply(session, obj)
            elif isinstance(obj, WatchInvitation):
                _on_watch_invitation(session, obj)
            else:
                _on_delivery(session, obj)


def _on_annotation(session: Session, annotation: Annotation) -> None:
    """Feedback on my lesson: someone else's shared annotation (not while a cycle still holds it back)."""
    lesson = session.get(Lesson, annotation.lesson_id)
    owner = session.get(User, lesson.owner_id) if lesson is not None else None
    if owner is None or annotation.author_id == lesson.owner_id or policy.annotation_for_author_only(annotation):
        return
    if policy.is_held_back(owner, lesson.id, annotation.author_id):
        return  # announced when the cycle reveals the feedback
    author = session.get(User, annotation.author_id)
    send(owner.id, "feedback", f"New feedback from {author.name if author else 'someone'} on “{lesson.title}”",
         f"/lessons/{lesson.id}#t={annotation.start_ms / 1000:g}", session)


def _on_reply(session: Session, reply: Reply) -> None:
    """A reply to me: the annotation's author and those who replied before (each who may still see it)."""
    annotation = reply.annotation or session.get(Annotation, reply.annotation_id)
    if annotation is None:
        return
    lesson = session.get(Lesson, annotation.lesson_id)
    people = {annotation.author_id} | {r.author_id for r in annotation.replies if r.id is not None}
    people.discard(reply.author_id)
    author = session.get(User, reply.author_id)
    for user_id in sorted(people):
        user = session.get(User, user_id)
        if user is not None and policy.annotation_visible(user, annotation, lesson):
            send(user_id, "reply", f"{author.name if author else 'Someone'} replied on “{lesson.title}”",
                 f"/lessons/{lesson.id}#t={annotation.start_ms / 1000:g}", session)


def _on_delivery(session: Session, item: FeedbackItem) -> None:
    sender = session.get(User, item.sender_id) if item.sender_id else None
    what = "a clip" if item.clip_id is not None else "a reel"
    url = f"/clips/{item.clip_id}" if item.clip_id is not None else f"/reels/{item.reel_id}"
    send(item.recipient_id, "clip", f"{sender.name if sender else 'Someone'} sent you {what}", url, session)


def _on_watch_invitation(session: Session, invitation: WatchInvitation) -> None:
    """Asked to watch together: the link joins the session while it runs (and says it expired after)."""
    watch = session.get(WatchSession, invitation.session_id)
    lesson = session.get(Lesson, watch.lesson_id) if watch is not None else None
    if lesson is None:
        return
    host = session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    send(invitation.user_id, "watch", f"{host.name if host else 'Someone'} invites you to watch “{lesson.title}” "
         "together", f"/watch/{watch.id}/invitation", session)


# --- reading them ---------------------------------------------------------------------------------------------------


def query(actor: User, unread: bool = False):
    stmt = select(Notification).where(policy.notification_filter(actor, Notification.user_id))
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.created_at.desc(), Notification.id.desc())


def unread_count(actor: User) -> int:
    return db.session.execute(select(func.count()).select_from(Notification).where(
        policy.notification_filter(actor, Notification.user_id), Notification.read_at.is_(None))).scalar_one()


def get(actor: User, notification_id: int) -> Notification:
    note = db.session.execute(select(Notification).where(
        Notification.id == notification_id, policy.notification_filter(actor, Notification.user_id))).scalar()
    if note is None:
        raise NotFound("No such notification.")
    return note


def mark_read(actor: User, note: Notification) -> Notification:
    note.read_at = note.read_at or utcnow()
    db.session.flush()
    return note


def mark_all_read(actor: User) -> int:
    result = db.session.execute(update(Notification).where(
        policy.notification_filter(actor, Notification.user_id), Notification.read_at.is_(None))
        .values(read_at=utcnow()))
    return result.rowcount or 0


def settings(actor: User) -> dict[str, str]:
    rows = db.session.execute(select(NotificationSetting).where(
        policy.notification_filter(actor, NotificationSetting.user_id))).scalars()
    chosen = {row.kind: row.email for row in rows}
    return {kind: chosen.get(kind, "off") for kind in NOTIFICATION_KINDS}


def change_settings(actor: User, email: dict[str, str]) -> dict[str, str]:
    if not policy.is_signed_in(actor):
        raise NotFound("No such settings.")
    bad = {k: v for k, v in email.items() if k not in NOTIFICATION_KINDS or v not in EMAIL_CHOICES}
    if bad:
        raise InvalidInput(f"Kinds are {', '.join(NOTIFICATION_KINDS)}; each is off, instant or digest.",
                           fields={k: ["Unknown kind or choice."] for k in bad})
    for kind, choice in email.items():
        _choose(actor.id, kind, choice)
    db.session.flush()
    return settings(actor)


def _choose(user_id: int, kind: str, choice: str) -> None:
    row = db.session.get(NotificationSetting, (user_id, kind))
    if row is None:
        db.session.add(NotificationSetting(user_id=user_id, kind=kind, email=choice))
    else:
        row.email = choice


def unsubscribe(token: str) -> str:
    """One click from an email: that kind is no longer emailed. Returns the kind."""
    found = mail.read_unsubscribe_token(token)
    if found is None or db.session.get(User, found[0]) is None:
        raise NotFound("This unsubscribe link is not valid.")
    _choose(*found, "off")
    db.session.flush()
    return found[1]


def send_digests(now=None, *, only_due: bool = False) -> int:
    """One email per person with the notifications of their digest kinds not yet emailed (a week's at most; older
    ones are marked without sending). ``only_due``: only people whose oldest waiting one is a day old, so that the
    workers' housekeeping sends each person at most one digest a day. Returns how many emails were handed over."""
    now = now or utcnow()
    if not mail.configured():
        return 0
    rows = db.session.execute(
        select(Notification, User).join(User, User.id == Notification.user_id)
        .join(NotificationSetting, (NotificationSetting.user_id == Notification.user_id)
              & (NotificationSetting.kind == Notification.kind))
        .where(NotificationSetting.email == "digest", Notification.emailed_at.is_(None), User.active.is_(True))
        .order_by(Notification.user_id, Notification.created_at)).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for note, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(note)
    messages = []
    for user, notes in by_user.values():
        if only_due and notes[0].created_at > now - timedelta(days=1):
            continue
        for note in notes:
            note.emailed_at = now
        recent = [n for n in notes if n.created_at >= now - timedelta(days=7)]
        if not recent:
            continue
        lines = [f"- {n.title}\n  {mail.public_url(n.url)}" for n in recent]
        kinds = sorted({n.kind for n in recent})
        stop = "\n".join(f"Stop emails about {mail.KIND_NAMES[k]}: {mail.unsubscribe_url(user.id, k)}" for k in kinds)
        messages.append(mail.Mail(to=user.email, subject=f"obsapp: {len(recent)} new for you",
                                  text="What is new for you in obsapp:\n\n" + "\n".join(lines) + "\n\n" + stop + "\n",
                                  unsubscribe_url=mail.unsubscribe_url(user.id, kinds[0])))
    db.session.flush()
    if messages:
        uow.after_commit(mail.deliver, mail.smtp_settings(), messages)
    return len(messages)


def due_digests() -> int:
    """Housekeeping (every few minutes in the workers): the digests that are due."""
    return send_digests(only_due=True)
