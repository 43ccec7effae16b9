"""The rules of goals, observation cycles and the journal. Each function takes the acting user, checks access
through obsapp.policy, changes the session and flushes; the request (or CLI command) commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, or_, select, update

from obsapp import policy
from obsapp.accounts.models import Mentorship, User, utcnow
from obsapp.annotations import services as annotations
from obsapp.annotations.models import Annotation, annotation_criteria
from obsapp.clips import services as clips
from obsapp.errors import Conflict, InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.frameworks import services as frameworks
from obsapp.lessons import services as lessons
from obsapp.lessons.models import Lesson
from obsapp.mentoring import notify
from obsapp.mentoring.models import (
    CYCLE_STATUSES,
    EVIDENCE_KINDS,
    GOAL_STATUSES,
    JOURNAL_VISIBILITIES,
    Goal,
    GoalEvidence,
    JournalEntry,
    JournalReply,
    NextStep,
    ObservationCycle,
    ReflectionPrompt,
)

MAX_TITLE = 200
MAX_TEXT = 20_000


def _text(data: dict, name: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidInput(f"{name} is required.", fields={name: ["Required."]})
        return None
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{name} may not be empty.", fields={name: ["May not be empty."]})
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters.", fields={name: ["Too long."]})
    return value


def _criteria(ids: list[int] | None) -> list:
    ids = list(dict.fromkeys(ids or []))
    found = frameworks.criteria_by_id(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"Unknown criteria: {', '.join(map(str, missing))}.",
                           fields={"criterion_ids": [f"No criterion {i}." for i in missing]})
    return [found[i] for i in ids]


# --- goals -----------------------------------------------------------------------------------------------------


def get_goal(actor: User, goal_id: int) -> Goal:
    goal = db.session.get(Goal, goal_id)
    if goal is None or not policy.may_see_goals_of(actor, goal.teacher_id):
        raise NotFound("No such goal.")
    return goal


def create_goal(actor: User, data: dict) -> Goal:
    teacher_id = data.get("teacher_id", actor.id if policy.is_signed_in(actor) else None)
    if teacher_id is None or db.session.get(User, teacher_id) is None:
        raise NotFound("No such teacher.")
    policy.require_goals_of(actor, teacher_id)
    goal = Goal(teacher_id=teacher_id, created_by_id=actor.id, title=_text(data, "title", required=True,
                                                                           limit=MAX_TITLE),
                success=_text(data, "success") or "", target_date=data.get("target_date"),
                criteria=_criteria(data.get("criterion_ids")))
    db.session.add(goal)
    db.session.flush()
    return goal


def update_goal(actor: User, goal: Goal, data: dict) -> Goal:
    policy.require_goals_of(actor, goal.teacher_id)
    if "title" in data:
        goal.title = _text(data, "title", required=True, limit=MAX_TITLE)
    if "success" in data:
        goal.success = _text(data, "success") or ""
    if "target_date" in data:
        goal.target_date = data["target_date"]
    if "criterion_ids" in data:
        goal.criteria = _criteria(data["criterion_ids"])
    if "status" in data and data["status"] != goal.status:
        if data["status"] not in GOAL_STATUSES:
            raise InvalidInput("status is active, achieved or dropped.", fields={"status": ["Unknown status."]})
        goal.status = data["status"]
        goal.status_changed_at = utcnow()
    goal.updated_at = utcnow()
    db.session.flush()
    return goal


def goals_query(actor: User, teacher_id: int | None = None, status: str | None = None) -> Select:
    stmt = select(Goal).where(policy.goals_filter(actor, Goal.teacher_id))
    if teacher_id is not None:
        stmt = stmt.where(Goal.teacher_id == teacher_id)
    if status is not None:
        stmt = stmt.where(Goal.status == status)
    return stmt.order_by(Goal.status != "active", Goal.target_date.is_(None), Goal.target_date, Goal.id)


def _evidence_target(actor: User, kind: str, ref_id: int):
    """The thing to attach, if ``actor`` may see it (NotFound otherwise, whatever the reason)."""
    if kind == "annotation":
        return annotations.get_annotation(actor, ref_id)
    if kind == "clip":
        return clips.get_clip(actor, ref_id)
    if kind == "lesson":
        return lessons.get_lesson(actor, ref_id)
    return get_journal_entry(actor, ref_id)


def add_evidence(actor: User, goal: Goal, data: dict) -> GoalEvidence:
    policy.require_goals_of(actor, goal.teacher_id)
    given = [(kind, data[f"{kind}_id"]) for kind in EVIDENCE_KINDS if data.get(f"{kind}_id") is not None]
    if len(given) != 1:
        raise InvalidInput("Send exactly one of annotation_id, clip_id, lesson_id or journal_entry_id.",
                           fields={"evidence": ["Exactly one."]})
    kind, ref_id = given[0]
    _evidence_target(actor, kind, ref_id)
    if db.session.execute(select(GoalEvidence.id).where(GoalEvidence.goal_id == goal.id, GoalEvidence.kind == kind,
                                                        GoalEvidence.ref_id == ref_id)).first():
        raise Conflict("That is already evidence for this goal.")
    evidence = GoalEvidence(goal_id=goal.id, kind=kind, ref_id=ref_id, added_by_id=actor.id,
                            **{f"{kind}_id": ref_id})
    db.session.add(evidence)
    db.session.flush()
    return evidence


def remove_evidence(actor: User, goal: Goal, evidence_id: int) -> None:
    policy.require_goals_of(actor, goal.teacher_id)
    evidence = db.session.get(GoalEvidence, evidence_id)
    if evidence is None or evidence.goal_id != goal.id:
        raise NotFound("No such evidence.")
    db.session.delete(evidence)
    db.session.flush()


def evidence_timeline(actor: User, goal: Goal) -> list[dict]:
    """The goal's evidence that ``actor`` may see, each with its thing, oldest first (by when the thing happened)."""
    items = []
    for evidence in goal.evidence:
        try:
            thing = _evidence_target(actor, evidence.kind, evidence.ref_id)
        except NotFound:
            continue
        when = getattr(thing, "taught_on", None) or thing.created_at
        items.append({"evidence": evidence, "thing": thing, "kind": evidence.kind, "at": when})
    items.sort(key=lambda item: (item["at"].isoformat() if item["at"] else "", item["evidence"].id))
    return items


