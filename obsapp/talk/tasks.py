"""The talk analysis job: voice activity over the lesson's web rendition, run after ingest."""

from __future__ import annotations

from flask import current_app

from obsapp.extensions import db
from obsapp.jobs.queue import Task
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.media import MediaError
from obsapp.media.speech import analyse_talk
from obsapp.storage import media_store
from obsapp.talk import services
from obsapp.talk.models import TalkAnalysis


def _analysis_failed(job, message: str) -> None:
    row = db.session.get(TalkAnalysis, job.lesson_id) if job.lesson_id else None
    if row is not None and row.job_id == job.id:
        row.status, row.error = "failed", message


def analyse_lesson(ctx, lesson_id: int) -> dict | None:
    lesson = db.session.get(Lesson, lesson_id)
    row = db.session.get(TalkAnalysis, lesson_id)
    if lesson is None or row is None or row.job_id != ctx.job_id:
        return {"skipped": "the lesson was deleted or has newer work"}
    if lesson.status != "ready":
        raise MediaError("The lesson's video is not ready, so its audio cannot be analysed.", code="not_ready")
    try:  # the rendition itself (a local store) or a scratch copy of it (S3), gone once analysed
        with media_store().local_copy(lessons.rendition_key(lesson)) as source:
            result = analyse_talk(source, duration_ms=lesson.duration_ms or 0, has_audio=bool(lesson.has_audio),
                                  timeout_s=current_app.config["FFMPEG_TIMEOUT_S"], cancel=ctx.stop)
    except FileNotFoundError as exc:
        raise MediaError("The lesson's video file is missing.", code="missing_rendition") from exc
    ctx.check_stop()
    db.session.refresh(row)
    if row.job_id != ctx.job_id:
        return {"skipped": "the lesson has newer work"}
    services.store_result(row, lesson, result)
    return {"segments": len(result.segments), "speech_share": result.speech_share}


TASKS = (Task(services.TASK, analyse_lesson, on_failure=_analysis_failed, max_attempts=2),)
