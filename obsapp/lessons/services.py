"""Lesson rules: create, list, change, delete, share, and the hand-over from upload to processing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from obsapp import policy, storage_keys, uow
from obsapp.accounts.models import Mentorship, User, utcnow
from obsapp.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.jobs.queue import enqueue
from obsapp.lessons.models import SHARE_ROLES, Lesson, LessonSeen, LessonShare, Upload
from obsapp.policy import Access
from obsapp.storage import media_store

log = logging.getLogger(__name__)
EDITABLE = ("title", "subject", "level", "description", "taught_on")
# What domains above lessons do as a lesson is saved or deleted; ``create_app`` plugs them in (privacy records the
# consent given with the lesson, and before a deletion removes the reels made from it and writes the audit entry).
SAVE_HOOKS: list[Callable[[User, Lesson, dict], None]] = []
DELETE_HOOKS: list[Callable[[User | None, Lesson, str], None]] = []


def original_key(lesson: Lesson) -> str:
    return storage_keys.lesson_original(lesson.id)


def rendition_key(lesson: Lesson) -> str:
    return storage_keys.lesson_rendition(lesson.id)


def derived_key(lesson: Lesson, name: str = "") -> str:
    return storage_keys.lesson_derived(lesson.id, name)


def anonymised_key(lesson: Lesson) -> str:
    """The anonymised rendition (every face blurred) of the lesson's current video; re-ingesting the lesson
    removes the derived folder, and with it every older one."""
    return derived_key(lesson, f"anonymised/v{lesson.media_version}.mp4")


def sees_original(actor: User, lesson: Lesson) -> bool:
    """Does ``actor`` watch the lesson's original video, or only its anonymised rendition? (policy decides)"""
    return policy.sees_original_video(actor, lesson, current_app.config["DEFAULT_CONSENT"])


def anonymised_ready(lesson: Lesson) -> bool:
    return lesson.status == "ready" and media_store().exists(anonymised_key(lesson))


ANONYMISE_TASK = "lesson.anonymise"


def start_anonymising(lesson: Lesson) -> Job | None:
    """Queue the anonymised rendition of a ready lesson whose consent is incomplete and that someone sees beyond
    its owner and their mentors, unless it exists or is being made. Called after ingest, when the consent changes
    and when the lesson is shared: a lesson nobody else sees costs no blurring (several times its length in CPU)."""
    if lesson.status != "ready" or policy.consent_complete(lesson, current_app.config["DEFAULT_CONSENT"]):
        return None
    if not policy.has_viewers_without_original(lesson):
        return None
    pending = db.session.execute(select(Job).where(Job.lesson_id == lesson.id, Job.kind == ANONYMISE_TASK,
                                                   Job.state.in_(("queued", "running")))).scalars().all()
    if any(job.args.get("media_version") == lesson.media_version for job in pending):
        return None
    if anonymised_ready(lesson):
        return None
    return enqueue(ANONYMISE_TASK, owner_id=lesson.owner_id, lesson_id=lesson.id, media_version=lesson.media_version)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def too_large_message(length: int | None, limit: int) -> str:
    size = f" ({human_bytes(length)})" if length else ""
    return f"The file{size} is larger than the upload limit of {human_bytes(limit)}."


def _clean(data: dict) -> dict:
    out = {}
    for key in EDITABLE:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, str):
            value = value.strip() or None
        out[key] = value
    if "title" in out and not out["title"]:
        raise InvalidInput("Give the lesson a title.", fields={"title": ["Required."]})
    if "taught_on" in out and out["taught_on"] is not None and not isinstance(out["taught_on"], date):
        raise InvalidInput("taught_on must be a date (YYYY-MM-DD).", fields={"taught_on": ["Not a date."]})
    return out


def create_lesson(actor: User, data: dict) -> Lesson:
    fields = _clean(data)
    if not fields.get("title"):
        raise InvalidInput("Give the lesson a title.", fields={"title": ["Required."]})
    lesson = Lesson(owner_id=actor.id, status="awaiting_upload", **fields)
    db.session.add(lesson)
    db.session.flush()
    for hook in SAVE_HOOKS:
        hook(actor, lesson, data)
    return lesson


