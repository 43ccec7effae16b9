"""Clip, reel and feedback rules. Services take the acting user, check permissions, and flush (the request commits).

Who may do what:
- see a clip (and its media): anyone who may view its lesson; nobody else (404);
- make a clip, retry one, send one, see who watched it: people who may comment on the lesson (the owner,
  their mentors, commenters);
- a reel is seen by people who may view every lesson in it, and made from clips its creator may see;
- a clip or reel goes only to people who may view its lesson(s); the recipient marks it watched and reviewed.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from obsapp import policy
from obsapp.accounts.models import Mentorship, User, utcnow
from obsapp.annotations.models import Annotation, Reply
from obsapp.clips.models import Clip, FeedbackItem, Reel, ReelItem
from obsapp.errors import Conflict, Forbidden, InvalidInput
from obsapp.extensions import db
from obsapp.jobs.queue import enqueue
from obsapp.lessons.models import Lesson, LessonShare

MAX_REEL_CLIPS = 50
MAX_MESSAGE = 5000


# --- the annotations domain, in one place ----------------------------------------------------------


def annotation_context(actor: User | None, annotation_id: int, lesson: Lesson) -> dict:
    """What a clip needs of an annotation: its words, kind and criteria (checked: same lesson, visible to ``actor``).

    Raises InvalidInput when there is no such annotation on that lesson for this person.
    """
    annotation = db.session.get(Annotation, annotation_id)
    if annotation is None or annotation.lesson_id != lesson.id:
        raise InvalidInput("No such annotation on this lesson.", fields={"annotation_id": ["Not found."]})
    if not policy.annotation_visible(actor, annotation, lesson):
        raise InvalidInput("No such annotation on this lesson.", fields={"annotation_id": ["Not found."]})
    return {
        "id": annotation.id,
        "body": annotation.body or "",
        "kind": annotation.kind,
        "criteria": _criterion_names(annotation.criteria),
        "start_ms": annotation.start_ms,
        "end_ms": annotation.end_ms,
    }


def _criterion_names(criteria) -> list[str]:
    names = []
    for item in criteria or []:
        if isinstance(item, dict):
            code, name = item.get("code"), item.get("name")
        else:
            code, name = getattr(item, "code", None), getattr(item, "name", None)
        if name is None and not isinstance(item, dict):
            name = str(item)
        names.append(f"{code} {name}".strip() if code and name and not str(name).startswith(str(code)) else
                     str(name or code))
    return [n for n in names if n]


def reflections_since(annotation_id: int | None, since_by_user: dict[int, datetime | None]) -> dict[int, int]:
    """For each user, how many replies they wrote on the annotation since their time (their reflections on
    a clip sent to them), in one query; 0 for each when there is no annotation."""
    counts = dict.fromkeys(since_by_user, 0)
    if annotation_id is None or not since_by_user:
        return counts
    stmt = select(Reply.author_id, Reply.created_at).where(Reply.annotation_id == annotation_id,
                                                            Reply.author_id.in_(list(since_by_user)))
    for author_id, created_at in db.session.execute(stmt):
        since = since_by_user[author_id]
        if since is None or created_at >= since:
            counts[author_id] += 1
    return counts


# --- clips -----------------------------------------------------------------------------------------


def get_clip(actor: User, clip_id: int, action: str = "view") -> Clip:
    """The clip if ``actor`` may see its lesson (NotFound otherwise); Forbidden if they may not do ``action``."""
    return policy.require_clip(actor, db.session.get(Clip, clip_id), action)


def heading_of(kind: str | None, criteria: list[str] | None) -> str | None:
    """The first caption line: the annotation's kind and criteria, e.g. "Strength · 3.2 Questioning"."""
    parts = [kind.capitalize()] if kind else []
    if criteria:
        parts.append(", ".join(criteria))
    return " · ".join(parts) or None