def suggested_annotations(actor: User, goal: Goal, limit: int = 20) -> list:
    """Annotations on the teacher's lessons tagged with the goal's criteria, that ``actor`` may see and that are not
    evidence yet (newest lessons first): what the goal page offers to attach."""
    criterion_ids = [c.id for c in goal.criteria]
    if not criterion_ids:
        return []
    attached = {e.ref_id for e in goal.evidence if e.kind == "annotation"}
    recent = db.session.execute(select(Lesson).where(
        Lesson.owner_id == goal.teacher_id, policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))
        .order_by(Lesson.created_at.desc()).limit(10)).scalars().all()
    found = []
    for lesson in recent:
        rows = db.session.execute(select(Annotation).where(
            Annotation.lesson_id == lesson.id,
            Annotation.id.in_(select(annotation_criteria.c.annotation_id).where(
                annotation_criteria.c.criterion_id.in_(criterion_ids))),
            policy.annotation_filter(actor, lesson, author_id=Annotation.author_id,
                                     visibility=Annotation.visibility, hidden_at=Annotation.hidden_at))
            .order_by(Annotation.start_ms)).scalars().all()
        found.extend((lesson, a) for a in rows if a.id not in attached)
    return found[:limit]


# --- observation cycles -------------------------------------------------------------------------------------------


def get_cycle(actor: User, cycle_id: int, action: str = "view") -> ObservationCycle:
    return policy.require_cycle(actor, db.session.get(ObservationCycle, cycle_id), action)


