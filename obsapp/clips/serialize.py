"""Clips, reels and feedback items as the API and the pages' scripts see them."""

from __future__ import annotations

from flask import url_for

from obsapp.accounts import permissions
from obsapp.accounts.models import User
from obsapp.clips import services
from obsapp.clips.models import Clip, FeedbackItem, Reel
from obsapp.extensions import db
from obsapp.jobs.models import Job

CLIP_FILES = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg", "captions.vtt": "text/vtt; charset=utf-8"}
REEL_FILES = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg"}


def _person(user: User | None) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def _job(job_id: int | None) -> dict | None:
    job = db.session.get(Job, job_id) if job_id else None
    return {"id": job.id, "state": job.state, "progress": job.progress} if job else None


def clip_media_url(clip: Clip, name: str, **args) -> str:
    return url_for("clips_api.clip_media", clip_id=clip.id, name=name, v=clip.media_version, **args)


def reel_media_url(reel: Reel, name: str, **args) -> str:
    return url_for("clips_api.reel_media", reel_id=reel.id, name=name, v=reel.media_version, **args)


def clip_payload(clip: Clip, actor: User) -> dict:
    ready = clip.status == "ready"
    delivery = services.my_delivery(actor, clip)
    return {
        "id": clip.id, "lesson_id": clip.lesson_id,
        "lesson": {"id": clip.lesson.id, "title": clip.lesson.title, "owner": _person(clip.lesson.owner)},
        "annotation_id": clip.annotation_id, "start_ms": clip.start_ms, "end_ms": clip.end_ms,
        "media_start_ms": clip.media_start_ms, "duration_ms": clip.duration_ms,
        "title": clip.title, "status": clip.status, "error": clip.error, "job_id": clip.job_id,
        "job": _job(clip.job_id), "mode": clip.mode,
        "accurate": clip.accurate, "captions": clip.captions, "blur_faces": clip.blur_faces,
        "title_card": bool(clip.title_card), "title_card_ms": clip.title_card_ms,
        "comment": clip.comment, "kind": clip.kind, "criteria": clip.criteria or [],
        "video_url": clip_media_url(clip, "video.mp4") if ready else None,
        "download_url": clip_media_url(clip, "video.mp4", download=1) if ready else None,
        "thumbnail_url": clip_media_url(clip, "thumbnail.jpg") if ready else None,
        "captions_vtt_url": clip_media_url(clip, "captions.vtt") if ready and clip.captions else None,
        "page_url": url_for("clips.clip_page", clip_id=clip.id),
        "can_send": permissions.can(actor, "comment", clip.lesson),
        "delivery": delivery_state(delivery) if delivery else None,
        "created_at": clip.created_at, "creator": _person(clip.creator),
    }


def reel_payload(reel: Reel, actor: User) -> dict:
    ready = reel.status == "ready"
    delivery = services.my_delivery(actor, reel)
    return {
        "id": reel.id, "title": reel.title, "status": reel.status, "error": reel.error, "job_id": reel.job_id,
        "job": _job(reel.job_id), "mode": reel.mode, "duration_ms": reel.duration_ms,
        "clip_ids": [item.clip_id for item in reel.items], "lesson_ids": reel.lesson_ids or [],
        "chapters": [{"title": c["title"], "start_ms": c["start_ms"], "end_ms": c["end_ms"],
                      "clip_id": c.get("clip_id")} for c in (reel.chapters or [])],
        "video_url": reel_media_url(reel, "video.mp4") if ready else None,
        "download_url": reel_media_url(reel, "video.mp4", download=1) if ready else None,
        "thumbnail_url": reel_media_url(reel, "thumbnail.jpg") if ready else None,
        "page_url": url_for("clips.reel_page", reel_id=reel.id),
        "can_send": reel.creator_id == actor.id,
        "delivery": delivery_state(delivery) if delivery else None,
        "created_at": reel.created_at, "creator": _person(reel.creator),
    }


def delivery_state(row: FeedbackItem) -> dict:
    return {"id": row.id, "sender": _person(row.sender), "recipient": _person(row.recipient),
            "message": row.message, "sent_at": row.sent_at, "watched_at": row.watched_at,
            "reviewed_at": row.reviewed_at}


def delivery_payload(row: FeedbackItem) -> dict:
    """One recipient of a clip or reel, for its sender: what they did with it."""
    payload = delivery_state(row)
    annotation_id = row.clip.annotation_id if row.clip is not None else None
    payload["reflections"] = services.reflections_since(annotation_id, row.recipient_id, row.sent_at)
    return payload


def feedback_payload(row: FeedbackItem, actor: User) -> dict:
    """An entry of the inbox: the clip or reel with what the recipient needs to see at a glance."""
    base = delivery_state(row)
    if row.clip is not None:
        item = clip_payload(row.clip, actor)
        base.update(type="clip", clip=item, reel=None)
    else:
        item = reel_payload(row.reel, actor)
        base.update(type="reel", reel=item, clip=None)
    base.update(title=item["title"], status=item["status"], thumbnail_url=item["thumbnail_url"],
                page_url=item["page_url"], comment=item.get("comment"), kind=item.get("kind"),
                criteria=item.get("criteria") or [], unread=row.watched_at is None)
    return base