def create_clip(actor: User, lesson: Lesson, data: dict, *, task: str = "clip.render") -> Clip:
    """A clip of the lesson, rendered by a job of ``task`` (the clip job, or one that runs it and then goes on,
    as the evidence reels' does)."""
    policy.require(actor, "comment", lesson)
    if lesson.status != "ready" or not lesson.duration_ms:
        raise Conflict("The lesson's video is not ready yet.", code="not_ready")
    start_ms, end_ms = int(data["start_ms"]), int(data["end_ms"])
    if not 0 <= start_ms < end_ms <= lesson.duration_ms:
        raise InvalidInput(f"A clip needs 0 ≤ start_ms < end_ms ≤ {lesson.duration_ms} (the lesson's length).",
                           fields={"end_ms" if start_ms >= 0 else "start_ms": ["Outside the lesson."]})
    context = None
    if data.get("annotation_id") is not None:
        context = annotation_context(actor, int(data["annotation_id"]), lesson)
    title = (data.get("title") or "").strip()
    if not title:
        title = (context["body"].splitlines()[0][:80] if context and context["body"] else "") or \
            f"{lesson.title} at {_clock(start_ms)}"
    blur = data.get("blur_faces")
    clip = Clip(
        lesson_id=lesson.id, creator_id=actor.id, annotation_id=context["id"] if context else None,
        start_ms=start_ms, end_ms=end_ms, title=title[:200],
        accurate=bool(data.get("accurate", True)), captions=bool(data.get("captions", False)),
        title_card=bool(data.get("title_card", False)),
        blur_faces=lesson.blur_faces_default if blur is None else bool(blur) or lesson.blur_faces_default,
        comment=context["body"] if context else None, kind=context["kind"] if context else None,
        criteria=context["criteria"] if context else None, status="processing",
    )
    if clip.captions and not clip.comment:
        clip.comment = title  # captions with no annotation: the title
    db.session.add(clip)
    db.session.flush()
    clip.job_id = enqueue(task, owner_id=actor.id, lesson_id=lesson.id, clip_id=clip.id).id
    db.session.flush()
    return clip


def retry_clip(actor: User, clip: Clip) -> Clip:
    get_clip(actor, clip.id, "comment")
    if clip.status != "failed":
        raise Conflict("Only a clip whose processing failed can be retried.")
    if clip.lesson.status != "ready":
        raise Conflict("The lesson's video is not ready.", code="not_ready")
    clip.status, clip.error = "processing", None
    clip.job_id = enqueue("clip.render", owner_id=actor.id, lesson_id=clip.lesson_id, clip_id=clip.id).id
    db.session.flush()
    return clip


def clips_of_lesson(actor: User, lesson: Lesson):
    policy.require(actor, "view", lesson)
    return select(Clip).where(Clip.lesson_id == lesson.id).order_by(Clip.start_ms, Clip.id)


def clips_by(actor: User):
    """A select() of the clips ``actor`` made that they may still see, newest first."""
    return (select(Clip).join(Lesson, Lesson.id == Clip.lesson_id)
            .where(Clip.creator_id == actor.id, policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))
            .order_by(Clip.created_at.desc(), Clip.id.desc()))


def _clock(ms: int) -> str:
    minutes, seconds = divmod(int(ms) // 1000, 60)
    return f"{minutes}:{seconds:02d}"


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:limit].rstrip("-")


