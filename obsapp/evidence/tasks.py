"""The evidence clip job: the clips domain's clip job, then (its clip ready) the reel job of a reel waiting for it."""

from __future__ import annotations

from obsapp.clips import tasks as clip_tasks
from obsapp.clips.models import Clip
from obsapp.evidence import services
from obsapp.extensions import db
from obsapp.jobs.queue import Task


def render_clip(ctx, clip_id: int, lesson_id: int | None = None) -> dict | None:
    result = clip_tasks.render_clip(ctx, clip_id, lesson_id)
    clip = db.session.get(Clip, clip_id)
    if clip is not None and clip.status == "ready":
        queued = services.release_reels(clip)
        return {**(result or {}), "reel_jobs": queued}
    return result


def _clip_failed(job, message: str) -> None:
    clip = db.session.get(Clip, (job.args or {}).get("clip_id"))
    if clip is not None and clip.job_id == job.id:
        clip.status, clip.error = "failed", message
        services.fail_reels(clip, message)


TASKS = (Task(services.CLIP_TASK, render_clip, on_failure=_clip_failed, max_attempts=2, queue=clip_tasks.clip_queue),)
