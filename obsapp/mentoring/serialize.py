"""Payloads of goals, evidence, cycles, journal entries and notifications (what the API and pages show)."""

from __future__ import annotations

from flask import url_for

from obsapp.annotations.serialize import render_markdown
from obsapp.clips.serialize import clip_media_url
from obsapp.mentoring import services
from obsapp.mentoring.models import Goal, JournalEntry, JournalReply, Notification, ObservationCycle


def moment_url(lesson_id: int, t_ms: int | None) -> str:
    """The lesson page, opened at a moment (``#t=seconds``) when there is one."""
    if t_ms is None:
        return f"/lessons/{lesson_id}"
    return f"/lessons/{lesson_id}#t={t_ms / 1000:g}"


def person(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def _evidence_title(kind: str, thing) -> tuple[str, str]:
    if kind == "annotation":
        words = (thing.body or "").strip().splitlines()
        title = words[0][:120] if words else f"A {thing.kind} annotation"
        return title, moment_url(thing.lesson_id, thing.start_ms)
    if kind == "clip":
        return thing.title or "A clip", f"/clips/{thing.id}"
    if kind == "lesson":
        return thing.title, f"/lessons/{thing.id}"
    first = (thing.body or "").strip().splitlines()
    return (first[0][:120] if first else "A journal entry"), f"/journal/{thing.id}"


def evidence_payloads(actor, goal: Goal) -> list[dict]:
    out = []
    for item in services.evidence_timeline(actor, goal):
        evidence = item["evidence"]
        title, url = _evidence_title(item["kind"], item["thing"])
        out.append({"id": evidence.id, "kind": evidence.kind, "annotation_id": evidence.annotation_id,
                    "clip_id": evidence.clip_id, "lesson_id": evidence.lesson_id,
                    "journal_entry_id": evidence.journal_entry_id, "title": title, "url": url,
                    "at": item["at"].isoformat() if item["at"] else None, "added_at": evidence.created_at,
                    "thing": item["thing"]})
    return out


def goal_payload(goal: Goal, actor=None, *, evidence: bool = False) -> dict:
    payload = {"id": goal.id, "teacher": person(goal.teacher), "title": goal.title, "success": goal.success,
               "target_date": goal.target_date, "status": goal.status,
               "criteria": [{"id": c.id, "code": c.code, "name": c.name} for c in goal.criteria],
               "created_at": goal.created_at, "updated_at": goal.updated_at}
    if evidence:
        payload["evidence"] = evidence_payloads(actor, goal)
    return payload


def cycle_payload(cycle: ObservationCycle) -> dict:
    return {"id": cycle.id, "mentor": person(cycle.mentor), "mentee": person(cycle.mentee), "status": cycle.status,
            "stage": services.stage(cycle), "focus": cycle.focus, "look_fors": cycle.look_fors,
            "pre_notes": cycle.pre_notes, "planned_for": cycle.planned_for, "lesson_id": cycle.lesson_id,
            "self_review_first": cycle.self_review_first, "blind_mentor": cycle.blind_mentor,
            "self_review_done_at": cycle.self_review_done_at, "mentor_review_done_at": cycle.mentor_review_done_at,
            "revealed": cycle.revealed, "went_well": cycle.went_well, "post_notes": cycle.post_notes,
            "goals": [{"id": g.id, "title": g.title, "status": g.status} for g in cycle.goals],
            "next_steps": [{"id": s.id, "text": s.text, "goal_id": s.goal_id, "created_at": s.created_at}
                           for s in cycle.next_steps],
            "created_at": cycle.created_at, "observed_at": cycle.observed_at, "reviewed_at": cycle.reviewed_at,
            "closed_at": cycle.closed_at}


def entry_payload(entry: JournalEntry) -> dict:
    return {"id": entry.id, "author": person(entry.author), "body": entry.body,
            "body_html": render_markdown(entry.body), "visibility": entry.visibility, "lesson_id": entry.lesson_id,
            "t_ms": entry.t_ms, "goal_id": entry.goal_id, "cycle_id": entry.cycle_id,
            "reply_count": len(entry.replies), "created_at": entry.created_at, "updated_at": entry.updated_at}


def reply_payload(reply: JournalReply) -> dict:
    return {"id": reply.id, "author": person(reply.author), "body": reply.body,
            "body_html": render_markdown(reply.body), "created_at": reply.created_at}


def notification_payload(note: Notification) -> dict:
    return {"id": note.id, "kind": note.kind, "title": note.title, "url": note.url,
            "read": note.read_at is not None, "created_at": note.created_at}


def model_clip_payload(clip) -> dict | None:
    if clip is None:
        return None
    ready = clip.status == "ready"
    return {"id": clip.id, "title": clip.title, "start_ms": clip.start_ms, "end_ms": clip.end_ms,
            "status": clip.status, "blur_faces": clip.blur_faces,
            "video_url": clip_media_url(clip, "video.mp4") if ready else None,
            "thumbnail_url": clip_media_url(clip, "thumbnail.jpg") if ready else None,
            "page_url": url_for("clips.clip_page", clip_id=clip.id)}


def model_payload(model) -> dict:
    return {"id": model.id, "kind": "clip" if model.clip_id is not None else "lesson",
            "lesson_id": model.lesson_id, "clip_id": model.clip_id, "clip": model_clip_payload(model.clip),
            "owner": person(model.owner), "title": model.title,
            "note": model.note, "audience": model.audience,
            "criteria": [{"id": c.id, "code": c.code, "name": c.name} for c in model.criteria],
            "created_at": model.created_at}


def model_note_payload(note) -> dict:
    return {"id": note.id, "t_ms": note.t_ms, "body": note.body, "body_html": render_markdown(note.body),
            "created_at": note.created_at}