def get_lesson(actor: User, lesson_id: int, action: str = "view") -> Lesson:
    return policy.require(actor, action, db.session.get(Lesson, lesson_id))


def access_of(actor: User, lesson: Lesson) -> str:
    return {Access.MANAGE: "manage", Access.COMMENT: "comment", Access.VIEW: "view"}.get(
        policy.lesson_access(actor, lesson), "none")


def visible_lessons(actor: User, scope: str | None = None, status: str | None = None):
    """A select() of lessons ``actor`` may view; ``scope``: mine | shared | mentees."""
    stmt = select(Lesson).where(policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))
    if scope == "mine":
        stmt = stmt.where(Lesson.owner_id == actor.id)
    elif scope == "shared":
        stmt = stmt.where(Lesson.owner_id != actor.id,
                          Lesson.id.in_(select(LessonShare.lesson_id).where(LessonShare.user_id == actor.id)))
    elif scope == "mentees":
        stmt = stmt.where(Lesson.owner_id.in_(select(Mentorship.mentee_id).where(
            Mentorship.mentor_id == actor.id, Mentorship.ended_at.is_(None))))
    elif scope is not None:
        raise InvalidInput("scope is one of mine, shared, mentees.")
    if status:
        stmt = stmt.where(Lesson.status == status)
    return stmt.order_by(Lesson.created_at.desc(), Lesson.id.desc())


def dashboard(actor: User, limit: int = 50) -> dict[str, list[Lesson]]:
    def run(scope):
        stmt = visible_lessons(actor, scope).options(selectinload(Lesson.owner)).limit(limit)  # owners in one query
        return list(db.session.execute(stmt).scalars())

    return {"mine": run("mine"), "shared": run("shared"), "mentees": run("mentees")}


def mark_seen(actor: User, lesson: Lesson) -> None:
    """``actor`` has the lesson's page open: its feedback up to now is no longer new to them."""
    seen = db.session.get(LessonSeen, (actor.id, lesson.id))
    if seen is None:
        db.session.add(LessonSeen(user_id=actor.id, lesson_id=lesson.id, seen_at=utcnow()))
    else:
        seen.seen_at = utcnow()
    db.session.flush()


def update_lesson(actor: User, lesson: Lesson, data: dict) -> Lesson:
    policy.require(actor, "manage", lesson)
    for key, value in _clean(data).items():
        setattr(lesson, key, value)
    if "blur_faces_default" in data:
        lesson.blur_faces_default = bool(data["blur_faces_default"])
    for hook in SAVE_HOOKS:
        hook(actor, lesson, data)
    db.session.flush()
    return lesson


def delete_lesson(actor: User, lesson: Lesson) -> None:
    policy.require(actor, "delete", lesson)
    remove_lesson(lesson, actor=actor)


def remove_lesson(lesson: Lesson, *, actor: User | None, reason: str = "") -> None:
    """Delete a lesson, its rows and (after the commit) every file of it; ``actor`` None with a ``reason`` is the
    system (retention). Permission is the caller's business."""
    for hook in DELETE_HOOKS:
        hook(actor, lesson, reason)
    store = media_store()
    upload_ids = list(db.session.execute(select(Upload.id).where(Upload.lesson_id == lesson.id)).scalars())
    keys = storage_keys.lesson_prefixes(lesson.id) + [storage_keys.upload_part(u) for u in upload_ids]
    db.session.delete(lesson)
    db.session.flush()
    # After the commit: a crash then leaves unreferenced files (swept later), never a lesson without media.
    for key in keys:
        uow.after_commit(store.delete_prefix, key)


def storage_used(user_id: int) -> int:
    stored = db.session.execute(select(func.coalesce(func.sum(Lesson.source_size_bytes), 0))
                                .where(Lesson.owner_id == user_id)).scalar_one()
    pending = db.session.execute(select(func.coalesce(func.sum(Upload.length), 0)).where(
        Upload.user_id == user_id, Upload.completed_at.is_(None), Upload.terminated_at.is_(None))).scalar_one()
    return int(stored or 0) + int(pending or 0)


