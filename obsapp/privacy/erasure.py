"""Erasing a person on request, and retention: lessons, originals and audit entries kept no longer than the
settings allow. Both delete lessons through the lessons service, so every copy goes (services.on_lesson_delete)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from obsapp import policy, uow
from obsapp.accounts.models import ApiToken, Mentorship, SsoIdentity, User, utcnow
from obsapp.accounts.passwords import hash_password
from obsapp.annotations.models import Annotation, Reply
from obsapp.clips.models import Clip, FeedbackItem, Reel
from obsapp.errors import InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson, LessonShare, Upload
from obsapp.mentoring import notify
from obsapp.mentoring.models import Notification
from obsapp.privacy import audit
from obsapp.privacy.models import AuditEntry, LessonConsent
from obsapp.storage import media_store
from obsapp.talk.models import CalibrationCoder, CalibrationExercise
from obsapp.watch.models import WatchEvent, WatchSession

REMOVED_BODY = "Removed at the author's request."
ERASED_NAME = "Erased person"


# --- erasing a person ------------------------------------------------------------------------------------------

def erase_person(actor: User | None, user_id: int, confirm: str | None) -> dict:
    """Erase a person (administrators; ``confirm`` must repeat their email): their lessons with every copy, their
    annotations on others' lessons (kept as "removed at the author's request" where others replied to them),
    their replies, tokens, sign-ins, shares, mentorships and deliveries; the account keeps only an anonymous
    row. Returns the receipt of what was removed; the audit records it."""
    policy.require_admin(actor)
    person = db.session.get(User, user_id)
    if person is None or person.email.endswith("@erased.invalid"):
        raise NotFound("No such person.")
    if (confirm or "").strip().lower() != person.email.lower():
        raise InvalidInput("To erase this person, confirm with their email address.", code="confirmation_required",
                           fields={"confirm": ["Must be the person's email address."]})
    policy.require_can_erase(actor, person)
    receipt: dict = {"user_id": person.id, "erased_at": utcnow(), "removed": {}}
    removed = receipt["removed"]

    owned = list(db.session.execute(select(Lesson).where(Lesson.owner_id == person.id)).scalars())
    removed["lessons"] = [{"id": lesson.id, "title": lesson.title} for lesson in owned]
    for lesson in owned:
        lessons.remove_lesson(lesson, actor=actor, reason=f"erasure of {person.name} (#{person.id}) on request")
    db.session.flush()

    removed.update(_erase_annotations(person))
    removed["tokens"] = _delete(ApiToken, ApiToken.user_id == person.id)
    removed["sign_in_links"] = _delete(SsoIdentity, SsoIdentity.user_id == person.id)  # single sign-on accounts
    removed["mentorships"] = _delete(Mentorship, or_(Mentorship.mentor_id == person.id,
                                                     Mentorship.mentee_id == person.id))
    removed["shares_with_them"] = _delete(LessonShare, LessonShare.user_id == person.id)
    removed["clips_and_reels_sent_to_them"] = _delete(FeedbackItem, FeedbackItem.recipient_id == person.id)
    removed["uploads"] = _delete(Upload, Upload.user_id == person.id)
    reels = list(db.session.execute(select(Reel).where(Reel.creator_id == person.id)).scalars())
    for reel in reels:
        uow.after_commit(media_store().delete_prefix, reel.media_prefix)
        db.session.delete(reel)
    removed["reels_they_made"] = len(reels)
    removed.update(_erase_calibrations(person))
    # What they did on others' lessons stays with those lessons, without their name.
    for model, column in ((Clip, Clip.creator_id), (FeedbackItem, FeedbackItem.sender_id),
                          (WatchEvent, WatchEvent.user_id), (WatchSession, WatchSession.host_id),
                          (LessonConsent, LessonConsent.set_by_id), (Mentorship, Mentorship.created_by_id),
                          (Annotation, Annotation.hidden_by_id)):
        db.session.execute(update(model).where(column == person.id).values({column.key: None})
                           .execution_options(synchronize_session=False))
    removed["audit_entries_anonymised"] = db.session.execute(
        update(AuditEntry).where(AuditEntry.user_id == person.id).values(user_name=ERASED_NAME)
        .execution_options(synchronize_session=False)).rowcount or 0

    person.name = ERASED_NAME
    person.email = f"erased-{person.id}@erased.invalid"
    person.password_hash = hash_password(secrets.token_urlsafe(32))
    person.active, person.is_admin, person.last_login_at = False, False, None  # inactive: every sign-in ends
    audit.record("erase", actor=actor, detail=f"person #{person.id} erased: {len(owned)} lesson(s), "
                 f"{removed['annotations_deleted']} annotation(s) deleted, {removed['annotations_anonymised']} "
                 f"kept as removed, {removed['replies_deleted']} reply(ies), {removed['tokens']} token(s), "
                 f"{removed['calibration_submissions']} calibration submission(s)")
    db.session.flush()
    db.session.expire_all()  # bulk updates above: nothing stale is served after this
    return receipt


def _erase_calibrations(person: User) -> dict:
    """Their talk-calibration codes and submissions go. An exercise they led passes to another of its coders who
    may lead it (one of the lesson owner's active mentors), so the others' submissions stay; with no such coder
    it goes, with every submission in it."""
    led = list(db.session.execute(select(CalibrationExercise).where(CalibrationExercise.lead_id == person.id)
                                  .order_by(CalibrationExercise.id)).scalars())
    db.session.flush()
    coded = _delete(CalibrationCoder, CalibrationCoder.user_id == person.id)
    for exercise in led:
        db.session.expire(exercise)  # its coders, read again without theirs
    handed = deleted = 0
    for exercise in led:
        lead = next((coder.user for coder in exercise.coders
                     if policy.can_open_calibration(coder.user, exercise.lesson)), None)
        if lead is None:
            db.session.delete(exercise)
            deleted += 1
        else:
            exercise.lead_id = lead.id
            handed += 1
    db.session.flush()
    return {"calibration_submissions": coded, "calibrations_handed_over": handed, "calibrations_deleted": deleted}


def erasure_preview(person: User) -> dict:
    """What erasing ``person`` would remove, counted, for the confirmation page."""
    def count(model, condition) -> int:
        return db.session.execute(select(func.count()).select_from(model).where(condition)).scalar_one()

    return {"lessons": count(Lesson, Lesson.owner_id == person.id),
            "annotations": count(Annotation, Annotation.author_id == person.id),
            "replies": count(Reply, Reply.author_id == person.id),
            "tokens": count(ApiToken, ApiToken.user_id == person.id),
            "calibration_submissions": count(CalibrationCoder, CalibrationCoder.user_id == person.id)}


def _delete(model, condition) -> int:
    return db.session.execute(delete(model).where(condition).execution_options(synchronize_session=False)).rowcount \
        or 0


def _erase_annotations(person: User) -> dict:
    """Their annotations on others' lessons: deleted, or (where someone else replied) emptied to a placeholder."""
    annotations = list(db.session.execute(select(Annotation).where(Annotation.author_id == person.id)).scalars())
    deleted = anonymised = 0
    for annotation in annotations:
        if any(reply.author_id != person.id for reply in annotation.replies):
            annotation.body, annotation.rating, annotation.criteria = REMOVED_BODY, None, []
            annotation.version = (annotation.version or 1) + 1
            anonymised += 1
        else:
            db.session.delete(annotation)
            deleted += 1
    db.session.flush()
    replies = list(db.session.execute(select(Reply).where(Reply.author_id == person.id)).scalars())
    for reply in replies:
        db.session.delete(reply)
    db.session.flush()
    return {"annotations_deleted": deleted, "annotations_anonymised": anonymised, "replies_deleted": len(replies)}


# --- retention -------------------------------------------------------------------------------------------------

@dataclass
class RetentionPlan:
    lessons: list[Lesson] = field(default_factory=list)  # past OBSAPP_RETENTION_DAYS and not pinned
    originals: list[Lesson] = field(default_factory=list)  # originals past OBSAPP_KEEP_ORIGINALS_DAYS
    warn: list[Lesson] = field(default_factory=list)  # deleted within the next 14 days
    audit_entries: int = 0  # past OBSAPP_AUDIT_RETENTION_DAYS


WARNING_DAYS = 14


def retention_plan() -> RetentionPlan:
    config, now, plan = current_app.config, utcnow(), RetentionPlan()
    pinned = select(LessonConsent.lesson_id).where(LessonConsent.pinned.is_(True))
    if config["RETENTION_DAYS"]:
        limit = now - timedelta(days=config["RETENTION_DAYS"])
        unpinned = select(Lesson).where(Lesson.id.not_in(pinned)).order_by(Lesson.created_at, Lesson.id)
        plan.lessons = list(db.session.execute(unpinned.where(Lesson.created_at < limit)).scalars())
        plan.warn = list(db.session.execute(unpinned.where(
            Lesson.created_at >= limit, Lesson.created_at < limit + timedelta(days=WARNING_DAYS))).scalars())
    if config["KEEP_ORIGINALS_DAYS"]:
        limit = now - timedelta(days=config["KEEP_ORIGINALS_DAYS"])
        gone = {lesson.id for lesson in plan.lessons}
        plan.originals = [lesson for lesson in db.session.execute(select(Lesson).where(
            Lesson.original_key.is_not(None), Lesson.status == "ready", Lesson.created_at < limit)
            .order_by(Lesson.id)).scalars() if lesson.id not in gone]
    if config["AUDIT_RETENTION_DAYS"]:
        limit = now - timedelta(days=config["AUDIT_RETENTION_DAYS"])
        plan.audit_entries = db.session.execute(select(func.count()).select_from(AuditEntry)
                                                .where(AuditEntry.at < limit)).scalar_one()
    return plan


def apply_retention(plan: RetentionPlan) -> None:
    """Carry out the plan (the unit of work's boundary commits; files go after the commit)."""
    config, store = current_app.config, media_store()
    for lesson in plan.lessons:
        lessons.remove_lesson(lesson, actor=None,
                              reason=f"retention: older than {config['RETENTION_DAYS']} days and not pinned")
    for lesson in plan.originals:
        uow.after_commit(store.delete, lesson.original_key)
        lesson.original_key = None
        audit.record("retention", lesson=lesson,
                     detail=f"original upload removed after {config['KEEP_ORIGINALS_DAYS']} days (the web video stays)")
    _warn_owners(plan.warn, config["RETENTION_DAYS"])
    if plan.audit_entries:
        limit = utcnow() - timedelta(days=config["AUDIT_RETENTION_DAYS"])
        db.session.execute(delete(AuditEntry).where(AuditEntry.at < limit).execution_options(
            synchronize_session=False))
        audit.record("retention", detail=f"{plan.audit_entries} audit entries older than "
                     f"{config['AUDIT_RETENTION_DAYS']} days removed")
    db.session.flush()


def _warn_owners(due: list[Lesson], days: int) -> None:
    """Tell each owner, once, that retention deletes their lesson within WARNING_DAYS unless they pin it (the
    notification links to the lesson's privacy page, where it is pinned)."""
    urls = {f"/lessons/{lesson.id}/privacy": lesson for lesson in due}
    told = set(db.session.execute(select(Notification.user_id, Notification.url).where(
        Notification.kind == "retention", Notification.url.in_(urls))).all()) if urls else set()
    for url, lesson in urls.items():
        if (lesson.owner_id, url) not in told:
            notify.send(lesson.owner_id, "retention", f"“{lesson.title}” will be deleted on "
                        f"{_deletion_date(lesson, days):%d %b %Y} (kept {days} days): pin it to keep it", url)


def _deletion_date(lesson: Lesson, days: int):
    return max(utcnow(), lesson.created_at + timedelta(days=days))


def retention_due(user: User) -> list[dict]:
    """The dashboard's warning: ``user``'s unpinned lessons that retention deletes within WARNING_DAYS."""
    days = current_app.config["RETENTION_DAYS"]
    if not days or user is None:
        return []
    limit = utcnow() - timedelta(days=days)
    pinned = select(LessonConsent.lesson_id).where(LessonConsent.pinned.is_(True))
    lessons_due = db.session.execute(lessons.visible_lessons(user, "mine").where(
        Lesson.id.not_in(pinned), Lesson.created_at < limit + timedelta(days=WARNING_DAYS))
        .order_by(None).order_by(Lesson.created_at).limit(50)).scalars()
    return [{"id": lesson.id, "title": lesson.title, "due": _deletion_date(lesson, days)}
            for lesson in lessons_due]


_last_daily_run: list = []


def daily_retention() -> None:
    """The workers' housekeeping (every few minutes): retention once a day per process, when any is configured."""
    config = current_app.config
    if not (config["RETENTION_DAYS"] or config["KEEP_ORIGINALS_DAYS"] or config["AUDIT_RETENTION_DAYS"]):
        return
    now = utcnow()
    if _last_daily_run and now - _last_daily_run[0] < timedelta(days=1):
        return
    _last_daily_run[:] = [now]
    apply_retention(retention_plan())
