"""A lesson's feedback at a glance: counts by kind and by criterion (rolled up the criteria tree)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from obsapp.annotations.models import KINDS, Annotation

KIND_LABELS = {"strength": "Strengths", "growth": "Growth areas", "question": "Questions", "note": "Notes"}


def format_ms(ms: int | None) -> str:
    """A time in the lesson as people read it: 4:05, or 1:02:09 past the hour."""
    if ms is None:
        return ""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _kinds() -> dict[str, int]:
    return dict.fromkeys(KINDS, 0)


def summarize(annotations: Iterable[Annotation]) -> dict:
    """Counts over ``annotations`` (already filtered to what the reader may see).

    Each framework lists the criteria used, in framework order; a parent (an STP teaching process) counts
    the annotations tagged with it or any of its areas, once each.
    """
    annotations = list(annotations)
    by_kind = _kinds()
    ratings = []
    authors: Counter = Counter()
    names: dict[int, str] = {}
    per_criterion: dict[int, dict[str, set[int]]] = {}
    frameworks = {}
    untagged = 0
    for a in annotations:
        by_kind[a.kind] += 1
        if a.rating is not None:
            ratings.append(a.rating)
        authors[a.author_id] += 1
        names[a.author_id] = a.author.name
        if not a.criteria:
            untagged += 1
        for c in a.criteria:
            frameworks[c.framework_id] = c.framework
            per_criterion.setdefault(c.id, {k: set() for k in KINDS})[a.kind].add(a.id)

    groups = []
    for framework in sorted(frameworks.values(), key=lambda f: f.name):
        parent_of = {c.id: c.parent_id for c in framework.criteria}
        rolled: dict[int, dict[str, set[int]]] = {}
        for cid, kinds in per_criterion.items():
            node = cid if cid in parent_of else None
            while node is not None:
                target = rolled.setdefault(node, {k: set() for k in KINDS})
                for kind, ids in kinds.items():
                    target[kind] |= ids
                node = parent_of.get(node)
        rows = []
        for c in framework.criteria:
            if c.id not in rolled:
                continue
            counts = {k: len(v) for k, v in rolled[c.id].items()}
            rows.append({"id": c.id, "code": c.code, "name": c.name, "color": c.color, "parent_id": c.parent_id,
                         "total": len(set().union(*rolled[c.id].values())), "by_kind": counts})
        groups.append({"id": framework.id, "slug": framework.slug, "name": framework.name,
                       "version": framework.version, "criteria": rows})

    return {
        "total": len(annotations),
        "by_kind": by_kind,
        "spans": sum(1 for a in annotations if a.end_ms is not None),
        "untagged": untagged,
        "rating": {"count": len(ratings), "mean": round(sum(ratings) / len(ratings), 2) if ratings else None},
        "authors": [{"id": uid, "name": names[uid], "count": n} for uid, n in authors.most_common()],
        "frameworks": groups,
    }
