"""Exports of a lesson's annotations: CSV, WebVTT (webvtt-py), W3C Web Annotation, ELAN EAF (pympi-ling)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile

import webvtt
from pympi.Elan import Eaf

from obsapp.annotations.models import Annotation

CSV_COLUMNS = ["start_ms", "end_ms", "kind", "criteria", "rating", "visibility", "author", "body"]
MOMENT_CUE_MS = 3000  # how long a moment's cue or tier annotation lasts in formats that need an end
MOMENT_TIER_SUFFIX = " (moments)"  # EAF tiers holding moments, so an import restores them as moments


def _criteria(annotation: Annotation) -> str:
    return ";".join(f"{c.framework.slug}:{c.code}" for c in annotation.criteria)


def to_csv(annotations: list[Annotation]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for a in annotations:
        writer.writerow([a.start_ms, "" if a.end_ms is None else a.end_ms, a.kind, _criteria(a),
                         "" if a.rating is None else a.rating, a.visibility, a.author.name, a.body])
    return out.getvalue()


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _moment_end(annotation: Annotation, duration_ms: int) -> int:
    if annotation.end_ms is not None:
        return annotation.end_ms
    return max(annotation.start_ms + 1, min(annotation.start_ms + MOMENT_CUE_MS, duration_ms))


def to_vtt(annotations: list[Annotation], duration_ms: int) -> str:
    document = webvtt.WebVTT()
    for a in annotations:
        label = f"[{a.kind}]" + (f" {', '.join(c.name for c in a.criteria)}" if a.criteria else "")
        text = f"{label}\n{a.body}" if a.body else label
        caption = webvtt.Caption(_vtt_time(a.start_ms), _vtt_time(_moment_end(a, duration_ms)), text)
        caption.identifier = f"{'span' if a.end_ms is not None else 'moment'}-{a.id}"
        document.captions.append(caption)
    return document.content


def to_w3c(annotations: list[Annotation], video_url: str, collection_id: str) -> str:
    items = []
    for a in annotations:
        value = f"t={a.start_ms / 1000:.3f}" + (f",{a.end_ms / 1000:.3f}" if a.end_ms is not None else "")
        body = [{"type": "TextualBody", "value": a.body, "format": "text/markdown", "purpose": "commenting"},
                {"type": "TextualBody", "value": a.kind, "purpose": "classifying"}]
        body += [{"type": "TextualBody", "value": f"{c.framework.slug}:{c.code}", "purpose": "tagging"}
                 for c in a.criteria]
        items.append({
            "id": f"{collection_id}/{a.id}", "type": "Annotation", "motivation": "commenting",
            "creator": {"type": "Person", "name": a.author.name}, "created": a.created_at.isoformat(),
            "modified": a.updated_at.isoformat(), "body": body,
            "target": {"source": video_url, "selector": {
                "type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/", "value": value}},
            **({"obsapp:rating": a.rating} if a.rating is not None else {}),
            "obsapp:visibility": a.visibility,
        })
    return json.dumps({
        "@context": "http://www.w3.org/ns/anno.jsonld", "id": collection_id, "type": "AnnotationCollection",
        "label": "obsapp annotations", "total": len(items),
        "first": {"type": "AnnotationPage", "id": f"{collection_id}?page=1", "items": items},
    }, indent=2)


def _eaf_tier(annotation: Annotation) -> str:
    return annotation.kind if annotation.end_ms is not None else f"{annotation.kind}{MOMENT_TIER_SUFFIX}"


def to_eaf(annotations: list[Annotation], video_url: str, duration_ms: int) -> bytes:
    """One tier per kind (moments on a "<kind> (moments)" tier); values are the bodies word for word."""
    eaf = Eaf(author="obsapp")
    eaf.remove_tier("default")
    eaf.add_linked_file(video_url, mimetype="video/mp4")
    tiers = sorted({_eaf_tier(a) for a in annotations})
    for tier in tiers:
        eaf.add_tier(tier)
    for a in annotations:
        eaf.add_annotation(_eaf_tier(a), a.start_ms, _moment_end(a, duration_ms), value=a.body)
    fd, path = tempfile.mkstemp(suffix=".eaf")
    os.close(fd)
    try:
        eaf.to_file(path)
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


# --- import ---------------------------------------------------------------------------------------

class ImportErrors(ValueError):
    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


def _ms(text: str) -> int:
    parts = text.strip().split(":")
    seconds, _, millis = parts[-1].partition(".")
    total = int(seconds) * 1000 + int((millis + "000")[:3])
    if len(parts) >= 2:
        total += int(parts[-2]) * 60_000
    if len(parts) == 3:
        total += int(parts[0]) * 3_600_000
    return total


def parse(fmt: str, data: bytes) -> list[dict]:
    """Records {line, start_ms, end_ms, kind, criteria: [(slug, code) | name], rating, visibility, body}."""
    try:
        text = data.decode("utf-8-sig") if fmt != "eaf" else ""
    except UnicodeDecodeError as exc:
        raise ImportErrors(["the file is not UTF-8 text"]) from exc
    parser = {"csv": _parse_csv, "vtt": _parse_vtt, "w3c": _parse_w3c, "eaf": _parse_eaf}[fmt]
    return parser(text if fmt != "eaf" else data)


def _parse_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("start_ms", "kind", "body") if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportErrors([f"line 1: the header has no {', '.join(missing)} column"])
    records, errors = [], []
    for row in reader:
        line = reader.line_num
        try:
            records.append({
                "line": f"line {line}", "start_ms": int(row["start_ms"]),
                "end_ms": int(row["end_ms"]) if (row.get("end_ms") or "").strip() else None,
                "kind": (row["kind"] or "").strip(), "body": row["body"] or "",
                "criteria": [tuple(c.split(":", 1)) for c in (row.get("criteria") or "").split(";") if c.strip()],
                "rating": int(row["rating"]) if (row.get("rating") or "").strip() else None,
                "visibility": (row.get("visibility") or "shared").strip() or "shared"})
        except (TypeError, ValueError):
            errors.append(f"line {line}: start_ms, end_ms and rating must be whole numbers")
    if errors:
        raise ImportErrors(errors)
    return records


def _parse_vtt(text: str) -> list[dict]:
    try:
        captions = webvtt.from_buffer(io.StringIO(text))
    except Exception as exc:  # noqa: BLE001 - webvtt-py raises several kinds for broken files
        raise ImportErrors([f"not a WebVTT file: {exc}"]) from exc
    records = []
    for n, caption in enumerate(captions, start=1):
        lines = caption.text.split("\n")
        kind, criteria, body = "note", [], caption.text
        first = lines[0].strip() if lines else ""
        if first.startswith("[") and "]" in first:
            kind = first[1:first.index("]")]
            names = first[first.index("]") + 1:].strip()
            criteria = [name.strip() for name in names.split(",") if name.strip()]
            body = "\n".join(lines[1:])
        moment = (caption.identifier or "").startswith("moment")
        records.append({"line": f"cue {n}", "start_ms": _ms(caption.start),
                        "end_ms": None if moment else _ms(caption.end), "kind": kind, "criteria": criteria,
                        "body": body, "rating": None, "visibility": "shared"})
    return records


def _parse_w3c(text: str) -> list[dict]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportErrors([f"line {exc.lineno}: not valid JSON ({exc.msg})"]) from exc
    items = (document.get("first") or {}).get("items") if isinstance(document, dict) else None
    if items is None and isinstance(document, dict):
        items = document.get("items")
    if not isinstance(items, list):
        raise ImportErrors(["no annotations: expected an AnnotationCollection whose first page has items"])
    records, errors = [], []
    for n, item in enumerate(items, start=1):
        try:
            value = item["target"]["selector"]["value"]
            times = value.split("=", 1)[1].split(",")
            start = round(float(times[0]) * 1000)
            end = round(float(times[1]) * 1000) if len(times) > 1 and times[1] else None
            bodies = item.get("body") or []
            bodies = bodies if isinstance(bodies, list) else [bodies]
            by_purpose = {}
            for b in bodies:
                by_purpose.setdefault(b.get("purpose", "commenting"), []).append(b.get("value", ""))
            records.append({"line": f"item {n}", "start_ms": start, "end_ms": end,
                            "kind": (by_purpose.get("classifying") or ["note"])[0],
                            "criteria": [tuple(v.split(":", 1)) for v in by_purpose.get("tagging", []) if ":" in v],
                            "body": (by_purpose.get("commenting") or [""])[0],
                            "rating": item.get("obsapp:rating"),
                            "visibility": item.get("obsapp:visibility", "shared")})
        except (KeyError, IndexError, TypeError, ValueError, AttributeError):
            errors.append(f"item {n}: needs a target with a FragmentSelector value like t=12.5,20")
    if errors:
        raise ImportErrors(errors)
    return records


def _parse_eaf(data: bytes) -> list[dict]:
    fd, path = tempfile.mkstemp(suffix=".eaf")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            eaf = Eaf(path)
        except Exception as exc:  # noqa: BLE001 - pympi raises parser errors of several kinds
            raise ImportErrors([f"not an ELAN file: {exc.__class__.__name__}"]) from exc
    finally:
        os.unlink(path)
    records = []
    for tier in eaf.get_tier_names():
        moment = tier.endswith(MOMENT_TIER_SUFFIX)
        kind = tier[: -len(MOMENT_TIER_SUFFIX)] if moment else tier
        for start, end, value, *_ in eaf.get_annotation_data_for_tier(tier):
            records.append({"line": f"tier {tier!r} at {start} ms", "start_ms": int(start),
                            "end_ms": None if moment else int(end), "kind": kind, "criteria": [], "body": value or "",
                            "rating": None, "visibility": "shared"})
    return records