def check_upload_allowed(actor: User, lesson: Lesson, length: int) -> None:
    policy.require(actor, "manage", lesson)
    if lesson.status not in ("awaiting_upload", "failed"):
        raise Conflict("This lesson already has its video.", code="already_uploaded")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if length > limit:
        raise TooLarge(too_large_message(length, limit))
    if length <= 0:
        raise InvalidInput("The file is empty (0 bytes). Choose the lesson's video file.", code="empty_file")
    quota = current_app.config["USER_QUOTA_BYTES"]
    if quota and storage_used(actor.id) + length > quota:
        raise TooLarge(f"This upload would exceed your storage quota of {human_bytes(quota)}. "
                       "Delete lessons you no longer need, or ask an administrator.", code="quota_exceeded")


def start_processing(lesson: Lesson, source: Path | None, *, filename: str | None, size: int) -> Job:
    """The bytes are complete: keep the original (``source``; None: already stored at the original's key, as
    a tus upload to a bucket leaves it), mark the lesson processing and queue its ingest job."""
    if source is not None:
        media_store().put_file(original_key(lesson), source)
    lesson.original_key = original_key(lesson)
    lesson.source_filename = (filename or "")[:255] or None
    lesson.source_size_bytes = size
    lesson.status, lesson.error = "processing", None
    job = enqueue("lesson.ingest", owner_id=lesson.owner_id, lesson_id=lesson.id)
    lesson.job_id = job.id
    db.session.flush()
    return job


def retry(actor: User, lesson: Lesson) -> Job:
    policy.require(actor, "manage", lesson)
    if lesson.status != "failed":
        raise Conflict("Only a lesson whose processing failed can be retried.")
    if not lesson.original_key or not media_store().exists(lesson.original_key):
        raise Conflict("The uploaded file is no longer there; upload the video again.", code="no_original")
    lesson.status, lesson.error = "processing", None
    job = enqueue("lesson.ingest", owner_id=lesson.owner_id, lesson_id=lesson.id)
    lesson.job_id = job.id
    db.session.flush()
    return job


# --- sharing ------------------------------------------------------------------------------------

def list_shares(actor: User, lesson: Lesson) -> list[LessonShare]:
    policy.require(actor, "manage", lesson)
    return sorted(lesson.shares, key=lambda s: s.user.name.lower())


def share(actor: User, lesson: Lesson, user_id: int, role: str) -> LessonShare:
    policy.require(actor, "manage", lesson)
    if role not in SHARE_ROLES:
        raise InvalidInput("role is viewer or commenter.", fields={"role": ["Must be viewer or commenter."]})
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise InvalidInput("No such person to share with.", fields={"user_id": ["No such person."]})
    if user.id == lesson.owner_id:
        raise InvalidInput("You own this lesson already.")
    existing = db.session.execute(select(LessonShare).where(
        LessonShare.lesson_id == lesson.id, LessonShare.user_id == user.id)).scalar_one_or_none()
    if existing is None:
        existing = LessonShare(lesson_id=lesson.id, user_id=user.id, role=role)
        db.session.add(existing)
    else:
        existing.role = role
    db.session.flush()
    start_anonymising(lesson)  # the new viewer sees its anonymised rendition unless everyone filmed consented
    return existing


def unshare(actor: User, lesson: Lesson, user_id: int) -> None:
    policy.require(actor, "manage", lesson)
    existing = db.session.execute(select(LessonShare).where(
        LessonShare.lesson_id == lesson.id, LessonShare.user_id == user_id)).scalar_one_or_none()
    if existing is None:
        raise NotFound("This lesson is not shared with that person.")
    db.session.delete(existing)
    db.session.flush()


def get_job(actor: User, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.")
    lesson = db.session.get(Lesson, job.lesson_id) if job.lesson_id is not None else None
    if not policy.can_view_job(actor, job, lesson):
        raise NotFound("No such job.")
    return job


def require_ready(lesson: Lesson) -> None:
    if lesson.status != "ready":
        raise Conflict("The lesson's video is not ready yet." if lesson.status == "processing"
                       else "The lesson has no playable video.", code="not_ready")


def forbid_unless_owner(actor: User, lesson: Lesson) -> None:
    if policy.lesson_access(actor, lesson) < Access.MANAGE:
        raise Forbidden("Only the lesson's owner can do that.")
