"""The ingest job: from an uploaded original to a web rendition, poster, thumbnails and waveform; and the
anonymising job: the rendition with every face blurred, for viewers of a lesson whose consent is incomplete."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import ExitStack

from flask import current_app
from sqlalchemy import select

from obsapp import policy, uow
from obsapp.extensions import db
from obsapp.jobs.queue import HEAVY, Task
from obsapp.lessons import services
from obsapp.lessons.models import Lesson
from obsapp.media import MediaError
from obsapp.media.ingest import ingest
from obsapp.media.privacy import anonymise_video
from obsapp.storage import media_store

log = logging.getLogger(__name__)
DERIVED_FILES = ("poster.jpg", "thumbnails.vtt", "waveform.json")
# Work that domains above lessons queue once a lesson's media is ready (talk adds its analysis): each is called
# with the lesson inside the ingest job's unit of work, so its jobs commit together with the lesson's new state.
AFTER_INGEST: list[Callable[[Lesson], object]] = []


def _ingest_failed(job, message: str) -> None:
    lesson = db.session.get(Lesson, job.lesson_id) if job.lesson_id else None
    if lesson is not None and lesson.job_id == job.id:
        lesson.status, lesson.error = "failed", message


def ingest_lesson(ctx, lesson_id: int) -> dict | None:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.job_id != ctx.job_id:
        return {"skipped": "the lesson was deleted or has newer work"}
    store = media_store()
    config = current_app.config
    with ExitStack() as stack:
        try:  # the original itself (local store) or a scratch copy of it (S3)
            source = stack.enter_context(store.local_copy(services.original_key(lesson)))
        except FileNotFoundError as exc:
            raise MediaError("The upload is incomplete: the uploaded file is missing. Upload the video again.",
                             code="missing_original") from exc
        work = stack.enter_context(store.temp_dir(f"ingest-{lesson_id}-"))
        out = work / "out"
        result = ingest(source, out, progress=ctx.progress, cancel=ctx.stop, max_height=config["MAX_RENDITION_HEIGHT"],
                        timeout_s=config["FFMPEG_TIMEOUT_S"])
        ctx.check_stop()
        db.session.refresh(lesson)
        if lesson.job_id != ctx.job_id:
            return {"skipped": "the lesson has newer work"}
        # Replace the previous outputs (a retry) only now that the new ones are complete.
        store.delete_prefix(services.derived_key(lesson))
        store.put_file(services.rendition_key(lesson), out / "video.mp4")
        for path in sorted(out.iterdir()):
            if path.name != "video.mp4":
                store.put_file(services.derived_key(lesson, path.name), path)

    lesson.duration_ms = result.duration_ms
    lesson.width, lesson.height = result.width, result.height
    lesson.fps = f"{result.fps.numerator}/{result.fps.denominator}" if result.fps else None
    lesson.has_audio = result.has_audio
    lesson.video_codec, lesson.audio_codec = result.video_codec, result.audio_codec
    lesson.rendition_mode = result.mode
    lesson.source_sha256 = result.sha256
    lesson.source_info = json.loads(json.dumps(result.source_summary, default=str))
    lesson.media_size_bytes = store.size(services.rendition_key(lesson))
    lesson.status, lesson.error = "ready", None
    lesson.media_version = (lesson.media_version or 0) + 1
    if not config["KEEP_ORIGINALS"]:
        uow.after_commit(store.delete, services.original_key(lesson))
        lesson.original_key = None
    for hook in AFTER_INGEST:
        hook(lesson)
    db.session.flush()
    services.start_anonymising(lesson)
    return {"mode": result.mode, "duration_ms": result.duration_ms}


def anonymise_lesson(ctx, lesson_id: int, media_version: int) -> dict | None:
    """Make the anonymised rendition of the lesson's video as it is now (``media_version``)."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or lesson.status != "ready" or lesson.media_version != media_version:
        return {"skipped": "the lesson was deleted or its video changed"}
    if policy.consent_complete(lesson, current_app.config["DEFAULT_CONSENT"]):
        return {"skipped": "everyone filmed consented"}
    store, key = media_store(), services.anonymised_key(lesson)
    with ExitStack() as stack:
        try:
            source = stack.enter_context(store.local_copy(services.rendition_key(lesson)))
        except FileNotFoundError as exc:
            raise MediaError("The lesson's video file is missing.", code="missing_rendition") from exc
        work = stack.enter_context(store.temp_dir(f"anonymise-{lesson_id}-"))
        result = anonymise_video(source, work / "video.mp4", progress=ctx.progress, cancel=ctx.stop,
                                 timeout_s=max(3600.0, 4 * (lesson.duration_ms or 0) / 1000))
        ctx.check_stop()
        db.session.expire_all()
        lesson = db.session.get(Lesson, lesson_id)
        if lesson is None or lesson.media_version != media_version:
            return {"skipped": "the lesson was deleted or its video changed"}
        store.put_file(key, work / "video.mp4")
    if db.session.execute(select(Lesson.id).where(Lesson.id == lesson_id)).first() is None:
        store.delete(key)  # deleted while the file was being stored: leave nothing of it
        return {"skipped": "the lesson was deleted"}
    log.info("lesson %s anonymised: %d frames, %d with faces, %.2fx realtime", lesson_id, result.frames,
             result.frames_with_faces, result.x_realtime)
    return {"frames": result.frames, "frames_with_faces": result.frames_with_faces,
            "x_realtime": round(result.x_realtime, 3), "detector": result.detector}


TASKS = (Task("lesson.ingest", ingest_lesson, on_failure=_ingest_failed, max_attempts=2, queue=HEAVY),
         Task(services.ANONYMISE_TASK, anonymise_lesson, max_attempts=2, queue=HEAVY))