def download_name(clip: Clip) -> str:
    """A readable file name: lesson, where in it, and the clip's title, e.g. fractions-p4-12m30s-feedback.mp4."""
    minutes, seconds = divmod(int(clip.start_ms) // 1000, 60)
    parts = [_slug(clip.lesson.title) or "lesson", f"{minutes}m{seconds:02d}s", _slug(clip.title, 30) or "clip"]
    return "-".join(p for p in parts if p) + ".mp4"


def reel_download_name(reel: Reel) -> str:
    return f"{_slug(reel.title) or 'reel'}-reel.mp4"


# --- reels ---------------------------------------------------------------------------------------------


def get_reel(actor: User, reel_id: int) -> Reel:
    return policy.require_reel(actor, db.session.get(Reel, reel_id))


def create_reel(actor: User, title: str, clip_ids: list[int]) -> Reel:
    title = (title or "").strip()
    if not title:
        raise InvalidInput("Give the reel a title.", fields={"title": ["Required."]})
    if not clip_ids:
        raise InvalidInput("A reel needs at least one clip.", fields={"clip_ids": ["At least one clip."]})
    if len(clip_ids) > MAX_REEL_CLIPS:
        raise InvalidInput(f"A reel holds at most {MAX_REEL_CLIPS} clips.", fields={"clip_ids": ["Too many."]})
    clips = []
    for clip_id in clip_ids:
        clip = db.session.get(Clip, int(clip_id))
        if not policy.can_view_clip_lesson(actor, clip):
            raise InvalidInput(f"No such clip: {clip_id}.", fields={"clip_ids": [f"No such clip: {clip_id}."]})
        if clip.status != "ready":
            raise Conflict(f"The clip “{clip.title}” is not ready yet.", code="not_ready")
        clips.append(clip)
    lesson_ids = sorted({clip.lesson_id for clip in clips})
    reel = Reel(creator_id=actor.id, title=title[:200], status="processing", lesson_ids=lesson_ids,
                clip_count=len(clips))
    reel.items = [ReelItem(clip_id=clip.id, position=n) for n, clip in enumerate(clips)]
    db.session.add(reel)
    db.session.flush()
    reel.job_id = enqueue("reel.render", owner_id=actor.id, reel_id=reel.id).id
    db.session.flush()
    return reel


def retry_reel(actor: User, reel: Reel) -> Reel:
    if not policy.can_retry_reel(actor, reel):
        raise Forbidden("Only the reel's creator can retry it.")
    if reel.status != "failed":
        raise Conflict("Only a reel whose processing failed can be retried.")
    reel.status, reel.error = "processing", None
    reel.job_id = enqueue("reel.render", owner_id=actor.id, reel_id=reel.id).id
    db.session.flush()
    return reel


# --- sending and the inbox -----------------------------------------------------------------------------


def _lessons_of(item: Clip | Reel) -> list[Lesson]:
    if isinstance(item, Clip):
        return [item.lesson]
    return [lesson for lesson in (db.session.get(Lesson, i) for i in item.lesson_ids or []) if lesson is not None]


def teacher_ids(item: Clip | Reel) -> set[int]:
    """The teachers whose lessons a clip or reel shows (a reel's clips may come from several lessons)."""
    return {lesson.owner_id for lesson in _lessons_of(item)}


def send(actor: User, item: Clip | Reel, user_ids: list[int], message: str | None) -> list[FeedbackItem]:
    """Send a clip or reel to people who may view its lesson(s); sending again updates the message."""
    lessons = _lessons_of(item)
    if isinstance(item, Clip):
        get_clip(actor, item.id, "comment")
    elif not policy.can_send_reel(actor, item, lessons):
        raise Forbidden("Only the reel's creator can send it.")
    if item.status == "failed":
        raise Conflict("This failed to process; retry it before sending it.", code="failed")
    ids = list(dict.fromkeys(int(u) for u in user_ids or []))
    if not ids:
        raise InvalidInput("Choose at least one person to send it to.", fields={"user_ids": ["Required."]})
    message = (message or "").strip()[:MAX_MESSAGE] or None
    people, refused = [], []
    for user_id in ids:
        user = db.session.get(User, user_id)
        if user is None or not user.is_active:
            refused.append(f"#{user_id}")
        elif not policy.may_receive(user, lessons):
            refused.append(user.name)
        else:
            people.append(user)
    if refused:
        raise InvalidInput("These people cannot see the lesson, so it cannot be sent to them: "
                           + ", ".join(refused) + ". Share the lesson with them first.",
                           code="not_visible_to_recipient", fields={"user_ids": refused})
    column = FeedbackItem.clip_id if isinstance(item, Clip) else FeedbackItem.reel_id
    sent = []
    for user in people:
        row = db.session.execute(select(FeedbackItem).where(column == item.id, FeedbackItem.recipient_id == user.id)
                                 ).scalar_one_or_none()
        if row is None:
            row = FeedbackItem(recipient_id=user.id, **({"clip_id": item.id} if isinstance(item, Clip)
                                                        else {"reel_id": item.id}))
            db.session.add(row)
        row.sender_id, row.message, row.sent_at = actor.id, message, utcnow()
        sent.append(row)
    db.session.flush()
    return sent


def _my_delivery(actor: User, item: Clip | Reel) -> FeedbackItem:
    column = FeedbackItem.clip_id if isinstance(item, Clip) else FeedbackItem.reel_id
    row = db.session.execute(select(FeedbackItem).where(column == item.id, FeedbackItem.recipient_id == actor.id)
                             ).scalar_one_or_none()
    if row is None:
        raise Conflict("This was not sent to you.", code="not_a_recipient")
    return row


def mark_watched(actor: User, item: Clip | Reel) -> FeedbackItem:
    row = _my_delivery(actor, item)
    if row.watched_at is None:
        row.watched_at = utcnow()
        db.session.flush()
    return row


def mark_reviewed(actor: User, item: Clip | Reel) -> FeedbackItem:
    row = _my_delivery(actor, item)
    now = utcnow()
    row.watched_at = row.watched_at or now
    row.reviewed_at = row.reviewed_at or now
    db.session.flush()
    return row


def my_delivery(actor: User, item: Clip | Reel) -> FeedbackItem | None:
    try:
        return _my_delivery(actor, item)
    except Conflict:
        return None


def deliveries(actor: User, item: Clip | Reel) -> list[FeedbackItem]:
    """Who it was sent to and what they did (its sender, or anyone who may comment on the lesson(s))."""
    column = FeedbackItem.clip_id if isinstance(item, Clip) else FeedbackItem.reel_id
    rows = list(db.session.execute(select(FeedbackItem).where(column == item.id)
                                   .options(selectinload(FeedbackItem.recipient), selectinload(FeedbackItem.sender))
                                   .order_by(FeedbackItem.sent_at, FeedbackItem.id)).scalars())
    return policy.visible_deliveries(actor, item, _lessons_of(item), rows, is_reel=isinstance(item, Reel))


def inbox_query(actor: User):
    """A select() of the feedback sent to ``actor`` that they may still see (filtered in SQL): unread (not yet
    watched) first, newest first."""
    return (select(FeedbackItem)
            .where(policy.inbox_filter(actor, recipient_id=FeedbackItem.recipient_id, clip_id=FeedbackItem.clip_id,
                                       reel_id=FeedbackItem.reel_id))
            .order_by(case((FeedbackItem.watched_at.is_(None), 0), else_=1), FeedbackItem.sent_at.desc(),
                      FeedbackItem.id.desc()))


def inbox(actor: User, limit: int | None = None) -> list[FeedbackItem]:
    """The inbox's first ``limit`` entries (all of them without a limit)."""
    stmt = inbox_query(actor)
    return list(db.session.execute(stmt if limit is None else stmt.limit(limit)).scalars())



def possible_recipients(actor: User, item: Clip | Reel) -> list[User]:
    """People it can be sent to: the lesson's owner, the people it is shared with and the owner's mentors
    (all who may view every lesson in it), except ``actor``."""

    lessons = _lessons_of(item)
    if isinstance(item, Clip):
        get_clip(actor, item.id, "comment")
    ids: set[int] = set()
    for lesson in lessons:
        ids.add(lesson.owner_id)
        ids.update(db.session.execute(select(LessonShare.user_id).where(LessonShare.lesson_id == lesson.id)).scalars())
        ids.update(db.session.execute(select(Mentorship.mentor_id).where(
            Mentorship.mentee_id == lesson.owner_id, Mentorship.ended_at.is_(None))).scalars())
    ids.discard(actor.id)
    people = [user for user in (db.session.get(User, i) for i in ids)
              if user is not None and user.is_active
              and policy.may_receive(user, lessons)]
    return sorted(people, key=lambda u: u.name.lower())