def _goals_of(actor: User, mentee_id: int, goal_ids: list[int] | None) -> list[Goal]:
    goals = [get_goal(actor, goal_id) for goal_id in dict.fromkeys(goal_ids or [])]
    if any(goal.teacher_id != mentee_id for goal in goals):
        raise InvalidInput("Focus goals are the mentee's own goals.", fields={"goal_ids": ["Not the mentee's."]})
    return goals


def _cycle_lesson(actor: User, cycle: ObservationCycle, lesson_id: int):
    lesson = lessons.get_lesson(actor, lesson_id)
    if lesson.owner_id != cycle.mentee_id:
        raise InvalidInput("The observed lesson is one of the mentee's own recordings.",
                           fields={"lesson_id": ["Not the mentee's lesson."]})
    return lesson


def start_cycle(actor: User, data: dict) -> ObservationCycle:
    """A new cycle for an active mentorship (the pre-observation conference's focus, look-fors and notes)."""
    mentor_id = data.get("mentor_id") or actor.id
    mentee_id = data.get("mentee_id") or actor.id
    if not policy.may_start_cycle(actor, mentor_id, mentee_id):
        raise NotFound("No active mentorship between those people that includes you.")
    cycle = ObservationCycle(mentor_id=mentor_id, mentee_id=mentee_id,
                             focus=_text(data, "focus") or "", look_fors=_text(data, "look_fors") or "",
                             pre_notes=_text(data, "pre_notes") or "", planned_for=data.get("planned_for"),
                             self_review_first=data.get("self_review_first", True),
                             blind_mentor=data.get("blind_mentor", False))
    cycle.goals = _goals_of(actor, mentee_id, data.get("goal_ids"))
    db.session.add(cycle)
    db.session.flush()
    if data.get("lesson_id") is not None:
        _observe(actor, cycle, data["lesson_id"])
    other = mentee_id if actor.id == mentor_id else mentor_id
    notify.send(other, "cycle", "A new observation cycle was planned", f"/cycles/{cycle.id}")
    return cycle


def _observe(actor: User, cycle: ObservationCycle, lesson_id: int) -> None:
    if cycle.lesson_id == lesson_id:
        return
    if cycle.status not in ("planned", "observed"):
        raise Conflict("The lesson is fixed once the reviews are done.")
    cycle.lesson_id = _cycle_lesson(actor, cycle, lesson_id).id
    cycle.status, cycle.observed_at = "observed", utcnow()
    due = "your self-review is due" if cycle.self_review_first else "the lesson is ready for review"
    notify.send(cycle.mentee_id, "cycle", f"Observed lesson linked: {due}", f"/cycles/{cycle.id}")
    notify.send(cycle.mentor_id, "cycle", "Observed lesson linked: feedback is due", f"/cycles/{cycle.id}")


def update_cycle(actor: User, cycle: ObservationCycle, data: dict) -> ObservationCycle:
    policy.require_cycle(actor, cycle, "work")
    if cycle.status == "closed":
        raise Conflict("The cycle is closed.")
    for name in ("focus", "look_fors", "pre_notes", "went_well", "post_notes"):
        if name in data:
            setattr(cycle, name, _text(data, name) or "")
    if "planned_for" in data:
        if data["planned_for"] != cycle.planned_for:
            cycle.due_reminded_at = None  # a new date: remind again when it comes
        cycle.planned_for = data["planned_for"]
    if "goal_ids" in data:
        cycle.goals = _goals_of(actor, cycle.mentee_id, data["goal_ids"])
    for name in ("self_review_first", "blind_mentor"):
        if name in data and data[name] != getattr(cycle, name):
            if cycle.status != "planned":
                raise Conflict(f"{name} is chosen before the lesson is observed.")
            setattr(cycle, name, data[name])
    if data.get("lesson_id") is not None:
        _observe(actor, cycle, data["lesson_id"])
    if data.get("status") is not None and data["status"] != cycle.status:
        _move(actor, cycle, data["status"])
    db.session.flush()
    return cycle


