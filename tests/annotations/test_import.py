"""Import: each export format round-trips (times to the ms, kinds, criteria, bodies); broken files import nothing."""

import io

import pytest
from sqlalchemy import func, select

from obsapp.annotations.models import Annotation
from obsapp.extensions import db
from tests.annotations.test_annotations_api import criterion, world  # noqa: F401 - fixture


def _export(api, lesson_id, fmt):
    return api.get(f"/api/v1/lessons/{lesson_id}/annotations/export?format={fmt}").data


def _import(api, lesson_id, data, filename, **form):
    return api.post(f"/api/v1/lessons/{lesson_id}/annotations/import",
                    data={"file": (io.BytesIO(data), filename), **form}, content_type="multipart/form-data")


def _snapshot(api, lesson_id):
    items = api.get(f"/api/v1/lessons/{lesson_id}/annotations?per_page=500").json["items"]
    return sorted((a["start_ms"], a["end_ms"], a["kind"], a["body"], tuple(sorted(c["code"] for c in a["criteria"])))
                  for a in items)


@pytest.mark.parametrize("fmt,filename", [("csv", "a.csv"), ("vtt", "a.vtt"), ("w3c", "a.json"), ("eaf", "a.eaf")])
def test_round_trip_through_each_format(world, make_lesson, fmt, filename):  # noqa: F811
    lesson, mentor = world["lesson"], world["mentor"]
    cid = criterion("stp", "LE.5").id
    source = [(1234, 5678, "strength", "Clear model, step by step", [cid]),
              (61_001, None, "question", "Why *this* example?", []),
              (300_000, 300_001, "growth", "Only two answered", [criterion("rosenshine", "R6").id])]
    for start, end, kind, body, ids in source:
        assert mentor.post(f"/api/v1/lessons/{lesson.id}/annotations", json={
            "start_ms": start, "end_ms": end, "body": body, "kind": kind, "criterion_ids": ids}).status_code == 201
    exported = _export(mentor, lesson.id, fmt)
    target = make_lesson(world["users"]["owner"], title="Copy", status="ready", duration_ms=600_000)
    response = _import(mentor, target.id, exported, filename)
    assert response.status_code == 201, response.json
    assert response.json == {"imported": 3}
    before, after = _snapshot(mentor, lesson.id), _snapshot(mentor, target.id)
    if fmt == "eaf":  # EAF carries no criteria
        before = [row[:4] for row in before]
        after = [row[:4] for row in after]
    assert after == before


@pytest.mark.parametrize("filename,content,words", [
    ("bad.csv", b"start_ms,kind,body\n100,note,ok\nabc,note,bad\n", "line 3"),
    ("bad.csv", b"start_ms,kind,body\n100,note,ok\n999999999,note,outside\n", "line 3"),
    ("bad.csv", b"when,what\n1,2\n", "header"),
    ("bad.vtt", b"WEBVTT\n\n00:00:05.000 --> 00:00:01.000\n[note]\nbackwards\n", "cue 1"),
    ("bad.json", b'{"type": "AnnotationCollection"}', "no annotations"),
    ("bad.json", b'{"first": {"items": [{"target": {}}]}}', "item 1"),
    ("bad.eaf", b"<ANNOTATION_DOCUMENT><broken", "not an ELAN file"),
    ("bad.csv", b"start_ms,kind,body,criteria\n100,note,ok,stp:NOPE\n", "unknown criterion"),
])
def test_broken_files_import_nothing(world, filename, content, words):  # noqa: F811
    lesson, mentor = world["lesson"], world["mentor"]
    response = _import(mentor, lesson.id, content, filename)
    assert response.status_code == 422, response.json
    assert words in " ".join(response.json["error"]["fields"]["file"]) or words in response.json["error"]["message"]
    assert db.session.execute(select(func.count(Annotation.id))).scalar_one() == 0


def test_import_needs_comment_access_and_a_known_format(world):  # noqa: F811
    lesson = world["lesson"]
    assert _import(world["viewer"], lesson.id, b"start_ms,kind,body\n1,note,x\n", "a.csv").status_code == 403
    assert _import(world["stranger"], lesson.id, b"start_ms,kind,body\n1,note,x\n", "a.csv").status_code == 404
    assert _import(world["mentor"], lesson.id, b"whatever", "notes.txt").status_code == 422
    ok = _import(world["mentor"], lesson.id, b"start_ms,kind,body\n1,note,x\n", "notes.txt", format="csv")
    assert ok.status_code == 201
