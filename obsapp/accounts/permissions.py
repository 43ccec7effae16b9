"""Who may do what with a lesson. The one module every layer asks: services, pages, API, Socket.IO, CLI.

Rules (teacher ownership):
- the owner manages their lesson (and may delete it);
- the owner's active mentors may comment;
- people the owner shares with may view or comment, by the share's role;
- admins manage accounts, and may delete a lesson (e.g. when a teacher leaves), but do not see a
  recording unless it is shared with them or they mentor its owner;
- inactive accounts may do nothing.
A lesson the actor may not view is "not found" for them, never "forbidden".
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import exists, or_, select

from obsapp.accounts.models import Mentorship, User
from obsapp.errors import Forbidden, NotFound
from obsapp.extensions import db
from obsapp.lessons.models import Lesson, LessonShare


class Access(IntEnum):
    NONE = 0
    VIEW = 1
    COMMENT = 2
    MANAGE = 3


ACTIONS = {
    "view": Access.VIEW,
    "comment": Access.COMMENT,
    "manage": Access.MANAGE,
}


def is_active_mentor(mentor_id: int, mentee_id: int) -> bool:
    stmt = select(Mentorship.id).where(
        Mentorship.mentor_id == mentor_id, Mentorship.mentee_id == mentee_id, Mentorship.ended_at.is_(None)
    )
    return db.session.execute(stmt.limit(1)).first() is not None


def lesson_access(actor: User | None, lesson: Lesson) -> Access:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Access.NONE
    if lesson.owner_id == actor.id:
        return Access.MANAGE
    best = Access.NONE
    share = db.session.execute(
        select(LessonShare.role).where(LessonShare.lesson_id == lesson.id, LessonShare.user_id == actor.id)
    ).scalar_one_or_none()
    if share == "commenter":
        best = Access.COMMENT
    elif share == "viewer":
        best = Access.VIEW
    if best < Access.COMMENT and is_active_mentor(actor.id, lesson.owner_id):
        best = Access.COMMENT
    return best


def can(actor: User | None, action: str, lesson: Lesson) -> bool:
    if action == "delete":
        return lesson_access(actor, lesson) >= Access.MANAGE or bool(
            actor is not None and getattr(actor, "is_authenticated", False) and actor.is_active and actor.is_admin
        )
    return lesson_access(actor, lesson) >= ACTIONS[action]


def require(actor: User | None, action: str, lesson: Lesson | None) -> Lesson:
    """Return the lesson if ``actor`` may do ``action``; NotFound if they may not even see it."""
    if lesson is None:
        raise NotFound("No such lesson.")
    access = lesson_access(actor, lesson)
    if action == "delete" and can(actor, "delete", lesson):
        return lesson
    if access < Access.VIEW:
        raise NotFound("No such lesson.")
    if access < ACTIONS.get(action, Access.MANAGE):
        raise Forbidden(
            "Only the lesson's owner can do that." if action in ("manage", "delete")
            else "You can watch this lesson but not comment on it."
        )
    return lesson


def visible_lessons_filter(actor: User):
    """A SQL condition selecting the lessons ``actor`` may view (for lists and searches)."""
    if actor is None or not actor.is_active:
        return Lesson.id.is_(None)
    shared = exists().where(LessonShare.lesson_id == Lesson.id, LessonShare.user_id == actor.id)
    mentored = exists().where(
        Mentorship.mentee_id == Lesson.owner_id, Mentorship.mentor_id == actor.id, Mentorship.ended_at.is_(None)
    )
    return or_(Lesson.owner_id == actor.id, shared, mentored)