def _move(actor: User, cycle: ObservationCycle, status: str) -> None:
    if status not in CYCLE_STATUSES:
        raise InvalidInput("status is planned, observed, reviewed or closed.", fields={"status": ["Unknown."]})
    if status != "closed":
        raise Conflict("A cycle moves on by linking its lesson and marking the reviews done; it can only be "
                       "closed by hand.")
    if cycle.status != "reviewed":
        raise Conflict("Close the cycle after the reviews are done and the post-conference is held.")
    cycle.status, cycle.closed_at = "closed", utcnow()
    notify.send(cycle.mentee_id, "cycle", "Observation cycle closed", f"/cycles/{cycle.id}")


def mark_review_done(actor: User, cycle: ObservationCycle) -> ObservationCycle:
    """The mentee's self-review or the mentor's review of the observed lesson is done (each marks their own)."""
    policy.require_cycle(actor, cycle, "work")
    if cycle.lesson_id is None:
        raise Conflict("Link the observed lesson first.")
    role = policy.cycle_role(actor, cycle)
    if role == "mentee":
        cycle.self_review_done_at = cycle.self_review_done_at or utcnow()
        notify.send(cycle.mentor_id, "cycle", "Self-review done", f"/cycles/{cycle.id}")
    else:
        first = cycle.mentor_review_done_at is None
        cycle.mentor_review_done_at = cycle.mentor_review_done_at or utcnow()
        if first and cycle.self_review_first and cycle.self_review_done_at is None:
            notify.send(cycle.mentee_id, "cycle", "Your mentor's review is done: your self-review is due",
                        f"/cycles/{cycle.id}")
    done = cycle.mentor_review_done_at is not None and (not cycle.self_review_first
                                                        or cycle.self_review_done_at is not None)
    if done and cycle.status == "observed":
        cycle.status, cycle.reviewed_at = "reviewed", utcnow()
        notify.send(cycle.mentee_id, "feedback", "Feedback on your observed lesson is ready",
                    f"/lessons/{cycle.lesson_id}")
        notify.send(cycle.mentor_id, "cycle", "Reviews done: post-conference due", f"/cycles/{cycle.id}")
    db.session.flush()
    return cycle


def add_next_step(actor: User, cycle: ObservationCycle, data: dict) -> NextStep:
    """A next step agreed at the post-conference; ``goal_id`` links (and reactivates) an existing goal of the
    mentee's, ``as_goal`` makes a new goal of it (tied to ``criterion_ids``)."""
    policy.require_cycle(actor, cycle, "work")
    if cycle.status == "closed":
        raise Conflict("The cycle is closed.")
    text = _text(data, "text", required=True)
    goal = None
    if data.get("goal_id") is not None:
        goal = _goals_of(actor, cycle.mentee_id, [data["goal_id"]])[0]
        if goal.status != "active":
            update_goal(actor, goal, {"status": "active"})
    elif data.get("as_goal"):
        goal = create_goal(actor, {"teacher_id": cycle.mentee_id, "title": text[:MAX_TITLE],
                                   "criterion_ids": data.get("criterion_ids")})
    step = NextStep(cycle=cycle, text=text, goal=goal)
    db.session.add(step)
    db.session.flush()
    return step


def cycles_query(actor: User, mentee_id: int | None = None) -> Select:
    stmt = select(ObservationCycle).where(policy.cycles_filter(actor, ObservationCycle.mentor_id,
                                                               ObservationCycle.mentee_id))
    if mentee_id is not None:
        stmt = stmt.where(ObservationCycle.mentee_id == mentee_id)
    return stmt.order_by(ObservationCycle.id.desc())


