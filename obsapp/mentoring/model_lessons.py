"""Model lessons: a teacher shares one of their own lessons as a model of practice, tagged by criteria, with
chosen people or the whole school; those who browse it may keep private notes on it for their own learning."""

from __future__ import annotations

from sqlalchemy import Select, select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.errors import Forbidden, InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.lessons import services as lessons
from obsapp.mentoring import notify
from obsapp.mentoring.models import (
    MODEL_AUDIENCES,
    ModelLesson,
    ModelNote,
    ModelRecipient,
    model_lesson_criteria,
)
from obsapp.mentoring.services import MAX_TITLE, _criteria, _text


def get_model(actor: User, model_id: int) -> ModelLesson:
    model = db.session.get(ModelLesson, model_id)
    if not policy.model_visible(actor, model):
        raise NotFound("No such model lesson.")
    return model


def _recipients(actor: User, user_ids: list[int] | None) -> list[User]:
    people, refused = [], []
    for user_id in dict.fromkeys(user_ids or []):
        user = db.session.get(User, user_id)
        if user is None or not user.is_active:
            refused.append(f"#{user_id}")
        else:
            people.append(user)
    if refused:
        raise InvalidInput(f"No such people: {', '.join(refused)}.", fields={"user_ids": refused})
    return [user for user in people if user.id != actor.id]


def share_model(actor: User, data: dict) -> ModelLesson:
    """Share one of your own lessons as a model (``audience``: chosen -> ``user_ids``, or school)."""
    lesson = lessons.get_lesson(actor, data.get("lesson_id") or 0)
    if not policy.may_share_model(actor, lesson):
        raise Forbidden("Only the lesson's owner can share it as a model.")
    audience = data.get("audience") or "chosen"
    if audience not in MODEL_AUDIENCES:
        raise InvalidInput("audience is chosen or school.", fields={"audience": ["Unknown."]})
    people = _recipients(actor, data.get("user_ids"))
    if audience == "chosen" and not people:
        raise InvalidInput("Choose at least one person to share the model with, or share it with the school.",
                           fields={"user_ids": ["Required."]})
    model = ModelLesson(lesson_id=lesson.id, owner_id=actor.id, audience=audience,
                        title=_text({"title": data.get("title") or lesson.title}, "title", required=True,
                                    limit=MAX_TITLE),
                        note=_text(data, "note") or "", criteria=_criteria(data.get("criterion_ids")))
    model.recipients = [ModelRecipient(user_id=user.id) for user in people]
    db.session.add(model)
    db.session.flush()
    for user in people:
        notify.send(user.id, "model", f"{actor.name} shared a model lesson with you", f"/models/{model.id}")
    return model


def unshare_model(actor: User, model: ModelLesson) -> None:
    if not policy.may_manage_model(actor, model):
        raise Forbidden("Only the person who shared it can stop sharing it.")
    db.session.delete(model)
    db.session.flush()


def models_query(actor: User, criterion_id: int | None = None) -> Select:
    stmt = select(ModelLesson).where(policy.models_filter(actor, ModelLesson.id, ModelLesson.owner_id,
                                                          ModelLesson.audience))
    if criterion_id is not None:
        stmt = stmt.where(ModelLesson.id.in_(select(model_lesson_criteria.c.model_id).where(
            model_lesson_criteria.c.criterion_id == criterion_id)))
    return stmt.order_by(ModelLesson.created_at.desc(), ModelLesson.id.desc())


def add_note(actor: User, model: ModelLesson, data: dict) -> ModelNote:
    get_model(actor, model.id)
    t_ms = data.get("t_ms")
    if t_ms is not None and (t_ms < 0 or (model.lesson.duration_ms is not None and t_ms > model.lesson.duration_ms)):
        raise InvalidInput("t_ms is a moment within the lesson.", fields={"t_ms": ["Outside the lesson."]})
    note = ModelNote(model_id=model.id, author_id=actor.id, t_ms=t_ms, body=_text(data, "body", required=True))
    db.session.add(note)
    db.session.flush()
    return note


def my_notes(actor: User, model: ModelLesson) -> list[ModelNote]:
    return list(db.session.execute(select(ModelNote).where(
        ModelNote.model_id == model.id, policy.model_notes_filter(actor, ModelNote.author_id))
        .order_by(ModelNote.t_ms.is_(None), ModelNote.t_ms, ModelNote.id)).scalars())
