"""Analytics across lessons, month by month: feedback counted by kind and criterion, mean ratings, talk share and
wait time after questions. For one teacher (what the reader may see of their lessons) or, for school leaders,
the whole school (shared feedback only, counted: no words, no video). Drawn as server-side SVG, with the same
numbers as a table and as CSV."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations import services as annotations
from obsapp.annotations.models import KINDS, Annotation
from obsapp.errors import InvalidInput, NotFound
from obsapp.evidence.services import lesson_date
from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from obsapp.media.speech import Segment
from obsapp.talk import services as talk
from obsapp.talk.models import TalkAnalysis

WIDTH, HEIGHT, PAD = 640, 240, 44
CSV_COLUMNS = ("period", "criterion_code", "criterion", "lessons", "strength", "growth", "question", "note",
               "mean_rating", "speech_share", "median_wait_ms")


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ratings: list[int] = field(default_factory=list)

    def add(self, annotation: Annotation) -> None:
        self.counts[annotation.kind] = self.counts.get(annotation.kind, 0) + 1
        if annotation.rating is not None:
            self.ratings.append(annotation.rating)

    def as_json(self) -> dict:
        return {**self.counts, "mean_rating": round(statistics.fmean(self.ratings), 2) if self.ratings else None,
                "ratings": len(self.ratings)}


def _month(on: date) -> str:
    return f"{on.year:04d}-{on.month:02d}"


def _check_period(from_date: date | None, to_date: date | None) -> None:
    if from_date and to_date and from_date > to_date:
        raise InvalidInput("The start of the period is after its end.", fields={"from": ["After “to”."]})


def _in_period(lesson: Lesson, from_date: date | None, to_date: date | None) -> bool:
    on = lesson_date(lesson)
    return not ((from_date and on < from_date) or (to_date and on > to_date))


def _segments(row: TalkAnalysis | None) -> list[Segment] | None:
    if row is None or row.status != "ready":
        return None
    return [Segment(int(s["start_ms"]), int(s["end_ms"]), float(s.get("level_db", -120.0)), s.get("voice", "near"))
            for s in row.segments or []]


def teacher_report(actor: User, teacher_id: int, from_date: date | None = None, to_date: date | None = None) -> dict:
    """One teacher's lessons that ``actor`` may see, with the annotations ``actor`` may see on them."""
    teacher = db.session.get(User, teacher_id)
    if teacher is None:
        raise NotFound("No such teacher.")
    policy.require_teacher_evidence(actor, teacher_id)
    _check_period(from_date, to_date)
    lessons = [lesson for lesson in db.session.execute(
        select(Lesson).where(Lesson.owner_id == teacher_id, policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))
    ).scalars() if _in_period(lesson, from_date, to_date)]
    seen = {lesson.id: annotations.visible_annotations(actor, lesson) for lesson in lessons}
    report = _report(lessons, seen)
    return {"scope": "teacher", "teacher": {"id": teacher.id, "name": teacher.name}, **_dates(from_date, to_date),
            **report}


def school_report(actor: User, from_date: date | None = None, to_date: date | None = None) -> dict:
    """Every lesson of the school, counting the shared annotations on them that are not hidden (school leaders)."""
    policy.require_school_analytics(actor)
    _check_period(from_date, to_date)
    lessons = [lesson for lesson in db.session.execute(select(Lesson)).scalars()
               if _in_period(lesson, from_date, to_date)]
    seen: dict[int, list[Annotation]] = defaultdict(list)
    ids = [lesson.id for lesson in lessons]
    for start in range(0, len(ids), 500):
        rows = db.session.execute(
            select(Annotation).options(selectinload(Annotation.criteria))
            .where(Annotation.lesson_id.in_(ids[start:start + 500]), Annotation.visibility == "shared",
                   Annotation.hidden_at.is_(None))).scalars()
        for annotation in rows:
            seen[annotation.lesson_id].append(annotation)
    teachers = len({lesson.owner_id for lesson in lessons})
    return {"scope": "school", "teachers": teachers, **_dates(from_date, to_date), **_report(lessons, seen)}


def _dates(from_date: date | None, to_date: date | None) -> dict:
    return {"from": from_date.isoformat() if from_date else None, "to": to_date.isoformat() if to_date else None}