def remind_due_cycles(today: date | None = None) -> int:
    """Housekeeping (every few minutes in the workers): a planned observation whose day has come with no recording
    linked is a step due; tell the mentee and the mentor once per planned date (claimed row by row, so that several
    workers remind once). Returns how many cycles were reminded about."""
    today = today or utcnow().date()
    due = db.session.execute(select(ObservationCycle).where(
        ObservationCycle.status == "planned", ObservationCycle.planned_for.is_not(None),
        ObservationCycle.planned_for <= today, ObservationCycle.due_reminded_at.is_(None))
        .order_by(ObservationCycle.id).limit(500)).scalars().all()
    reminded = 0
    for cycle in due:
        if not policy.is_active_mentor(cycle.mentor_id, cycle.mentee_id):
            continue  # an ended mentorship's cycle is history
        claimed = db.session.execute(update(ObservationCycle).where(
            ObservationCycle.id == cycle.id, ObservationCycle.due_reminded_at.is_(None))
            .values(due_reminded_at=utcnow()).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            continue
        when = cycle.planned_for.strftime("%-d %b")
        notify.send(cycle.mentee_id, "cycle", f"Observation planned for {when}: the recording is due",
                    f"/cycles/{cycle.id}")
        notify.send(cycle.mentor_id, "cycle", f"Observation planned for {when}: waiting for the recording",
                    f"/cycles/{cycle.id}")
        reminded += 1
    db.session.flush()
    return reminded


def held_reviews(actor: User, lesson_id: int) -> list[ObservationCycle]:
    """The observation cycles on a lesson that still hold annotations back (self-review first, the two reviews not
    both done) and in which ``actor`` takes part and may still work: what the lesson page's notice explains."""
    stmt = cycles_query(actor).where(
        ObservationCycle.lesson_id == lesson_id, ObservationCycle.self_review_first.is_(True),
        (ObservationCycle.self_review_done_at.is_(None)) | (ObservationCycle.mentor_review_done_at.is_(None)))
    return [cycle for cycle in db.session.execute(stmt).scalars()
            if policy.may_start_cycle(actor, cycle.mentor_id, cycle.mentee_id)]


def stage(cycle: ObservationCycle) -> str:
    """Where a cycle stands, in the words of the mentor's dashboard."""
    if cycle.status == "planned":
        return "waiting for recording"
    if cycle.status == "observed":
        if cycle.self_review_first and cycle.self_review_done_at is None:
            return "reflection due"
        return "feedback due"
    if cycle.status == "reviewed":
        return "post-conference due"
    return "closed"


def mentor_dashboard(actor: User) -> list[dict]:
    """The actor's active mentees, each with their cycles (newest first)."""
    rows = db.session.execute(select(Mentorship).where(Mentorship.mentor_id == actor.id,
                                                       Mentorship.ended_at.is_(None))).scalars().all()
    mentees = sorted({row.mentee for row in rows}, key=lambda user: user.name.lower())
    cycles = db.session.execute(cycles_query(actor).where(
        ObservationCycle.mentor_id == actor.id)).scalars().all()
    return [{"mentee": mentee, "cycles": [c for c in cycles if c.mentee_id == mentee.id]} for mentee in mentees]


# --- the journal ----------------------------------------------------------------------------------------------


def get_journal_entry(actor: User, entry_id: int, action: str = "view") -> JournalEntry:
    return policy.require_journal_entry(actor, db.session.get(JournalEntry, entry_id), action)


def _links(actor: User, data: dict) -> dict:
    out = {}
    if data.get("lesson_id") is not None:
        out["lesson_id"] = lessons.get_lesson(actor, data["lesson_id"]).id
    if data.get("t_ms") is not None:
        if "lesson_id" not in out:
            raise InvalidInput("t_ms needs a lesson_id.", fields={"t_ms": ["Only with a lesson."]})
        if data["t_ms"] < 0:
            raise InvalidInput("t_ms is 0 or more.", fields={"t_ms": ["Negative."]})
        out["t_ms"] = data["t_ms"]
    if data.get("goal_id") is not None:
        out["goal_id"] = get_goal(actor, data["goal_id"]).id
    if data.get("cycle_id") is not None:
        out["cycle_id"] = get_cycle(actor, data["cycle_id"]).id
    return out


def create_journal_entry(actor: User, data: dict) -> JournalEntry:
    if not policy.is_signed_in(actor):
        raise NotFound("No such journal.")
    entry = JournalEntry(author_id=actor.id, body=_text(data, "body", required=True), visibility="private",
                         **_links(actor, data))
    db.session.add(entry)
    db.session.flush()
    return entry


def update_journal_entry(actor: User, entry: JournalEntry, data: dict) -> JournalEntry:
    policy.require_journal_entry(actor, entry, "edit")
    if "body" in data:
        entry.body = _text(data, "body", required=True)
    if "visibility" in data and data["visibility"] != entry.visibility:
        if data["visibility"] not in JOURNAL_VISIBILITIES:
            raise InvalidInput("visibility is private or mentors.", fields={"visibility": ["Unknown."]})
        entry.visibility = data["visibility"]
        if entry.visibility == "mentors":
            entry.shared_at = utcnow()
            mentors = db.session.execute(select(Mentorship.mentor_id).where(
                Mentorship.mentee_id == entry.author_id, Mentorship.ended_at.is_(None))).scalars()
            for mentor_id in set(mentors):
                notify.send(mentor_id, "journal", f"{entry.author.name} shared a journal entry with you",
                            f"/journal/{entry.id}")
    entry.updated_at = utcnow()
    db.session.flush()
    return entry


def journal_query(actor: User, q: str | None = None, author_id: int | None = None) -> Select:
    stmt = select(JournalEntry).where(policy.journal_filter(actor, JournalEntry.author_id, JournalEntry.visibility))
    if author_id is not None:
        stmt = stmt.where(JournalEntry.author_id == author_id)
    if q:
        words = [word for word in q.split() if word][:10]
        for word in words:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            stmt = stmt.where(JournalEntry.body.ilike(f"%{escaped}%", escape="\\"))
    return stmt.order_by(JournalEntry.created_at.desc(), JournalEntry.id.desc())


def reply_to_entry(actor: User, entry: JournalEntry, data: dict) -> JournalReply:
    policy.require_journal_entry(actor, entry, "reply")
    reply = JournalReply(entry_id=entry.id, author_id=actor.id, body=_text(data, "body", required=True))
    db.session.add(reply)
    db.session.flush()
    people = {entry.author_id} | {r.author_id for r in entry.replies}
    for user_id in people - {actor.id}:
        notify.send(user_id, "reply", f"{actor.name} replied to a journal entry", f"/journal/{entry.id}")
    return reply


def linked_entries(actor: User, *, goal_id: int | None = None, cycle_id: int | None = None) -> list[JournalEntry]:
    stmt = journal_query(actor)
    conditions = []
    if goal_id is not None:
        conditions.append(JournalEntry.goal_id == goal_id)
    if cycle_id is not None:
        conditions.append(JournalEntry.cycle_id == cycle_id)
    return list(db.session.execute(stmt.where(or_(*conditions))).scalars()) if conditions else []


def today() -> date:
    return utcnow().date()


# --- reflection prompts --------------------------------------------------------------------------------------------

DEFAULT_PROMPTS = ("What went well?", "What would you do differently?", "What will you try next?")
MAX_PROMPTS = 20


def reflection_prompts() -> list[str]:
    """The school's prompts (the defaults until an admin sets them)."""
    rows = db.session.execute(select(ReflectionPrompt.text).order_by(ReflectionPrompt.position,
                                                                     ReflectionPrompt.id)).scalars().all()
    return list(rows) or list(DEFAULT_PROMPTS)


def set_reflection_prompts(actor: User | None, prompts: list[str]) -> list[str]:
    """Replace the prompts (admins; an empty list brings back the defaults)."""
    policy.require_admin(actor)
    cleaned = [p.strip() for p in prompts if p and p.strip()]
    if len(cleaned) > MAX_PROMPTS or any(len(p) > 300 for p in cleaned):
        raise InvalidInput(f"At most {MAX_PROMPTS} prompts of at most 300 characters each.",
                           fields={"prompts": ["Too many or too long."]})
    for row in db.session.execute(select(ReflectionPrompt)).scalars():
        db.session.delete(row)
    db.session.flush()
    db.session.add_all(ReflectionPrompt(position=i, text=text) for i, text in enumerate(cleaned))
    db.session.flush()
    return reflection_prompts()
