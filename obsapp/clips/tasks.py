"""The clip and reel jobs: from a lesson rendition (or clips) to finished media in the store."""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack

from flask import current_app

from obsapp.clips import services
from obsapp.clips.media import clip_key, reel_key
from obsapp.clips.models import Clip, Reel
from obsapp.extensions import db
from obsapp.jobs.queue import HEAVY, LIGHT, Task
from obsapp.lessons.services import rendition_key
from obsapp.media import MediaError
from obsapp.media.captions import Caption, shifted, write_webvtt
from obsapp.media.cutting import cut_accurate, cut_fast, thumbnail
from obsapp.media.privacy import blur_faces
from obsapp.media.reels import concat_reel
from obsapp.media.source import source_video, source_video_from_dict, source_video_to_dict
from obsapp.media.titlecard import TitleCard, prepend_title_card
from obsapp.storage import media_store

log = logging.getLogger(__name__)


def _clip_failed(job, message: str) -> None:
    clip = db.session.get(Clip, (job.args or {}).get("clip_id"))
    if clip is not None and clip.job_id == job.id:
        clip.status, clip.error = "failed", message


def _reel_failed(job, message: str) -> None:
    reel = db.session.get(Reel, (job.args or {}).get("reel_id"))
    if reel is not None and reel.job_id == job.id:
        reel.status, reel.error = "failed", message


def caption_cues(clip: Clip):
    if not clip.captions:
        return []
    text = clip.comment or clip.title
    return [Caption(text=text, heading=services.heading_of(clip.kind, clip.criteria))]


def title_card_of(clip: Clip):
    """The card in front of a clip: its title, then the lesson's title and the annotation's kind and criteria."""
    lines = [clip.lesson.title] if clip.lesson and clip.lesson.title and clip.lesson.title != clip.title else []
    heading = services.heading_of(clip.kind, clip.criteria)
    if heading:
        lines.append(heading)
    return TitleCard(title=clip.title or (clip.lesson.title if clip.lesson else ""), lines=tuple(lines))


def render_clip(ctx, clip_id: int, lesson_id: int | None = None) -> dict | None:
    clip = db.session.get(Clip, clip_id)
    if clip is None or clip.job_id != ctx.job_id:
        return {"skipped": "the clip was deleted or has newer work"}
    store = media_store()
    if clip.lesson.status != "ready":
        raise MediaError("The lesson's video is not available; try again when the lesson is ready.",
                         code="no_rendition")
    cues = caption_cues(clip)
    timeout = current_app.config["FFMPEG_TIMEOUT_S"]
    card_ms = None
    share = 0.85 if clip.title_card else 0.95
    with ExitStack() as stack:
        try:  # the rendition itself (local store) or a scratch copy of it (S3)
            source = stack.enter_context(store.local_copy(rendition_key(clip.lesson)))
        except FileNotFoundError as exc:
            raise MediaError("The lesson's video is not available; try again when the lesson is ready.",
                             code="no_rendition") from exc
        work = stack.enter_context(store.temp_dir(f"clip-{clip.id}-"))
        video = work / "video.mp4"
        cut_cues = () if clip.title_card else cues  # with a card, the captions are added behind it
        # The lesson may have come to require blurring (its consent changed) since the clip was asked for.
        if clip.lesson.blur_faces_default and not clip.blur_faces:
            clip.blur_faces = True
            db.session.flush()  # kept through the refresh below
        if clip.blur_faces:  # encoded anyway, so always frame-accurate
            result = blur_faces(source, video, start_ms=clip.start_ms, end_ms=clip.end_ms, captions=cut_cues,
                                progress=lambda f: ctx.progress(share * f), cancel=ctx.stop, timeout_s=timeout)
            mode, start, duration = "blur", result.start_ms, result.duration_ms
        elif clip.accurate:
            result = cut_accurate(source, video, clip.start_ms, clip.end_ms, captions=cut_cues,
                                  progress=lambda f: ctx.progress(share * f), cancel=ctx.stop, timeout_s=timeout)
            mode, start, duration = result.mode, result.start_ms, result.duration_ms
        else:
            result = cut_fast(source, video, clip.start_ms, clip.end_ms, captions=cut_cues, cancel=ctx.stop)
            mode, start, duration = result.mode, result.start_ms, result.duration_ms
        ctx.check_stop()
        if clip.title_card:
            carded = prepend_title_card(video, video, title_card_of(clip), captions=cues, settings_from=[source],
                                        cancel=ctx.stop, timeout_s=timeout)
            card_ms, duration = carded.card_ms, carded.duration_ms
            cues = shifted(cues, card_ms)
            ctx.progress(0.95)
        thumbnail(video, work / "thumbnail.jpg", t_ms=(card_ms or 0) + max(0, clip.start_ms - start))
        # What a reel needs to know about this clip, probed once now rather than at every reel.
        (work / "format.json").write_text(json.dumps(source_video_to_dict(source_video(video))))
        if cues:
            write_webvtt(cues, work / "captions.vtt", duration)
        db.session.refresh(clip)
        if clip.job_id != ctx.job_id:
            return {"skipped": "the clip has newer work"}
        store.delete_prefix(clip.media_prefix)
        for name in ("thumbnail.jpg", "captions.vtt", "format.json", "video.mp4"):  # the video last: it means done
            if (work / name).is_file():
                store.put_file(clip_key(clip, name), work / name)
    clip.mode, clip.media_start_ms, clip.duration_ms = mode, start, duration
    clip.title_card_ms = card_ms
    clip.size_bytes = store.size(clip_key(clip, "video.mp4"))
    clip.status, clip.error = "ready", None
    clip.media_version = (clip.media_version or 0) + 1
    db.session.flush()
    return {"mode": mode, "duration_ms": duration}


