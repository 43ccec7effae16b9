"""Feedback facts for the dashboard's lesson cards, for many lessons at once (a fixed number of queries):
how much feedback a lesson has, how much of it is new to the person looking, and where the conversation is."""

from __future__ import annotations

from sqlalchemy import and_, func, or_, select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations.models import Annotation, Reply
from obsapp.extensions import db
from obsapp.lessons.models import Lesson, LessonSeen

# A mentee's lesson as their mentor sees it on the dashboard
STATUS_LABELS = {"awaiting_feedback": "awaiting feedback", "feedback_given": "feedback given",
                 "reflection_received": "reflection received"}


def _visible(actor: User):
    """Annotations ``actor`` may read on lessons they may view (the policy's rule, as SQL)."""
    return policy.annotations_filter(actor, author_id=Annotation.author_id, visibility=Annotation.visibility,
                                     hidden_at=Annotation.hidden_at, lesson_owner_id=Lesson.owner_id)


def lesson_facts(actor: User, lessons: list[Lesson]) -> dict[int, dict]:
    """{lesson_id: {"feedback": n, "new": n, "status": word, "status_label": words}} for lessons ``actor``
    may view. Feedback: shared annotations by anyone but the lesson's teacher (a private note is not
    feedback). New: annotations and replies by others since ``actor`` last opened the lesson (all of them if
    never). Status: awaiting feedback, feedback given, or reflection received (the teacher has replied to
    feedback)."""
    ids = [lesson.id for lesson in lessons]
    if not ids:
        return {}
    visible = _visible(actor)
    feedback = dict(db.session.execute(
        select(Annotation.lesson_id, func.count(Annotation.id)).join(Lesson, Lesson.id == Annotation.lesson_id)
        .where(Annotation.lesson_id.in_(ids), Annotation.author_id != Lesson.owner_id,
               Annotation.visibility == "shared", visible)
        .group_by(Annotation.lesson_id)).all())
    seen = LessonSeen.__table__.alias("seen")
    seen_join = and_(seen.c.lesson_id == Lesson.id, seen.c.user_id == actor.id)
    new_annotations = dict(db.session.execute(
        select(Annotation.lesson_id, func.count(Annotation.id)).join(Lesson, Lesson.id == Annotation.lesson_id)
        .outerjoin(seen, seen_join)
        .where(Annotation.lesson_id.in_(ids), Annotation.author_id != actor.id, visible,
               or_(seen.c.seen_at.is_(None), Annotation.created_at > seen.c.seen_at))
        .group_by(Annotation.lesson_id)).all())
    new_replies = dict(db.session.execute(
        select(Annotation.lesson_id, func.count(Reply.id)).join(Annotation, Annotation.id == Reply.annotation_id)
        .join(Lesson, Lesson.id == Annotation.lesson_id).outerjoin(seen, seen_join)
        .where(Annotation.lesson_id.in_(ids), Reply.author_id != actor.id, visible,
               or_(seen.c.seen_at.is_(None), Reply.created_at > seen.c.seen_at))
        .group_by(Annotation.lesson_id)).all())
    reflected = set(db.session.execute(
        select(Annotation.lesson_id).join(Reply, Reply.annotation_id == Annotation.id)
        .join(Lesson, Lesson.id == Annotation.lesson_id)
        .where(Annotation.lesson_id.in_(ids), Reply.author_id == Lesson.owner_id,
               Annotation.author_id != Lesson.owner_id, visible)
        .distinct()).scalars())
    facts = {}
    for lesson_id in ids:
        given = feedback.get(lesson_id, 0)
        status = ("reflection_received" if lesson_id in reflected else "feedback_given" if given
                  else "awaiting_feedback")
        facts[lesson_id] = {"feedback": given, "new": new_annotations.get(lesson_id, 0) + new_replies.get(lesson_id, 0),
                            "status": status, "status_label": STATUS_LABELS[status]}
    return facts
