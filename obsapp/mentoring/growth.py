"""A teacher's growth across lessons: per criterion, strengths and growth areas counted and ratings averaged for
each lesson over time, drawn as a server-rendered SVG chart (with the same numbers as a table)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from obsapp import policy
from obsapp.accounts.models import User
from obsapp.annotations.models import Annotation, annotation_criteria
from obsapp.errors import NotFound
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion
from obsapp.lessons.models import Lesson
from obsapp.mentoring.models import Goal, ObservationCycle

WIDTH, HEIGHT, PAD = 640, 240, 40


@dataclass
class CriterionSeries:
    criterion: Criterion
    points: list[dict] = field(default_factory=list)  # per lesson: strengths, growth, mean rating

    @property
    def totals(self) -> tuple[int, int]:
        return sum(p["strengths"] for p in self.points), sum(p["growth"] for p in self.points)


def report(actor: User, teacher_id: int) -> dict:
    teacher = db.session.get(User, teacher_id)
    if teacher is None or not policy.may_see_goals_of(actor, teacher_id):
        raise NotFound("No such growth page.")
    lessons = db.session.execute(
        select(Lesson).where(Lesson.owner_id == teacher_id, policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))
        .order_by(Lesson.taught_on.is_(None), Lesson.taught_on, Lesson.created_at)).scalars().all()
    counts: dict[int, dict[int, dict]] = defaultdict(dict)
    criteria: dict[int, Criterion] = {}
    for lesson in lessons:
        rows = db.session.execute(
            select(Annotation.kind, Annotation.rating, Criterion)
            .join(annotation_criteria, annotation_criteria.c.annotation_id == Annotation.id)
            .join(Criterion, Criterion.id == annotation_criteria.c.criterion_id)
            .where(Annotation.lesson_id == lesson.id,
                   policy.annotation_filter(actor, lesson, author_id=Annotation.author_id,
                                            visibility=Annotation.visibility, hidden_at=Annotation.hidden_at))).all()
        for kind, rating, criterion in rows:
            criteria[criterion.id] = criterion
            point = counts[criterion.id].setdefault(lesson.id, {"strengths": 0, "growth": 0, "ratings": []})
            point["strengths"] += kind == "strength"
            point["growth"] += kind == "growth"
            if rating is not None:
                point["ratings"].append(rating)
    series = []
    for criterion_id, by_lesson in counts.items():
        s = CriterionSeries(criteria[criterion_id])
        for lesson in lessons:
            point = by_lesson.get(lesson.id, {"strengths": 0, "growth": 0, "ratings": []})
            ratings = point["ratings"]
            s.points.append({"lesson": lesson, "strengths": point["strengths"], "growth": point["growth"],
                             "mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None})
        series.append(s)
    series.sort(key=lambda s: (s.criterion.code, s.criterion.id))
    goals = db.session.execute(select(Goal).where(Goal.teacher_id == teacher_id).order_by(Goal.id)).scalars().all()
    cycles = db.session.execute(select(ObservationCycle).where(
        ObservationCycle.mentee_id == teacher_id,
        policy.cycles_filter(actor, ObservationCycle.mentor_id, ObservationCycle.mentee_id))
        .order_by(ObservationCycle.id)).scalars().all()
    return {"teacher": teacher, "lessons": lessons, "series": series, "goals": goals, "cycles": cycles,
            "charts": [chart(s, len(lessons)) for s in series]}


def chart(series: CriterionSeries, n_lessons: int) -> dict:
    """Coordinates for an SVG of strengths (and growth areas) per lesson: two polylines over the lessons."""
    top = max([max(p["strengths"], p["growth"]) for p in series.points] + [1])
    step = (WIDTH - 2 * PAD) / max(n_lessons - 1, 1)

    def xy(i: int, value: int) -> tuple[float, float]:
        return round(PAD + i * step, 1), round(HEIGHT - PAD - value * (HEIGHT - 2 * PAD) / top, 1)

    strengths = [xy(i, p["strengths"]) for i, p in enumerate(series.points)]
    growth = [xy(i, p["growth"]) for i, p in enumerate(series.points)]
    return {"width": WIDTH, "height": HEIGHT, "pad": PAD, "top": top,
            "strengths": " ".join(f"{x},{y}" for x, y in strengths), "growth": " ".join(f"{x},{y}" for x, y in growth),
            "strength_points": strengths, "growth_points": growth}
