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
        caption.identifier = f"annotation-{a.id}"
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


def to_eaf(annotations: list[Annotation], video_url: str, duration_ms: int) -> bytes:
    """One tier per kind; annotation values are the bodies word for word (moments last MOMENT_CUE_MS)."""
    eaf = Eaf(author="obsapp")
    eaf.remove_tier("default")
    eaf.add_linked_file(video_url, mimetype="video/mp4")
    for kind in sorted({a.kind for a in annotations}):
        eaf.add_tier(kind)
    for a in annotations:
        eaf.add_annotation(a.kind, a.start_ms, _moment_end(a, duration_ms), value=a.body)
    fd, path = tempfile.mkstemp(suffix=".eaf")
    os.close(fd)
    try:
        eaf.to_file(path)
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)
