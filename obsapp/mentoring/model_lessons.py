"""Model lessons and model clips: a teacher shares one of their own lessons, or a clip of one, as a model of practice,
tagged by criteria, with chosen people or the whole school; those who browse it may keep private notes on it for
their own learning. A model clip shows its audience the clip only (not the rest of the lesson), and the clip's video
has the faces blurred whenever the lesson's consent asks for it (obsapp/privacy forces that on every clip); a lesson
whose faces must be blurred is shared as clips, never whole (its recording is not blurred)."""

from __future__ import annotations

from sqlalchemy import Select, select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.clips import services as clips
from obsapp.errors import Conflict, Forbidden, InvalidInput, NotFound
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


def _what_to_share(actor: User, data: dict):
    """The lesson and (for a model clip) the clip: exactly one of ``lesson_id`` and ``clip_id``, of one's own."""
    if (data.get("lesson_id") is None) == (data.get("clip_id") is None):
        raise InvalidInput("Send exactly one of lesson_id (a model lesson) or clip_id (a model clip).",
                           fields={"lesson_id": ["Exactly one of lesson_id, clip_id."]})
    if data.get("clip_id") is not None:
        clip = clips.get_clip(actor, data["clip_id"])
        if not policy.may_share_model(actor, clip.lesson):
            raise Forbidden("Only the lesson's owner can share a clip of it as a model.")
        if clip.status == "failed":
            raise Conflict("This clip could not be made: try it again before sharing it.", code="clip_failed")
        if clip.lesson.blur_faces_default and not clip.blur_faces:  # privacy re-blurs such clips; never share one
            raise Conflict("Faces in this lesson's clips must be blurred, and this clip is not yet.",
                           code="blur_required")
        return clip.lesson, clip
    lesson = lessons.get_lesson(actor, data["lesson_id"])
    if not policy.may_share_model(actor, lesson):
        raise Forbidden("Only the lesson's owner can share it as a model.")
    if lesson.blur_faces_default:
        raise Conflict("Faces in this lesson must be blurred when it is shown to others, and the whole recording is "
                       "not: share clips of it as models instead (their faces are blurred).", code="blur_required")
    return lesson, None


def share_model(actor: User, data: dict) -> ModelLesson:
    """Share one of your own lessons (``lesson_id``), or a clip of one (``clip_id``), as a model (``audience``:
    chosen -> ``user_ids``, or school)."""
    lesson, clip = _what_to_share(actor, data)
    audience = data.get("audience") or "chosen"
    if audience not in MODEL_AUDIENCES:
        raise InvalidInput("audience is chosen or school.", fields={"audience": ["Unknown."]})
    people = _recipients(actor, data.get("user_ids"))
    if audience == "chosen" and not people:
        raise InvalidInput("Choose at least one person to share the model with, or share it with the school.",
                           fields={"user_ids": ["Required."]})
    default_title = (clip.title or lesson.title) if clip is not None else lesson.title
    model = ModelLesson(lesson_id=lesson.id, clip_id=clip.id if clip is not None else None, owner_id=actor.id,
                        audience=audience,
                        title=_text({"title": data.get("title") or default_title}, "title", required=True,
                                    limit=MAX_TITLE),
                        note=_text(data, "note") or "", criteria=_criteria(data.get("criterion_ids")))
    model.recipients = [ModelRecipient(user_id=user.id) for user in people]
    db.session.add(model)
    db.session.flush()
    what = "a model clip" if clip is not None else "a model lesson"
    for user in people:
        notify.send(user.id, "model", f"{actor.name} shared {what} with you", f"/models/{model.id}")
    return model


def my_clips(actor: User, limit: int = 200) -> list:
    """The clips of one's own lessons (what one may share as model clips), newest first."""
    return [clip for clip in db.session.execute(clips.clips_by(actor).limit(limit)).scalars()
            if policy.may_share_model(actor, clip.lesson)]


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


def model_length_ms(model: ModelLesson) -> int | None:
    """How long what is shared runs: the clip's span for a model clip (notes are timed within it), else the lesson."""
    if model.clip is not None:
        return model.clip.end_ms - model.clip.start_ms
    return model.lesson.duration_ms


def add_note(actor: User, model: ModelLesson, data: dict) -> ModelNote:
    get_model(actor, model.id)
    t_ms = data.get("t_ms")
    length = model_length_ms(model)
    if t_ms is not None and (t_ms < 0 or (length is not None and t_ms > length)):
        what = "clip" if model.clip_id is not None else "lesson"
        raise InvalidInput(f"t_ms is a moment within the {what}.", fields={"t_ms": [f"Outside the {what}."]})
    note = ModelNote(model_id=model.id, author_id=actor.id, t_ms=t_ms, body=_text(data, "body", required=True))
    db.session.add(note)
    db.session.flush()
    return note


def my_notes(actor: User, model: ModelLesson) -> list[ModelNote]:
    return list(db.session.execute(select(ModelNote).where(
        ModelNote.model_id == model.id, policy.model_notes_filter(actor, ModelNote.author_id))
        .order_by(ModelNote.t_ms.is_(None), ModelNote.t_ms, ModelNote.id)).scalars())
