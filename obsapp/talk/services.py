"""Talk and wait time: start the analysis after ingest, store its segments, and derive the measures.

The segments are stored; the measures that depend on annotations (wait times) are computed when asked, so a
question added, moved or deleted later is reflected at once, and each reader sees only the annotations they may.
"""

from __future__ import annotations

import statistics

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations import services as annotations
from obsapp.annotations.models import Annotation
from obsapp.errors import Conflict, Forbidden, InvalidInput
from obsapp.extensions import db
from obsapp.jobs.queue import enqueue
from obsapp.lessons.models import Lesson
from obsapp.media.speech import Segment, TalkResult, pauses, wait_time_ms
from obsapp.talk.models import TalkAnalysis

PAUSE_MIN_MS = 3000
LONGEST_TALKS = 3
TASK = "talk.analyse"


def start_analysis(lesson: Lesson) -> TalkAnalysis:
    """Queue (again) the talk analysis of a lesson whose media is ready; called in the ingest job's unit of work."""
    row = db.session.get(TalkAnalysis, lesson.id)
    if row is None:
        row = TalkAnalysis(lesson_id=lesson.id, segments=[])
        db.session.add(row)
    job = enqueue(TASK, owner_id=lesson.owner_id, lesson_id=lesson.id)
    row.status, row.error, row.job_id = "processing", None, job.id
    db.session.flush()
    return row


def request_analysis(actor: User, lesson: Lesson) -> TalkAnalysis:
    """Analyse (again) a ready lesson's talk: one ingested before talk analysis existed, or whose analysis failed.
    Those who may comment on the lesson may ask; not while one is queued or running."""
    policy.require(actor, "comment", lesson)
    if lesson.status != "ready":
        raise Conflict("The lesson's video is not ready yet.", code="not_ready")
    row = db.session.get(TalkAnalysis, lesson.id)
    if row is not None and row.status == "processing":
        raise Conflict("The talk analysis is already under way.", code="in_progress")
    return start_analysis(lesson)


def store_result(row: TalkAnalysis, lesson: Lesson, result: TalkResult) -> None:
    row.segments = [s.as_json() for s in result.segments]
    row.duration_ms, row.speech_ms = result.duration_ms, result.speech_ms
    row.media_version = lesson.media_version or 0
    row.status, row.error = "ready", None
    db.session.flush()


def get_analysis(actor: User, lesson: Lesson) -> TalkAnalysis | None:
    policy.require(actor, "view", lesson)  # 404 when not visible
    if not policy.can_view_talk(actor, lesson):
        raise Forbidden("You may not see this lesson's talk analysis.")
    return db.session.get(TalkAnalysis, lesson.id)


def _segments(row: TalkAnalysis) -> list[Segment]:
    return [Segment(int(s["start_ms"]), int(s["end_ms"]), float(s.get("level_db", -120.0)), s.get("voice", "near"))
            for s in row.segments or []]


def is_question(annotation: Annotation) -> bool:
    """A question: the kind ``question``, or tagged with a questioning criterion (its name says "question")."""
    return annotation.kind == "question" or any("question" in (c.name or "").lower() for c in annotation.criteria)


def question_moments(actor: User, lesson: Lesson) -> list[Annotation]:
    return [a for a in annotations.visible_annotations(actor, lesson) if is_question(a)]


def wait_times(segments: list[Segment], questions: list[Annotation]) -> list[dict]:
    """Wait time after each question (a span's question is taken at its end; a moment at its time)."""
    out = []
    for annotation in questions:
        at = annotation.end_ms if annotation.end_ms is not None else annotation.start_ms
        found = wait_time_ms(segments, at)
        if found is not None:
            wait, question_end = found
            out.append({"annotation_id": annotation.id, "wait_ms": wait, "at_ms": question_end,
                        "kind": annotation.kind})
    return out


def _window(segments: list[Segment], start_ms: int, end_ms: int) -> list[Segment]:
    """The speech inside [start_ms, end_ms), cut at its edges."""
    return [Segment(max(s.start_ms, start_ms), min(s.end_ms, end_ms), s.level_db, s.voice)
            for s in segments if s.end_ms > start_ms and s.start_ms < end_ms]


def talk_payload(actor: User, lesson: Lesson, span: tuple[int | None, int | None] = (None, None)) -> dict:
    """The contract's answer (status, speech_share, segments, wait_times) plus the measures the page shows; with a
    ``span`` (start_ms, end_ms), the measures of that part of the lesson only (the questions asked in it)."""
    row = get_analysis(actor, lesson)
    if row is None:
        # Still ingesting (the analysis follows), or ingested before talk analysis existed (ask for one: POST).
        if lesson.status == "ready":
            return {"status": "failed", "speech_share": 0.0, "segments": [], "wait_times": [],
                    "error": "This lesson's talk has not been analysed yet."}
        status = "failed" if lesson.status == "failed" else "processing"
        return {"status": status, "speech_share": 0.0, "segments": [], "wait_times": [], "error": lesson.error}
    if row.status != "ready":
        return {"status": row.status, "speech_share": 0.0, "segments": [], "wait_times": [], "error": row.error}
    all_segments = _segments(row)
    start = span[0] or 0
    end = span[1] if span[1] is not None else (row.duration_ms or 0)
    if span != (None, None) and not 0 <= start < end <= (row.duration_ms or 0):
        raise InvalidInput(f"The span must satisfy 0 ≤ start_ms < end_ms ≤ {row.duration_ms or 0}.",
                           fields={"end_ms": ["Outside the lesson."]})
    segments = _window(all_segments, start, end)
    length = end - start
    speech_ms = sum(s.duration_ms for s in segments)
    gaps = pauses([Segment(s.start_ms - start, s.end_ms - start) for s in segments], length, min_ms=PAUSE_MIN_MS)
    questions = [q for q in question_moments(actor, lesson)
                 if start <= (q.end_ms if q.end_ms is not None else q.start_ms) < end]
    waits = wait_times(all_segments, questions)
    longest = sorted(segments, key=lambda s: (-s.duration_ms, s.start_ms))[:LONGEST_TALKS]
    near_ms = sum(s.duration_ms for s in segments if s.voice == "near")
    return {
        "status": "ready",
        "speech_share": round(speech_ms / length, 4) if length else 0.0,
        "segments": [{"start_ms": s.start_ms, "end_ms": s.end_ms, "voice": s.voice, "level_db": round(s.level_db, 1)}
                     for s in segments],
        "wait_times": waits,
        "duration_ms": row.duration_ms or 0,
        "span": {"start_ms": start, "end_ms": end},
        "speech_ms": speech_ms,
        "near_voice_share": round(near_ms / speech_ms, 4) if speech_ms else 0.0,
        "longest_talk": [{"start_ms": s.start_ms, "end_ms": s.end_ms} for s in longest],
        "pauses": {"min_ms": PAUSE_MIN_MS, "count": len(gaps),
                   "median_ms": int(statistics.median([p.duration_ms for p in gaps])) if gaps else None,
                   "items": [{"start_ms": p.start_ms + start, "end_ms": p.end_ms + start} for p in gaps]},
        "median_wait_ms": int(statistics.median([w["wait_ms"] for w in waits])) if waits else None,
        "error": None,
    }
