"""Clips, reels and feedback items as the API and the pages' scripts see them.

Payloads of many clips or reels share one ``Facts``: what they need (lessons, people, jobs, the reader's
deliveries and access) is fetched in a few queries for the whole list, never one query per row."""

from __future__ import annotations

from collections.abc import Iterable

from flask import url_for
from sqlalchemy import or_, select
from sqlalchemy.orm.attributes import set_committed_value

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.clips import services
from obsapp.clips.models import Clip, FeedbackItem, Reel, ReelItem
from obsapp.extensions import db
from obsapp.jobs.models import Job
from obsapp.lessons.models import Lesson

CLIP_FILES = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg", "captions.vtt": "text/vtt; charset=utf-8"}
REEL_FILES = {"video.mp4": "video/mp4", "thumbnail.jpg": "image/jpeg"}


def _load(model, ids: Iterable[int | None]) -> list:
    """Bring the rows with these ids into the session in one query (so that relationships to them and
    ``session.get`` find them without another)."""
    missing = {i for i in ids if i is not None and db.session.identity_key(model, i) not in db.session.identity_map}
    if not missing:
        return []
    # The session holds its rows weakly: the caller keeps this list while it serialises.
    return list(db.session.execute(select(model).where(model.id.in_(missing))).scalars())


def _load_reel_items(reels: list[Reel]) -> None:
    unloaded = [reel for reel in reels if "items" not in reel.__dict__]
    if not unloaded:
        return
    items: dict[int, list[ReelItem]] = {reel.id: [] for reel in unloaded}
    for item in db.session.execute(select(ReelItem).where(ReelItem.reel_id.in_(items))
                                   .order_by(ReelItem.reel_id, ReelItem.position)).scalars():
        items[item.reel_id].append(item)
    for reel in unloaded:
        set_committed_value(reel, "items", items[reel.id])


class Facts:
    """What the payloads of ``clips`` and ``reels`` for ``actor`` need, fetched at once. ``deliveries``: rows
    sent to ``actor`` already at hand (the inbox's)."""

    def __init__(self, actor: User, clips: Iterable[Clip] = (), reels: Iterable[Reel] = (),
                 deliveries: Iterable[FeedbackItem] = ()):
        clips, reels = list(clips), list(reels)
        self.held = _load(Lesson, (clip.lesson_id for clip in clips))  # kept while the payloads are made
        lessons = [clip.lesson for clip in clips]
        self.reel_lessons = policy.reels_lessons(reels)
        every_lesson = lessons + [lesson for found in self.reel_lessons.values() for lesson in found or []]
        self.access = policy.lesson_access_map(actor, every_lesson)
        _load_reel_items(reels)
        self.deliveries: dict[tuple[str, int], FeedbackItem] = {}
        for row in deliveries:
            self.deliveries[("clip", row.clip_id) if row.clip_id is not None else ("reel", row.reel_id)] = row
        self._fetch_deliveries(actor, [c.id for c in clips if ("clip", c.id) not in self.deliveries],
                               [r.id for r in reels if ("reel", r.id) not in self.deliveries])
        people = {lesson.owner_id for lesson in lessons} | {item.creator_id for item in clips + reels}
        for row in self.deliveries.values():
            people |= {row.sender_id, row.recipient_id}
        self.held += _load(User, people) + _load(Job, (item.job_id for item in clips + reels))

    def _fetch_deliveries(self, actor: User, clip_ids: list[int], reel_ids: list[int]) -> None:
        if not (clip_ids or reel_ids) or not policy.is_signed_in(actor):
            return
        rows = db.session.execute(select(FeedbackItem).where(
            FeedbackItem.recipient_id == actor.id,
            or_(FeedbackItem.clip_id.in_(clip_ids), FeedbackItem.reel_id.in_(reel_ids)))).scalars()
        for row in rows:
            self.deliveries[("clip", row.clip_id) if row.clip_id is not None else ("reel", row.reel_id)] = row


def _person(user: User | None) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def _job(job_id: int | None) -> dict | None:
    job = db.session.get(Job, job_id) if job_id else None
    return {"id": job.id, "state": job.state, "progress": job.progress} if job else None


def clip_media_url(clip: Clip, name: str, **args) -> str:
    return url_for("clips_api.clip_media", clip_id=clip.id, name=name, v=clip.media_version, **args)