def _report(lessons: list[Lesson], seen: dict[int, list[Annotation]]) -> dict:
    talks = {row.lesson_id: row for row in db.session.execute(
        select(TalkAnalysis).where(TalkAnalysis.lesson_id.in_([lesson.id for lesson in lessons]))).scalars()} \
        if lessons else {}
    periods: dict[str, dict] = {}
    by_criterion: dict[int, dict] = {}
    for lesson in sorted(lessons, key=lambda item: (lesson_date(item), item.id)):
        month = _month(lesson_date(lesson))
        period = periods.setdefault(month, {"lessons": 0, "tally": Tally(), "shares": [], "waits": []})
        period["lessons"] += 1
        for annotation in seen.get(lesson.id, []):
            period["tally"].add(annotation)
            for criterion in annotation.criteria:
                entry = by_criterion.setdefault(criterion.id, {"criterion": criterion, "periods": {}})
                entry["periods"].setdefault(month, Tally()).add(annotation)
        segments = _segments(talks.get(lesson.id))
        if segments is not None:
            row = talks[lesson.id]
            if row.duration_ms:
                period["shares"].append(row.speech_ms / row.duration_ms)
            questions = [a for a in seen.get(lesson.id, []) if talk.is_question(a)]
            period["waits"].extend(w["wait_ms"] for w in talk.wait_times(segments, questions))
    out_periods = [{
        "period": month, "lessons": p["lessons"], **p["tally"].as_json(),
        "speech_share": round(statistics.fmean(p["shares"]), 4) if p["shares"] else None,
        "median_wait_ms": int(statistics.median(p["waits"])) if p["waits"] else None,
        "wait_count": len(p["waits"]),
    } for month, p in periods.items()]
    criteria = []
    for entry in sorted(by_criterion.values(), key=lambda e: (e["criterion"].code or "", e["criterion"].id)):
        c = entry["criterion"]
        periods = [{"period": month, **tally.as_json()} for month, tally in entry["periods"].items()]
        criteria.append({"criterion": {"id": c.id, "code": c.code, "name": c.name}, "periods": periods})
    return {"lessons": len(lessons), "periods": out_periods, "criteria": criteria}


def to_csv(report: dict) -> str:
    """One row per month for all criteria together (criterion empty), then one per criterion and month."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    lessons_in = {p["period"]: p["lessons"] for p in report["periods"]}
    for p in report["periods"]:
        writer.writerow([p["period"], "", "", p["lessons"], p["strength"], p["growth"], p["question"], p["note"],
                         _blank(p["mean_rating"]), _blank(p["speech_share"]), _blank(p["median_wait_ms"])])
    for entry in report["criteria"]:
        c = entry["criterion"]
        for p in entry["periods"]:
            writer.writerow([p["period"], c["code"] or "", c["name"], lessons_in.get(p["period"], 0), p["strength"],
                             p["growth"], p["question"], p["note"], _blank(p["mean_rating"]), "", ""])
    return out.getvalue()


def _blank(value) -> str:
    return "" if value is None else str(value)


# --- charts ---------------------------------------------------------------------------------------------------


def line_chart(labels: list[str], series: list[dict], top: float | None = None) -> dict:
    """Coordinates for an SVG line chart: ``series`` [{name, values (None: no value), colour, dash, marker}]
    over ``labels``; each series becomes polylines through its values (broken where a value is missing)."""
    values = [v for s in series for v in s["values"] if v is not None]
    top = top or max(values + [1])
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return round(PAD + i * step, 1), round(HEIGHT - PAD - value * (HEIGHT - 2 * PAD) / top, 1)

    lines = []
    for s in series:
        runs, run, points = [], [], []
        for i, value in enumerate(s["values"]):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            point = xy(i, value)
            run.append(point)
            points.append(point)
        if run:
            runs.append(run)
        lines.append({**s, "polylines": [" ".join(f"{x},{y}" for x, y in r) for r in runs], "points": points})
    ticks = [{"x": round(PAD + i * step, 1), "label": label} for i, label in enumerate(labels)]
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "top": top, "lines": lines, "ticks": ticks}


def charts(report: dict) -> list[dict]:
    """The report's three charts: feedback by kind, talk share, median wait time (month by month)."""
    labels = [p["period"] for p in report["periods"]]
    if not labels:
        return []
    feedback = line_chart(labels, [
        {"name": "Strengths", "values": [p["strength"] for p in report["periods"]], "colour": "#1b7f3b", "dash": "",
         "marker": "circle"},
        {"name": "Growth areas", "values": [p["growth"] for p in report["periods"]], "colour": "#b35c00",
         "dash": "6 4", "marker": "square"},
        {"name": "Questions", "values": [p["question"] for p in report["periods"]], "colour": "#1f5fa8",
         "dash": "2 3", "marker": "circle"},
    ])
    shares = [None if p["speech_share"] is None else round(100 * p["speech_share"], 1) for p in report["periods"]]
    talk_chart = line_chart(labels, [{"name": "Talk share (%)", "values": shares, "colour": "#6a3d9a", "dash": "",
                                      "marker": "circle"}], top=100)
    waits = [None if p["median_wait_ms"] is None else round(p["median_wait_ms"] / 1000, 1) for p in report["periods"]]
    wait_chart = line_chart(labels, [{"name": "Median wait time (s)", "values": waits, "colour": "#a61c3c",
                                      "dash": "", "marker": "circle"}])
    return [
        {"id": "feedback", "title": "Feedback by kind per month", "unit": "annotations", "chart": feedback},
        {"id": "talk", "title": "Talk share per month (mean over analysed lessons)", "unit": "%", "chart": talk_chart},
        {"id": "wait", "title": "Median wait time after questions per month", "unit": "s", "chart": wait_chart},
    ]
