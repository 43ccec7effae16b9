"""Writing the access audit: who viewed, grabbed, downloaded, exported, clipped, shared or joined what, when, from
which address.

Two sources, so that no path past them goes unrecorded:
- reads (pages, playback, frame grabs, downloads, exports) are recorded after the request answered below 400,
  by endpoint (``READS``), in the same unit of work as the request (before its commit);
- changes (a clip made, a share given, changed or taken back, a watch session joined) are recorded as the unit of
  work flushes them, whatever made them (the API, a page, Socket.IO, the command line).
Views are throttled: the same person's same kind of view of a lesson counts once per OBSAPP_AUDIT_VIEW_WINDOW_S,
so a playback session of many Range requests is one entry.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from obsapp import policy
from obsapp.accounts.models import User, utcnow
from obsapp.clips.models import Clip, Reel
from obsapp.extensions import db
from obsapp.lessons.models import Lesson, LessonShare
from obsapp.privacy.models import AuditEntry
from obsapp.watch.models import WatchEvent, WatchSession

SYSTEM_NAME = "obsapp (system)"


def _clock(ms: int | None) -> str:
    seconds = int(ms or 0) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def _address() -> str | None:
    return (request.remote_addr or None) if has_request_context() else None


def _signed_in_user() -> User | None:
    if has_request_context() and policy.is_signed_in(current_user):
        return current_user._get_current_object()  # type: ignore[attr-defined]
    return None


def record(action: str, *, lesson: Lesson | None = None, lesson_id: int | None = None, lesson_title: str | None = None,
           actor: User | None = None, detail: str = "", throttle: bool = False,
           session: Session | None = None) -> AuditEntry | None:
    """Add one audit entry to the unit of work (None when a throttled view was recorded within the window)."""
    session = session or db.session
    if lesson is not None:
        lesson_id, lesson_title = lesson.id, lesson.title
    user_id = actor.id if actor is not None else None
    if throttle:
        since = utcnow() - timedelta(seconds=current_app.config["AUDIT_VIEW_WINDOW_S"])
        with session.no_autoflush:
            recent = session.execute(select(AuditEntry.id).where(
                AuditEntry.user_id == user_id if user_id is not None else AuditEntry.user_id.is_(None),
                AuditEntry.lesson_id == lesson_id, AuditEntry.action == action, AuditEntry.detail == detail,
                AuditEntry.at >= since).limit(1)).first()
        if recent is not None:
            return None
    entry = AuditEntry(at=utcnow(), lesson_id=lesson_id, lesson_title=(lesson_title or "")[:200] or None,
                       user_id=user_id, user_name=actor.name if actor is not None else SYSTEM_NAME,
                       action=action, detail=detail[:2000], address=_address())
    session.add(entry)
    return entry


# --- reads, by endpoint ----------------------------------------------------------------------------------------

def _lesson_arg(kind: str, detail: str):
    def read(args: dict) -> list[tuple[Lesson | None, str, str]]:
        return [(db.session.get(Lesson, args["lesson_id"]), kind, detail)]
    return read


def _lesson_media(args: dict):
    if args.get("name") != "video.mp4":  # posters, sprites and waveforms are not watching
        return []
    return [(db.session.get(Lesson, args["lesson_id"]), "view", "video playback")]


def _frame(args: dict):
    return [(db.session.get(Lesson, args["lesson_id"]), "frame", f"frame at {_clock(_int_arg('t_ms'))} "
             f"({_int_arg('t_ms')} ms)")]


def _export(args: dict):
    fmt = request.args.get("format", "csv")
    return [(db.session.get(Lesson, args["lesson_id"]), "export", f"annotations as {fmt}")]


def _clip_media(args: dict):
    clip = db.session.get(Clip, args["clip_id"])
    if clip is None or args.get("name") != "video.mp4":
        return []
    what = f"clip {clip.id} “{clip.title}” ({_clock(clip.start_ms)}–{_clock(clip.end_ms)})"
    if _downloading():
        return [(clip.lesson, "download", what)]
    return [(clip.lesson, "view", what + " playback")]


def _reel_media(args: dict):
    reel = db.session.get(Reel, args["reel_id"])
    if reel is None or args.get("name") != "video.mp4":
        return []
    kind, what = ("download", f"reel {reel.id} “{reel.title}”") if _downloading() else \
        ("view", f"reel {reel.id} “{reel.title}” playback")
    return [(db.session.get(Lesson, lesson_id), kind, what) for lesson_id in reel.lesson_ids or []]


def _int_arg(name: str) -> int:
    try:
        return int(request.args.get(name, "0"))
    except ValueError:
        return 0


def _downloading() -> bool:
    return request.args.get("download", "").lower() in ("1", "true", "yes")


READS = {
    "lessons.lesson_page": _lesson_arg("view", "lesson page"),
    "annotations.feedback_page": _lesson_arg("view", "feedback page"),
    "lessons_api.lesson_media": _lesson_media,
    "lessons_api.frame": _frame,
    "annotations_api.export": _export,
    "clips_api.clip_media": _clip_media,
    "clips_api.reel_media": _reel_media,
}


def record_read(response: Response) -> Response:
    """After a read that answered below 400: its audit entries, in the request's unit of work (committed next)."""
    reader = READS.get(request.endpoint or "")
    if reader is None or request.method != "GET" or response.status_code >= 400:
        return response
    actor = _signed_in_user()
    if actor is None:
        return response
    for lesson, action, detail in reader(request.view_args or {}):
        if lesson is not None:
            record(action, lesson=lesson, actor=actor, detail=detail, throttle=action == "view")
    return response