def reel_media_url(reel: Reel, name: str, **args) -> str:
    return url_for("clips_api.reel_media", reel_id=reel.id, name=name, v=reel.media_version, **args)


def clip_payload(clip: Clip, actor: User, facts: Facts | None = None) -> dict:
    facts = facts or Facts(actor, clips=[clip])
    ready = clip.status == "ready"
    delivery = facts.deliveries.get(("clip", clip.id))
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
        "can_send": policy.can_all(actor, "comment", [clip.lesson], facts.access),
        "delivery": delivery_state(delivery) if delivery else None,
        "created_at": clip.created_at, "creator": _person(clip.creator),
    }


def clip_payloads(clips: Iterable[Clip], actor: User) -> list[dict]:
    clips = list(clips)
    facts = Facts(actor, clips=clips)
    return [clip_payload(clip, actor, facts) for clip in clips]


def reel_payload(reel: Reel, actor: User, facts: Facts | None = None) -> dict:
    facts = facts or Facts(actor, reels=[reel])
    ready = reel.status == "ready"
    delivery = facts.deliveries.get(("reel", reel.id))
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
        "can_send": policy.can_send_reel(actor, reel, facts.reel_lessons.get(reel.id), facts.access),
        "delivery": delivery_state(delivery) if delivery else None,
        "created_at": reel.created_at, "creator": _person(reel.creator),
    }


def reel_payloads(reels: Iterable[Reel], actor: User) -> list[dict]:
    reels = list(reels)
    facts = Facts(actor, reels=reels)
    return [reel_payload(reel, actor, facts) for reel in reels]


def delivery_state(row: FeedbackItem) -> dict:
    return {"id": row.id, "sender": _person(row.sender), "recipient": _person(row.recipient),
            "message": row.message, "sent_at": row.sent_at, "watched_at": row.watched_at,
            "reviewed_at": row.reviewed_at}


def delivery_payloads(rows: Iterable[FeedbackItem]) -> list[dict]:
    """The recipients of one clip or reel, for its sender: what each did with it (watched, reviewed, and how
    many reflections they wrote since it was sent), in one query whatever their number."""
    rows = list(rows)
    annotation_ids = {row.clip.annotation_id if row.clip is not None else None for row in rows}
    reflections: dict[tuple[int | None, int], int] = {}
    for annotation_id in annotation_ids:
        since = {row.recipient_id: row.sent_at for row in rows
                 if (row.clip.annotation_id if row.clip is not None else None) == annotation_id}
        reflections.update({(annotation_id, user): n for user, n in
                            services.reflections_since(annotation_id, since).items()})
    payloads = []
    for row in rows:
        payload = delivery_state(row)
        annotation_id = row.clip.annotation_id if row.clip is not None else None
        payload["reflections"] = reflections[(annotation_id, row.recipient_id)]
        payloads.append(payload)
    return payloads


def feedback_payload(row: FeedbackItem, actor: User, facts: Facts | None = None) -> dict:
    """An entry of the inbox: the clip's (or reel's) own payload, its ``id`` the clip's (or reel's), with
    ``type`` ("clip" or "reel"), the ``delivery`` to the reader and whether it is ``unread``."""
    if facts is None:
        facts = Facts(actor, clips=[row.clip] if row.clip_id is not None else [],
                      reels=[row.reel] if row.reel_id is not None else [], deliveries=[row])
    if row.clip_id is not None:
        item = clip_payload(row.clip, actor, facts)
        item["type"] = "clip"
    else:
        item = reel_payload(row.reel, actor, facts)
        item["type"] = "reel"
    item["delivery"] = delivery_state(row)
    item["unread"] = row.watched_at is None
    return item


def feedback_payloads(rows: Iterable[FeedbackItem], actor: User) -> list[dict]:
    """Inbox entries for many deliveries, in a few queries."""
    rows = list(rows)
    held = _load(Clip, (row.clip_id for row in rows)) + _load(Reel, (row.reel_id for row in rows))
    facts = Facts(actor, clips=[row.clip for row in rows if row.clip_id is not None],
                  reels=[row.reel for row in rows if row.reel_id is not None], deliveries=rows)
    payloads = [feedback_payload(row, actor, facts) for row in rows]
    del held
    return payloads
