"""Privacy rules: a lesson's consent (and the blurring it forces), reading the audit, and what goes with a lesson
when it is deleted (reels made from it, its jobs), so that no copy of its video is left anywhere."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select

from obsapp import policy, uow
from obsapp.accounts.models import User
from obsapp.clips.models import Clip, Reel, ReelItem
from obsapp.config import CONSENTS
from obsapp.errors import Conflict, InvalidInput
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.jobs.queue import enqueue
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.privacy import audit
from obsapp.privacy.models import AUDIT_ACTIONS, AuditEntry, LessonConsent, blur_required
from obsapp.storage import media_store

CONSENT_NAMES = {"all_consented": "Everyone filmed consented", "some_not_consented": "Some people did not consent",
                 "unknown": "Consent not known"}


# --- consent ---------------------------------------------------------------------------------------------------

def default_consent() -> str:
    return current_app.config["DEFAULT_CONSENT"]


def consents_of(lesson_ids: list[int]) -> dict[int, LessonConsent]:
    ids = sorted({i for i in lesson_ids if i is not None})
    if not ids:
        return {}
    return {row.lesson_id: row for row in db.session.execute(
        select(LessonConsent).where(LessonConsent.lesson_id.in_(ids))).scalars()}


def consent_payload(row: LessonConsent | None) -> dict:
    consent = row.consent if row is not None else default_consent()
    return {"consent": consent, "blur_required": blur_required(consent), "pinned": bool(row and row.pinned)}


def consent_record(lesson: Lesson) -> dict:
    """The consent record of one lesson: its basis, who set it and when."""
    row = db.session.get(LessonConsent, lesson.id)
    setter = db.session.get(User, row.set_by_id) if row is not None and row.set_by_id is not None else None
    return {**consent_payload(row), "set_by": {"id": setter.id, "name": setter.name} if setter else None,
            "updated_at": row.updated_at if row is not None else None}


def payload_extras(lessons: list[Lesson]) -> dict[int, dict]:
    """The lesson payload's consent fields, for many lessons in one query."""
    rows = consents_of([lesson.id for lesson in lessons])
    return {lesson.id: consent_payload(rows.get(lesson.id)) for lesson in lessons}


def lesson_requires_blur(lesson: Lesson) -> bool:
    row = db.session.get(LessonConsent, lesson.id)
    return blur_required(row.consent if row is not None else default_consent())


def on_lesson_saved(actor: User, lesson: Lesson, data: dict) -> None:
    """A lesson made or changed through the lessons service: record the consent (and pin) given with it."""
    if {"consent", "pinned", "blur_faces_default"} & set(data) or db.session.get(LessonConsent, lesson.id) is None:
        set_consent(actor, lesson, consent=data.get("consent"), pinned=data.get("pinned"),
                    blur_asked=data.get("blur_faces_default"))


def set_consent(actor: User, lesson: Lesson, *, consent: str | None = None, pinned: bool | None = None,
                blur_asked: bool | None = None) -> LessonConsent:
    """Set a lesson's consent basis and pin (its owner). Unless everyone consented, faces are blurred in every clip
    and reel: the lesson's blurring is switched on, clips already made without it are made again blurred, and
    reels holding them are taken down until they are made again."""
    policy.require(actor, "manage", lesson)
    if consent is not None and consent not in CONSENTS:
        raise InvalidInput(f"consent is one of {', '.join(CONSENTS)}.", code="invalid_consent",
                           fields={"consent": [f"Must be one of: {', '.join(CONSENTS)}."]})
    row = db.session.get(LessonConsent, lesson.id)
    before = row.consent if row is not None else None
    if row is None:
        row = LessonConsent(lesson_id=lesson.id, consent=consent or default_consent(), pinned=bool(pinned),
                            set_by_id=actor.id)
        db.session.add(row)
    else:
        if consent is not None:
            row.consent = consent
        if pinned is not None:
            row.pinned = bool(pinned)
        row.set_by_id = actor.id
    if row.blur_required:
        if blur_asked is False:
            raise Conflict("Faces must be blurred in this lesson's clips and reels: not everyone filmed consented. "
                           "Change its consent first.", code="blur_required")
        lesson.blur_faces_default = True
        _reblur_clips(actor, lesson)
    if row.consent != before:
        audit.record("consent", lesson=lesson, actor=actor,
                     detail=f"consent: {CONSENT_NAMES.get(before or '', 'not set')} → {CONSENT_NAMES[row.consent]}")
    db.session.flush()
    # Viewers other than the owner and their mentors see only the anonymised rendition (policy): make it; once
    # everyone consented it is no longer needed.
    if row.blur_required:
        lessons.start_anonymising(lesson)
    elif before is not None and blur_required(before):
        uow.after_commit(media_store().delete_prefix, lessons.derived_key(lesson, "anonymised"))
    return row


