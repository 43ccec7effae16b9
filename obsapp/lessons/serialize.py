"""The lesson as the API (and the lesson page's script) sees it."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, url_for
from sqlalchemy import select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.lessons import services
from obsapp.lessons.models import Lesson

# Fields that domains above lessons add to the payload (``create_app`` plugs them in: privacy adds consent): each
# takes the lessons and answers ``{lesson.id: {field: value}}`` in a few queries.
PAYLOAD_EXTRAS: list[Callable[[list[Lesson]], dict[int, dict]]] = []
ACCESS_NAMES = {policy.Access.MANAGE: "manage", policy.Access.COMMENT: "comment", policy.Access.VIEW: "view"}


def media_url(lesson: Lesson, name: str) -> str:
    return url_for("lessons_api.lesson_media", lesson_id=lesson.id, name=name, v=lesson.media_version)


def _media(lesson: Lesson, actor: User, access: str, original: bool | None = None) -> dict:
    """The media URLs of a ready lesson for ``actor``: its own, or (policy: consent incomplete, and the actor is
    neither its owner nor one of their mentors) those of its anonymised rendition, with no video URL until that
    is made (``anonymising``) and no preview pictures."""
    if original is None:
        original = services.sees_original(actor, lesson)
    anonymised = access != "manage" and not original
    made = anonymised and services.anonymised_ready(lesson)
    return {"video_url": media_url(lesson, "video.mp4") if not anonymised or made else None,
            "poster_url": media_url(lesson, "poster.jpg"),
            "thumbnails_vtt_url": None if anonymised else media_url(lesson, "thumbnails.vtt"),
            "waveform_url": media_url(lesson, "waveform.json"),
            "anonymised": anonymised, "anonymising": anonymised and not made}


def _load(model, ids) -> list:
    """Bring these rows into the session in one query, so that ``session.get`` and relationships find them."""
    missing = {i for i in ids if i is not None and db.session.identity_key(model, i) not in db.session.identity_map}
    if not missing:
        return []
    # The session holds its rows weakly: the caller keeps this list while it serialises.
    return list(db.session.execute(select(model).where(model.id.in_(missing))).scalars())


def lesson_payloads(lessons, actor: User) -> list[dict]:
    """Payloads of many lessons in a few queries (owners, jobs and the actor's access fetched together)."""
    lessons = list(lessons)
    held = _load(User, (lesson.owner_id for lesson in lessons)) + _load(Job, (lesson.job_id for lesson in lessons))
    access = policy.lesson_access_map(actor, lessons)
    extras = _extras(lessons)
    originals = policy.original_video_map(actor, [lesson for lesson in lessons if lesson.status == "ready"],
                                          current_app.config["DEFAULT_CONSENT"])
    payloads = [lesson_payload(lesson, actor, access[lesson.id], extras.get(lesson.id), originals.get(lesson.id))
                for lesson in lessons]
    del held
    return payloads


def _extras(lessons: list[Lesson]) -> dict[int, dict]:
    merged: dict[int, dict] = {}
    for extra in PAYLOAD_EXTRAS:
        for lesson_id, fields in extra(lessons).items():
            merged.setdefault(lesson_id, {}).update(fields)
    return merged


def lesson_payload(lesson: Lesson, actor: User, level: policy.Access | None = None, extra: dict | None = None,
                   original: bool | None = None) -> dict:
    ready = lesson.status == "ready"
    job = db.session.get(Job, lesson.job_id) if lesson.job_id else None
    level = policy.lesson_access(actor, lesson) if level is None else level
    access = ACCESS_NAMES.get(level, "none")
    fps = None
    if lesson.fps:
        num, _, den = lesson.fps.partition("/")
        fps = round(int(num) / int(den or 1), 3) if num.isdigit() and (den or "1").isdigit() and int(den or 1) else None
    return {
        "id": lesson.id, "title": lesson.title, "subject": lesson.subject, "level": lesson.level,
        "description": lesson.description, "taught_on": lesson.taught_on,
        "owner": {"id": lesson.owner.id, "name": lesson.owner.name},
        "status": lesson.status, "error": lesson.error, "job_id": lesson.job_id,
        "job": {"id": job.id, "state": job.state, "progress": job.progress} if job else None,
        "duration_ms": lesson.duration_ms, "width": lesson.width, "height": lesson.height, "fps": fps,
        "has_audio": lesson.has_audio, "video_codec": lesson.video_codec, "audio_codec": lesson.audio_codec,
        "media": _media(lesson, actor, access, original) if ready else {
            "video_url": None, "poster_url": None, "thumbnails_vtt_url": None, "waveform_url": None,
            "anonymised": False, "anonymising": False},
        "upload_url": url_for("uploads_api.create_upload", lesson_id=lesson.id, _external=True)
        if access == "manage" and lesson.status in ("awaiting_upload", "failed") else None,
        "access": access,
        "can_delete": policy.allowed(actor, "delete", level),
        "blur_faces_default": lesson.blur_faces_default,
        "source": {"filename": lesson.source_filename, "size_bytes": lesson.source_size_bytes,
                   "sha256": lesson.source_sha256,
                   "info": lesson.source_info if access == "manage" else None},
        "created_at": lesson.created_at, "updated_at": lesson.updated_at,
        **(_extras([lesson]).get(lesson.id, {}) if extra is None else extra),
    }