# --- changes, as they are flushed ------------------------------------------------------------------------------

def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def _record_changes(session: Session, _context, _instances) -> None:
    with session.no_autoflush:
        deleted_lessons = {obj.id for obj in session.deleted if isinstance(obj, Lesson)}
        for obj in list(session.new):
            if isinstance(obj, Clip):
                lesson = obj.lesson or session.get(Lesson, obj.lesson_id)
                blurred = ", faces blurred" if obj.blur_faces or (lesson and lesson.blur_faces_default) else ""
                record("clip", lesson=lesson, actor=_user(session, obj.creator_id) or _signed_in_user(),
                       detail=f"clip “{obj.title}” {_clock(obj.start_ms)}–{_clock(obj.end_ms)}{blurred}",
                       session=session)
            elif isinstance(obj, LessonShare):
                person = _user(session, obj.user_id)
                record("share", lesson=session.get(Lesson, obj.lesson_id), actor=_signed_in_user(), session=session,
                       detail=f"shared with {person.name if person else obj.user_id} as {obj.role}")
            elif isinstance(obj, WatchEvent) and obj.kind == "join":
                watch = session.get(WatchSession, obj.session_id)
                if watch is not None:
                    record("watch_join", lesson=session.get(Lesson, watch.lesson_id), session=session,
                           actor=_user(session, obj.user_id), detail="joined a watch session")
        for obj in list(session.dirty):
            if isinstance(obj, LessonShare) and session.is_modified(obj, include_collections=False):
                person = _user(session, obj.user_id)
                record("share", lesson=session.get(Lesson, obj.lesson_id), actor=_signed_in_user(), session=session,
                       detail=f"{person.name if person else obj.user_id} is now a {obj.role}")
        for obj in list(session.deleted):
            if isinstance(obj, LessonShare) and obj.lesson_id not in deleted_lessons:
                person = _user(session, obj.user_id)
                record("share", lesson=session.get(Lesson, obj.lesson_id), actor=_signed_in_user(), session=session,
                       detail=f"no longer shared with {person.name if person else obj.user_id}")


def init_app(app: Flask) -> None:
    # Registered after the unit of work's own after_request: Flask runs these in reverse, so the entries are
    # added before the request commits.
    app.after_request(record_read)
    if not event.contains(db.session, "before_flush", _record_changes):
        event.listen(db.session, "before_flush", _record_changes)