def _reblur_clips(actor: User, lesson: Lesson) -> None:
    clips = list(db.session.execute(select(Clip).where(Clip.lesson_id == lesson.id,
                                                       Clip.blur_faces.is_(False))).scalars())
    store = media_store()
    for clip in clips:
        clip.blur_faces = True
        clip.status, clip.error = "processing", None
        clip.job_id = enqueue("clip.render", owner_id=actor.id, lesson_id=lesson.id, clip_id=clip.id).id
        uow.after_commit(store.delete_prefix, clip.media_prefix)  # the unblurred video goes at once
    if not clips:
        return
    reels = db.session.execute(select(Reel).where(Reel.id.in_(_reels_holding([clip.id for clip in clips])))
                               .order_by(Reel.id)).scalars()
    for reel in reels:
        reel.status = "failed"
        reel.error = ("Faces in a lesson of this reel must now be blurred: its clips are being made again. "
                      "Retry the reel when they are ready.")
        uow.after_commit(store.delete_prefix, reel.media_prefix)


def _reels_holding(clip_ids):
    """The ids of the reels that hold any of ``clip_ids`` (a list or a subquery): a subquery, not DISTINCT over
    reels' rows, which PostgreSQL cannot compare (their JSON columns have no equality)."""
    return select(ReelItem.reel_id).where(ReelItem.clip_id.in_(clip_ids))


# --- deleting a lesson -----------------------------------------------------------------------------------------

def on_lesson_delete(actor: User | None, lesson: Lesson, reason: str) -> None:
    """Before a lesson's rows go: remove the reels made only from it and make the others again without it (their
    videos hold its footage), drop its jobs, and record the deletion (the audit entries are kept)."""
    store = media_store()
    clip_ids = select(Clip.id).where(Clip.lesson_id == lesson.id)
    reels = list(db.session.execute(select(Reel).where(Reel.id.in_(_reels_holding(clip_ids)))
                                    .order_by(Reel.id)).scalars())
    removed = rebuilt = 0
    for reel in reels:
        uow.after_commit(store.delete_prefix, reel.media_prefix)
        keep = [item for item in reel.items if item.clip.lesson_id != lesson.id]
        if not keep:
            db.session.delete(reel)
            removed += 1
            continue
        for item in list(reel.items):
            if item.clip.lesson_id == lesson.id:
                reel.items.remove(item)
        db.session.flush()  # positions are unique per reel: renumber after the removed items are gone
        for position, item in enumerate(keep):
            item.position = position
        reel.lesson_ids = sorted({item.clip.lesson_id for item in keep})
        reel.clip_count = len(keep)
        reel.status, reel.error = "processing", None
        reel.job_id = enqueue("reel.render", owner_id=reel.creator_id, reel_id=reel.id).id
        rebuilt += 1
    db.session.execute(delete(Job).where(Job.lesson_id == lesson.id, Job.state != "running")
                       .execution_options(synchronize_session=False))
    parts = [reason or "lesson deleted with every copy of its video"]
    if removed or rebuilt:
        parts.append(f"{removed} reel(s) removed, {rebuilt} made again without it")
    audit.record("delete", lesson=lesson, actor=actor, detail="; ".join(parts))


# --- reading the audit -----------------------------------------------------------------------------------------

def lesson_audit(actor: User, lesson_id: int, action: str | None = None):
    """A select() of a lesson's audit entries, newest first (its owner and administrators)."""
    policy.require_audit(actor, db.session.get(Lesson, lesson_id))
    return _entries(action).where(AuditEntry.lesson_id == lesson_id)


def all_audit(actor: User, *, lesson_id: int | None = None, user_id: int | None = None, action: str | None = None):
    """Everyone's audit entries (administrators), newest first; those of deleted lessons included."""
    policy.require_admin(actor)
    stmt = _entries(action)
    if lesson_id is not None:
        stmt = stmt.where(AuditEntry.lesson_id == lesson_id)
    if user_id is not None:
        stmt = stmt.where(AuditEntry.user_id == user_id)
    return stmt


def _entries(action: str | None):
    if action is not None and action not in AUDIT_ACTIONS:
        raise InvalidInput(f"action is one of {', '.join(AUDIT_ACTIONS)}.", fields={"action": ["Unknown action."]})
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return stmt.where(AuditEntry.action == action) if action else stmt


def entry_payload(entry: AuditEntry) -> dict:
    return {"id": entry.id, "at": entry.at, "user": {"id": entry.user_id, "name": entry.user_name},
            "action": entry.action, "detail": entry.detail, "address": entry.address,
            "lesson": {"id": entry.lesson_id, "title": entry.lesson_title}}


CSV_COLUMNS = ("at", "user_id", "user_name", "action", "detail", "address", "lesson_id", "lesson_title")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = value.isoformat() if isinstance(value, datetime) else "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def audit_csv(stmt) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in db.session.execute(stmt.limit(100_000)).scalars():
        writer.writerow([_cell(getattr(entry, column)) for column in CSV_COLUMNS])
    return out.getvalue()
