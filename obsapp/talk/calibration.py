"""Calibration between mentors: open an exercise, code blind, submit, compare (services; statistics in agreement.py).

Blind coding uses what obsapp already has: a coder's *private* annotations are seen by nobody else. A coder's codes
are their private annotations on the lesson made since the exercise opened, tagged with at least one criterion;
submitting takes a copy of them. The report is there once every coder has submitted or the lead has closed it.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from obsapp import policy
from obsapp.accounts.models import Mentorship, User
from obsapp.annotations.models import Annotation
from obsapp.errors import Conflict, Forbidden, InvalidInput, NotFound
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion
from obsapp.lessons.models import Lesson, LessonShare
from obsapp.talk import agreement
from obsapp.talk.models import CalibrationCoder, CalibrationExercise, utcnow


def _coder_ids(exercise: CalibrationExercise) -> list[int]:
    return [c.user_id for c in exercise.coders]


def open_exercise(actor: User, lesson: Lesson, data: dict) -> CalibrationExercise:
    policy.require(actor, "view", lesson)
    if not policy.can_open_calibration(actor, lesson):
        raise Forbidden("Only one of the teacher's mentors can open a calibration exercise on this lesson.")
    ids = list(dict.fromkeys(data.get("coder_ids") or []))
    if len(ids) < 2:
        raise InvalidInput("Choose at least two coders.", fields={"coder_ids": ["At least two people."]})
    users = {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}
    unable = [i for i in ids if i not in users or not policy.may_code_calibration(users[i], lesson)]
    if unable:
        raise InvalidInput("Every coder must be able to comment on the lesson (and not be its teacher).",
                           fields={"coder_ids": [f"{i} cannot code this lesson." for i in unable]})
    tolerance = data.get("tolerance_ms", 5000)
    unit = data.get("unit_ms", 10000)
    if not 0 <= tolerance <= 60_000 or not 1000 <= unit <= 600_000:
        raise InvalidInput("tolerance_ms is 0..60000 and unit_ms 1000..600000.")
    title = (data.get("title") or "").strip() or f"Calibration: {lesson.title}"
    exercise = CalibrationExercise(lesson_id=lesson.id, lead_id=actor.id, title=title[:200], tolerance_ms=tolerance,
                                   unit_ms=unit, created_at=utcnow())
    exercise.coders = [CalibrationCoder(user_id=i, codes=[]) for i in ids]
    db.session.add(exercise)
    db.session.flush()
    return exercise


def possible_coders(actor: User, lesson: Lesson) -> list[User] | None:
    """The people a lead may choose as coders (the lesson owner's active mentors and commenters), or None when
    ``actor`` may not open an exercise on the lesson."""
    if not policy.can_open_calibration(actor, lesson):
        return None
    mentors = select(Mentorship.mentor_id).where(Mentorship.mentee_id == lesson.owner_id, Mentorship.ended_at.is_(None))
    commenters = select(LessonShare.user_id).where(LessonShare.lesson_id == lesson.id, LessonShare.role == "commenter")
    people = db.session.execute(select(User).where(User.id.in_(mentors.union(commenters)))
                                .order_by(User.name, User.id)).scalars()
    return [u for u in people if policy.may_code_calibration(u, lesson)]


def get_exercise(actor: User, exercise_id: int) -> CalibrationExercise:
    exercise = db.session.get(CalibrationExercise, exercise_id)
    if exercise is None or not policy.is_calibration_member(actor, exercise, _coder_ids(exercise)):
        raise NotFound("No such calibration exercise.")
    return exercise


def exercises_of_lesson(actor: User, lesson: Lesson) -> list[CalibrationExercise]:
    policy.require(actor, "view", lesson)
    rows = db.session.execute(select(CalibrationExercise).where(CalibrationExercise.lesson_id == lesson.id)
                              .options(selectinload(CalibrationExercise.coders))
                              .order_by(CalibrationExercise.id.desc())).scalars()
    return [e for e in rows if policy.is_calibration_member(actor, e, _coder_ids(e))]


def _own_codes(actor: User, exercise: CalibrationExercise) -> list[dict]:
    stmt = (select(Annotation).where(Annotation.lesson_id == exercise.lesson_id, Annotation.author_id == actor.id,
                                     Annotation.created_at >= exercise.created_at,
                                     Annotation.visibility == "private")
            .options(selectinload(Annotation.criteria)).order_by(Annotation.start_ms, Annotation.id))
    return [{"annotation_id": a.id, "start_ms": a.start_ms, "end_ms": a.end_ms, "kind": a.kind,
             "criterion_ids": [c.id for c in a.criteria]}
            for a in db.session.execute(stmt).scalars() if a.criteria]


def _coder(actor: User, exercise: CalibrationExercise) -> CalibrationCoder:
    coder = next((c for c in exercise.coders if c.user_id == actor.id), None)
    if coder is None:
        raise Forbidden("You are not one of this exercise's coders.")
    return coder


def submit(actor: User, exercise: CalibrationExercise) -> CalibrationExercise:
    coder = _coder(actor, exercise)
    if exercise.closed_at is not None:
        raise Conflict("The exercise is closed.", code="closed")
    coder.codes = _own_codes(actor, exercise)
    coder.submitted_at = utcnow()
    if all(c.submitted_at is not None for c in exercise.coders):
        exercise.closed_at = utcnow()
    db.session.flush()
    return exercise


def close(actor: User, exercise: CalibrationExercise) -> CalibrationExercise:
    if not policy.can_close_calibration(actor, exercise):
        raise Forbidden("Only the exercise's lead can close it.")
    if exercise.closed_at is None:
        if sum(c.submitted_at is not None for c in exercise.coders) < 2:
            raise Conflict("At least two coders must submit before the exercise can be closed.",
                           code="too_few_submitted")
        exercise.closed_at = utcnow()
        db.session.flush()
    return exercise


def exercise_payload(actor: User, exercise: CalibrationExercise) -> dict:
    mine = next((c for c in exercise.coders if c.user_id == actor.id), None)
    return {
        "id": exercise.id, "lesson_id": exercise.lesson_id, "title": exercise.title,
        "lead": {"id": exercise.lead.id, "name": exercise.lead.name},
        "tolerance_ms": exercise.tolerance_ms, "unit_ms": exercise.unit_ms,
        "created_at": exercise.created_at, "closed_at": exercise.closed_at, "closed": exercise.closed_at is not None,
        "coders": [{"id": c.user_id, "name": c.user.name, "submitted": c.submitted_at is not None}
                   for c in exercise.coders],
        "you_code": mine is not None,
        "your_codes": len(mine.codes if mine.submitted_at else _own_codes(actor, exercise)) if mine else None,
        "report_ready": policy.can_see_calibration_report(actor, exercise, _coder_ids(exercise)),
    }


def report(actor: User, exercise: CalibrationExercise) -> dict:
    """Per criterion any coder used: codes per coder, agreed and disputed codes, kappa over the lesson's units,
    and the disputed codes side by side."""
    if not policy.can_see_calibration_report(actor, exercise, _coder_ids(exercise)):
        raise Conflict("The report is ready once every coder has submitted, or the lead closes the exercise.",
                       code="not_closed")
    coders = [c for c in exercise.coders if c.submitted_at is not None]
    ids = [c.user_id for c in coders]
    criterion_ids = sorted({cid for c in coders for code in c.codes for cid in code["criterion_ids"]})
    criteria = {c.id: c for c in db.session.execute(select(Criterion).where(Criterion.id.in_(criterion_ids))
                                                    .options(selectinload(Criterion.framework))).scalars()}
    duration = exercise.lesson.duration_ms or max(
        [code["end_ms"] or code["start_ms"] for c in coders for code in c.codes] or [0]) + 1
    rows = []
    for cid in sorted(criterion_ids, key=lambda i: (criteria[i].framework_id, criteria[i].position, i)
                      if i in criteria else (0, 0, i)):
        codes = [agreement.Code(c.user_id, code["start_ms"], code["end_ms"])
                 for c in coders for code in c.codes if cid in code["criterion_ids"]]
        disputed = agreement.unmatched(codes, ids, exercise.tolerance_ms)
        method, value = agreement.kappa([agreement.presence([x for x in codes if x.coder_id == i], duration,
                                                            exercise.unit_ms) for i in ids])
        criterion = criteria.get(cid)
        rows.append({
            "criterion": {"id": cid, "code": criterion.code if criterion else None,
                          "name": criterion.name if criterion else "(deleted criterion)",
                          "framework": criterion.framework.slug if criterion else None},
            "codes": {str(i): sum(1 for x in codes if x.coder_id == i) for i in ids},
            "agreed": len(codes) - len(disputed), "disputed": len(disputed),
            "kappa": None if value is None else round(value, 3), "method": method,
            "disagreements": [{"coder_id": x.coder_id, "start_ms": x.start_ms, "end_ms": x.end_ms}
                              for x in sorted(disputed, key=lambda x: (x.start_ms, x.coder_id))],
        })
    names = {c.user_id: c.user.name for c in coders}
    return {"exercise": exercise_payload(actor, exercise), "coders": [{"id": i, "name": names[i]} for i in ids],
            "units": len(agreement.presence([], duration, exercise.unit_ms)), "criteria": rows}


def report_csv(actor: User, exercise: CalibrationExercise) -> str:
    data = report(actor, exercise)
    out = io.StringIO()
    writer = csv.writer(out)
    coders = data["coders"]
    names = {c["id"]: c["name"] for c in coders}
    writer.writerow(["framework", "code", "criterion", *[f"codes by {c['name']}" for c in coders], "agreed",
                     "disputed", "kappa", "method", "disagreements (coder at time)"])
    for row in data["criteria"]:
        c = row["criterion"]
        where = "; ".join(f"{names[d['coder_id']]} at {d['start_ms'] / 1000:.1f}s" for d in row["disagreements"])
        writer.writerow([c["framework"] or "", c["code"] or "", _safe_cell(c["name"]),
                         *[row["codes"][str(p["id"])] for p in coders], row["agreed"], row["disputed"],
                         "" if row["kappa"] is None else row["kappa"], row["method"], _safe_cell(where)])
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """Spreadsheet formula injection: a cell starting with = + - @ is read as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
