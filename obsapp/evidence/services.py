"""Evidence reels: a reel of every strength on a criterion across a teacher's lessons (or a date range), or a
"before and after" that pairs an early growth area with a later strength on the same criterion.

Each annotation becomes a clip (a span as it is; a moment with the window the lesson page uses: 5 s before, 10 s
after), with its words as captions and a title card, blurred where the lesson's consent requires it (the clip
job decides that). The clips are rendered by ``evidence.clip`` jobs (the clip job, then a check); the last one
to finish queues the ordinary reel job, which joins them with a chapter per clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update

from obsapp import policy
from obsapp.accounts.models import User, utcnow
from obsapp.annotations import services as annotations
from obsapp.annotations.models import Annotation
from obsapp.clips import services as clips
from obsapp.clips.models import Clip, Reel, ReelItem
from obsapp.errors import InvalidInput, NotFound
from obsapp.evidence.models import REEL_KINDS, EvidenceReel
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion
from obsapp.jobs.queue import enqueue
from obsapp.lessons.models import Lesson

CLIP_TASK = "evidence.clip"
MOMENT_BEFORE_MS, MOMENT_AFTER_MS = 5000, 10000  # the lesson page's window around a moment
MAX_CLIPS = min(20, clips.MAX_REEL_CLIPS)


@dataclass
class Moment:
    annotation: Annotation
    lesson: Lesson

    @property
    def on(self) -> date:
        return lesson_date(self.lesson)


def lesson_date(lesson: Lesson) -> date:
    return lesson.taught_on or lesson.created_at.date()


def _criterion(criterion_id: int) -> Criterion:
    criterion = db.session.get(Criterion, criterion_id)
    if criterion is None:
        raise InvalidInput("No such criterion.", fields={"criterion_id": ["Not found."]})
    return criterion


def _period(from_date: date | None, to_date: date | None) -> None:
    if from_date and to_date and from_date > to_date:
        raise InvalidInput("The start of the period is after its end.", fields={"from": ["After “to”."]})


def moments(actor: User, teacher_id: int, criterion_id: int, kind: str, from_date: date | None = None,
            to_date: date | None = None) -> list[Moment]:
    """The annotations of ``kind`` tagged with the criterion on the teacher's ready lessons in the period that
    ``actor`` may see, oldest lesson first, then by time in the lesson."""
    lessons = db.session.execute(
        select(Lesson).where(Lesson.owner_id == teacher_id, Lesson.status == "ready",
                             policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))).scalars().all()
    found = []
    for lesson in lessons:
        on = lesson_date(lesson)
        if (from_date and on < from_date) or (to_date and on > to_date):
            continue
        for annotation in annotations.visible_annotations(actor, lesson, shared_only=False):
            if annotation.kind == kind and any(c.id == criterion_id for c in annotation.criteria):
                found.append(Moment(annotation, lesson))
    found.sort(key=lambda m: (m.on, m.lesson.id, m.annotation.start_ms, m.annotation.id))
    return found


def choose(actor: User, teacher_id: int, criterion_id: int, kind: str, from_date: date | None = None,
           to_date: date | None = None) -> list[tuple[str, Moment]]:
    """The moments a reel of ``kind`` shows, each with its label: every strength (the latest ``MAX_CLIPS``), or
    the earliest growth area and the latest strength after it (on a later lesson)."""
    if kind == "strengths":
        strengths = moments(actor, teacher_id, criterion_id, "strength", from_date, to_date)[-MAX_CLIPS:]
        if not strengths:
            raise InvalidInput("There are no strengths on this criterion in that period to make a reel of.",
                               code="no_evidence")
        return [("Strength", m) for m in strengths]
    growth = moments(actor, teacher_id, criterion_id, "growth", from_date, to_date)
    if not growth:
        raise InvalidInput("There is no growth area on this criterion in that period to start from.",
                           code="no_evidence")
    before = growth[0]
    later = [m for m in moments(actor, teacher_id, criterion_id, "strength", from_date, to_date)
             if m.on > before.on or (m.on == before.on and m.lesson.created_at > before.lesson.created_at)]
    if not later:
        raise InvalidInput("There is no strength on this criterion in a lesson after the first growth area yet.",
                           code="no_evidence")
    return [("Before", before), ("After", later[-1])]


def clip_span(moment: Moment) -> tuple[int, int]:
    """A span as it is; a moment with the usual window; both kept inside the lesson."""
    a, duration = moment.annotation, int(moment.lesson.duration_ms or 0)
    if a.end_ms is not None and a.end_ms > a.start_ms:
        start, end = a.start_ms, a.end_ms
    else:
        start, end = a.start_ms - MOMENT_BEFORE_MS, a.start_ms + MOMENT_AFTER_MS
    start, end = max(0, int(start)), min(duration, int(end))
    if end <= start:  # a moment at the very end of the lesson
        start = max(0, duration - MOMENT_BEFORE_MS - MOMENT_AFTER_MS)
        end = duration
    return start, end


def _clip_title(label: str, moment: Moment) -> str:
    words = (moment.annotation.body or "").strip().splitlines()
    text = words[0].strip() if words else ""
    title = f"{label} · {moment.lesson.title} ({moment.on.isoformat()})"
    return (f"{title}: {text}" if text else title)[:200]


def reel_title(kind: str, criterion: Criterion, teacher: User) -> str:
    name = f"{criterion.code} {criterion.name}".strip() if criterion.code else criterion.name
    what = "Strengths" if kind == "strengths" else "Before and after"
    return f"{what}: {name} ({teacher.name})"[:200]


def make_reel(actor: User, data: dict) -> EvidenceReel:
    """Start an evidence reel: a clip job for each chosen annotation; the reel job follows the last clip."""
    teacher_id = int(data["teacher_id"])
    teacher = db.session.get(User, teacher_id)
    if teacher is None:
        raise NotFound("No such teacher.")
    policy.require_teacher_evidence(actor, teacher_id)
    kind = data.get("kind") or "strengths"
    if kind not in REEL_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(REEL_KINDS)}.", fields={"kind": ["Unknown."]})
    criterion = _criterion(int(data["criterion_id"]))
    from_date, to_date = data.get("from"), data.get("to")
    _period(from_date, to_date)
    chosen = choose(actor, teacher_id, criterion.id, kind, from_date, to_date)
    made = []
    for label, moment in chosen:
        start, end = clip_span(moment)
        made.append(clips.create_clip(actor, moment.lesson, {
            "start_ms": start, "end_ms": end, "title": _clip_title(label, moment),
            "annotation_id": moment.annotation.id, "accurate": True, "captions": True, "title_card": True,
        }, task=CLIP_TASK))
    reel = Reel(creator_id=actor.id, title=reel_title(kind, criterion, teacher), status="processing",
                lesson_ids=sorted({clip.lesson_id for clip in made}), clip_count=len(made))
    reel.items = [ReelItem(clip_id=clip.id, position=n) for n, clip in enumerate(made)]
    db.session.add(reel)
    db.session.flush()
    evidence = EvidenceReel(reel_id=reel.id, teacher_id=teacher_id, requester_id=actor.id, criterion_id=criterion.id,
                            kind=kind, from_date=from_date, to_date=to_date)
    db.session.add(evidence)
    db.session.flush()
    return evidence


def clip_jobs(evidence: EvidenceReel) -> list[int]:
    return [item.clip.job_id for item in evidence.reel.items if item.clip.job_id is not None]


def reels_waiting_for(clip: Clip) -> list[Reel]:
    """The reels that wait for their clips (no reel job yet) and hold this clip."""
    return list(db.session.execute(
        select(Reel).join(ReelItem, ReelItem.reel_id == Reel.id)
        .where(ReelItem.clip_id == clip.id, Reel.job_id.is_(None), Reel.status == "processing")).scalars())


def release_reels(clip: Clip) -> list[int]:
    """After a clip is ready: queue the reel job of each waiting reel whose clips are now all ready. The reel row
    is written first (a conditional update), so of two clip jobs ending together the second waits for the first
    and sees its clip ready; only one of them queues the job (``job_id IS NULL``). Returns the jobs queued."""
    queued = []
    for reel in reels_waiting_for(clip):
        claimed = db.session.execute(update(Reel).where(Reel.id == reel.id, Reel.job_id.is_(None),
                                                        Reel.status == "processing")
                                     .values(updated_at=utcnow()).execution_options(synchronize_session=False))
        if not claimed.rowcount:
            continue
        db.session.refresh(reel)
        statuses = db.session.execute(select(Clip.status).join(ReelItem, ReelItem.clip_id == Clip.id)
                                      .where(ReelItem.reel_id == reel.id)).scalars().all()
        if len(statuses) != reel.clip_count or any(s != "ready" for s in statuses):
            continue
        reel.job_id = enqueue("reel.render", owner_id=reel.creator_id, reel_id=reel.id).id
        queued.append(reel.job_id)
    db.session.flush()
    return queued


def fail_reels(clip: Clip, message: str) -> None:
    """A clip could not be made: the reels waiting for it fail, saying which (they can be made again)."""
    for reel in reels_waiting_for(clip):
        reel.status, reel.error = "failed", f"The clip “{clip.title}” could not be made: {message}"
    db.session.flush()


def get_evidence(actor: User, evidence_id: int) -> EvidenceReel:
    evidence = db.session.get(EvidenceReel, evidence_id)
    if evidence is None or not policy.can_see_teacher_evidence(actor, evidence.teacher_id) \
            or not policy.can_view_reel(actor, evidence.reel):
        raise NotFound("No such evidence reel.")
    return evidence


def evidence_of(actor: User, teacher_id: int) -> list[EvidenceReel]:
    """The teacher's evidence reels that ``actor`` may see, newest first."""
    policy.require_teacher_evidence(actor, teacher_id)
    rows = db.session.execute(select(EvidenceReel).where(EvidenceReel.teacher_id == teacher_id)
                              .order_by(EvidenceReel.created_at.desc(), EvidenceReel.id.desc())).scalars().all()
    return [row for row in rows if policy.can_view_reel(actor, row.reel)]
