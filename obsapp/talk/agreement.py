"""Agreement between coders of the same lesson: matching codes in time, and chance-corrected agreement.

Pure functions (no database). A *code* is one coder's mark on the timeline for a criterion: a moment
(``end_ms`` None) or a span. Two codes of the same criterion by different coders *match* when two moments are
within ``tolerance_ms`` of each other, a moment falls inside a span (widened by the tolerance), or two spans
overlap. For the kappa statistics the lesson is cut into units of ``unit_ms``: in each unit a coder either
marked the criterion (a moment in it, or a span overlapping it) or did not, and the coders' yes/no answers over
all units are compared: Cohen's kappa for two coders, Fleiss' kappa for three or more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    coder_id: int
    start_ms: int
    end_ms: int | None = None

    @property
    def last_ms(self) -> int:
        return self.end_ms if self.end_ms is not None else self.start_ms


def codes_match(a: Code, b: Code, tolerance_ms: int) -> bool:
    if a.end_ms is None and b.end_ms is None:
        return abs(a.start_ms - b.start_ms) <= tolerance_ms
    if a.end_ms is not None and b.end_ms is not None:  # two spans: they overlap
        return a.start_ms < b.end_ms and b.start_ms < a.end_ms
    return a.start_ms - tolerance_ms <= b.last_ms and b.start_ms - tolerance_ms <= a.last_ms


def unmatched(codes: Sequence[Code], coder_ids: Sequence[int], tolerance_ms: int) -> list[Code]:
    """The codes that some other coder has nothing matching for (what the coders talk through)."""
    by_coder = {c: [x for x in codes if x.coder_id == c] for c in coder_ids}
    out = []
    for code in (x for x in codes if x.coder_id in by_coder):
        others = [c for c in coder_ids if c != code.coder_id]
        if not all(any(codes_match(code, other, tolerance_ms) for other in by_coder[c]) for c in others):
            out.append(code)
    return out


def presence(codes: Sequence[Code], duration_ms: int, unit_ms: int) -> list[bool]:
    """For each unit of the lesson: did these codes mark it?"""
    units = max(1, math.ceil(duration_ms / unit_ms))
    marked = [False] * units
    for code in codes:
        first = min(units - 1, max(0, code.start_ms // unit_ms))
        last = min(units - 1, max(0, code.last_ms // unit_ms))
        for u in range(first, last + 1):
            marked[u] = True
    return marked


def cohen_kappa(a: Sequence[object], b: Sequence[object]) -> float | None:
    """Cohen's kappa of two raters' labels for the same items; None when undefined (chance agreement is
    certain, e.g. both said "no" throughout)."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    labels = set(a) | set(b)
    expected = sum((list(a).count(k) / n) * (list(b).count(k) / n) for k in labels)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from ``counts[item][category]``: how many raters put each item in each category (the same
    number of raters for every item). None when undefined."""
    if not counts:
        return None
    raters = sum(counts[0])
    if raters < 2 or any(sum(row) != raters for row in counts):
        raise ValueError("every item needs the same number (at least two) of ratings")
    items = len(counts)
    categories = len(counts[0])
    p_j = [sum(row[j] for row in counts) / (items * raters) for j in range(categories)]
    p_i = [(sum(x * x for x in row) - raters) / (raters * (raters - 1)) for row in counts]
    observed = sum(p_i) / items
    expected = sum(p * p for p in p_j)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def kappa(presences: Sequence[Sequence[bool]]) -> tuple[str, float | None]:
    """("cohen", k) for two coders' unit answers, ("fleiss", k) for three or more."""
    if len(presences) < 2:
        raise ValueError("agreement needs at least two coders")
    if len(presences) == 2:
        return "cohen", cohen_kappa(presences[0], presences[1])
    units = zip(*presences, strict=True)
    return "fleiss", fleiss_kappa([[sum(1 for x in unit if not x), sum(1 for x in unit if x)] for unit in units])