def _recorded_format(store, meta_key: str, video):
    """The clip's format as its job recorded it, or None (clips made before that was kept are probed)."""
    try:
        return source_video_from_dict(json.loads(store.read_bytes(meta_key)), video)
    except (OSError, ValueError):
        return None


def render_reel(ctx, reel_id: int) -> dict | None:
    reel = db.session.get(Reel, reel_id)
    if reel is None or reel.job_id != ctx.job_id:
        return {"skipped": "the reel was deleted or has newer work"}
    store = media_store()
    clips = [item.clip for item in reel.items]
    if len(clips) != reel.clip_count or any(clip.status != "ready" for clip in clips):
        raise MediaError("A clip of this reel is no longer available.", code="clip_missing")
    with ExitStack() as stack:
        try:  # the clips' files themselves (local store) or scratch copies of them (S3)
            paths = [stack.enter_context(store.local_copy(clip_key(clip, "video.mp4"))) for clip in clips]
        except FileNotFoundError as exc:
            raise MediaError("A clip of this reel is no longer available.", code="clip_missing") from exc
        formats = [_recorded_format(store, clip_key(clip, "format.json"), path) for clip, path in zip(clips, paths,
                                                                                                     strict=True)]
        work = stack.enter_context(store.temp_dir(f"reel-{reel.id}-"))
        video = work / "video.mp4"
        result = concat_reel(paths, video, [clip.title for clip in clips], progress=lambda f: ctx.progress(0.95 * f),
                             cancel=ctx.stop, timeout_s=current_app.config["FFMPEG_TIMEOUT_S"], formats=formats)
        ctx.check_stop()
        thumbnail(video, work / "thumbnail.jpg")
        db.session.refresh(reel)
        if reel.job_id != ctx.job_id:
            return {"skipped": "the reel has newer work"}
        store.delete_prefix(reel.media_prefix)
        store.put_file(reel_key(reel, "thumbnail.jpg"), work / "thumbnail.jpg")
        store.put_file(reel_key(reel, "video.mp4"), video)
    reel.chapters = [{"title": c.title, "start_ms": c.start_ms, "end_ms": c.end_ms, "clip_id": clip.id}
                     for c, clip in zip(result.chapters, clips, strict=True)]
    reel.mode, reel.duration_ms = result.mode, result.duration_ms
    reel.size_bytes = store.size(reel_key(reel, "video.mp4"))
    reel.status, reel.error = "ready", None
    reel.media_version = (reel.media_version or 0) + 1
    db.session.flush()
    return {"mode": result.mode, "duration_ms": result.duration_ms}


def clip_queue(args: dict) -> str:
    """A clip is a short cut (light) unless its faces are blurred, which decodes and encodes every frame."""
    clip = db.session.get(Clip, args.get("clip_id"))
    return HEAVY if clip is not None and clip.blur_faces else LIGHT


TASKS = (Task("clip.render", render_clip, on_failure=_clip_failed, max_attempts=2, queue=clip_queue),
         Task("reel.render", render_reel, on_failure=_reel_failed, max_attempts=2, queue=HEAVY))
