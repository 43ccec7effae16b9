"""Frameworks and annotations through the API: rules, ETags, privacy, filters, Markdown, exports."""

import csv
import io
import json

import pytest
import webvtt
from pympi.Elan import Eaf
from sqlalchemy import select

from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework


@pytest.fixture
def world(make_user, make_lesson, make_mentorship, share, api_as):
    owner, mentor, viewer, commenter, stranger = (make_user(name=n) for n in
                                                  ("Owner", "Mentor", "Viewer", "Commenter", "Stranger"))
    lesson = make_lesson(owner, status="ready", duration_ms=600_000)
    make_mentorship(mentor, owner)
    share(lesson, viewer, "viewer")
    share(lesson, commenter, "commenter")
    return {"lesson": lesson, **{name: api_as(user) for name, user in
                                 [("owner", owner), ("mentor", mentor), ("viewer", viewer),
                                  ("commenter", commenter), ("stranger", stranger)]},
            "users": {"owner": owner, "mentor": mentor}}


def criterion(slug, code):
    return db.session.execute(select(Criterion).join(Framework).where(Framework.slug == slug,
                                                                      Criterion.code == code)).scalar_one()


def test_builtin_frameworks(api_as, make_user):
    api = api_as(make_user())
    items = {f["slug"]: f for f in api.get("/api/v1/frameworks").json["items"]}
    stp, rosenshine = items["stp"], items["rosenshine"]
    parents = [c for c in stp["criteria"] if c["parent_id"] is None]
    assert [p["name"] for p in parents] == ["Positive Classroom Culture", "Lesson Preparation", "Lesson Enactment",
                                            "Assessment and Feedback"]
    assert len(stp["criteria"]) == 28
    names = {c["name"] for c in stp["criteria"]}
    assert {"Using Questions to Deepen Learning", "Considering Learners' Profile", "Building Trust"} <= names
    assert [c["name"] for c in rosenshine["criteria"]][0] == "Daily review" and len(rosenshine["criteria"]) == 10
    detail = api.get(f"/api/v1/frameworks/{stp['id']}").json
    assert detail["slug"] == "stp"
    hotkeys = [c["hotkey"] for c in detail["criteria"] if c["hotkey"]]
    assert len(hotkeys) == len(set(hotkeys))


def test_who_may_annotate(world):
    lesson = world["lesson"]
    body = {"start_ms": 1000, "body": "Good wait time", "kind": "strength"}
    for who, status in [("owner", 201), ("mentor", 201), ("commenter", 201), ("viewer", 403), ("stranger", 404)]:
        assert world[who].post(f"/api/v1/lessons/{lesson.id}/annotations", json=body).status_code == status, who
    assert len(world["viewer"].get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"]) == 3
    assert world["stranger"].get(f"/api/v1/lessons/{lesson.id}/annotations").status_code == 404


def test_create_validate_and_etags(world):
    lesson, mentor = world["lesson"], world["mentor"]
    cid = criterion("stp", "LE.8").id
    created = mentor.post(f"/api/v1/lessons/{lesson.id}/annotations", json={
        "start_ms": 5000, "end_ms": 9000, "body": "Probing *why*", "kind": "growth", "criterion_ids": [cid],
        "rating": 3})
    assert created.status_code == 201 and created.headers["ETag"] == created.json["etag"]
    assert created.json["criteria"][0]["name"] == "Using Questions to Deepen Learning"
    assert "<em>why</em>" in created.json["body_html"]
    url = f"/api/v1/annotations/{created.json['id']}"
    etag = mentor.get(url).headers["ETag"]
    assert mentor.patch(url, json={"body": "x"}).status_code == 428
    ok = mentor.patch(url, json={"body": "Probing deeper"}, headers={"If-Match": etag})
    assert ok.status_code == 200 and ok.headers["ETag"] != etag
    stale = mentor.patch(url, json={"body": "again"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json["error"]["code"] == "precondition_failed"
    assert world["owner"].patch(url, json={"body": "mine now"}, headers={"If-Match": ok.headers["ETag"]}).status_code == 403
    for bad in [{"start_ms": -1, "kind": "note"}, {"start_ms": 600_001, "kind": "note"},
                {"start_ms": 10, "end_ms": 5, "kind": "note"}, {"start_ms": 10, "kind": "praise"},
                {"start_ms": 10, "kind": "note", "criterion_ids": [999999]}, {"start_ms": 10, "kind": "note", "rating": 5},
                {"start_ms": "ten", "kind": "note"}]:
        response = mentor.post(f"/api/v1/lessons/{lesson.id}/annotations", json=bad)
        assert response.status_code == 422, bad
        assert response.json["error"]["message"]
    assert mentor.delete(url).status_code == 204
    assert mentor.get(url).status_code == 404


def test_private_annotations_stay_with_their_author(world):
    lesson = world["lesson"]
    private = world["mentor"].post(f"/api/v1/lessons/{lesson.id}/annotations", json={
        "start_ms": 100, "body": "Note to self", "kind": "note", "visibility": "private"}).json
    world["mentor"].post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": 200, "body": "Shared", "kind": "note"})
    for who in ("owner", "viewer", "commenter"):
        bodies = [a["body"] for a in world[who].get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"]]
        assert bodies == ["Shared"], who
        assert world[who].get(f"/api/v1/annotations/{private['id']}").status_code == 404
        assert world[who].get(f"/api/v1/annotations/{private['id']}/replies").status_code == 404
        export = world[who].get(f"/api/v1/lessons/{lesson.id}/annotations/export?format=csv").get_data(as_text=True)
        assert "Note to self" not in export
    mine = world["mentor"].get(f"/api/v1/lessons/{lesson.id}/annotations/export?format=csv").get_data(as_text=True)
    assert "Note to self" in mine


def test_replies_hide_and_filters(world):
    lesson = world["lesson"]
    a = world["mentor"].post(f"/api/v1/lessons/{lesson.id}/annotations", json={
        "start_ms": 60_000, "end_ms": 90_000, "body": "Great questioning", "kind": "strength",
        "criterion_ids": [criterion("rosenshine", "R3").id]}).json
    world["mentor"].post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": 300_000, "body": "Pace", "kind": "growth"})
    reply = world["owner"].post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "I planned those questions."})
    assert reply.status_code == 201
    assert world["viewer"].post(f"/api/v1/annotations/{a['id']}/replies", json={"body": "me too"}).status_code == 403
    thread = world["viewer"].get(f"/api/v1/annotations/{a['id']}/replies").json["items"]
    assert [r["body"] for r in thread] == ["I planned those questions."]
    base = f"/api/v1/lessons/{lesson.id}/annotations"
    assert [x["body"] for x in world["viewer"].get(f"{base}?kind=growth").json["items"]] == ["Pace"]
    assert [x["body"] for x in world["viewer"].get(f"{base}?q=QUESTION").json["items"]] == ["Great questioning"]
    cid = criterion("rosenshine", "R3").id
    assert [x["id"] for x in world["viewer"].get(f"{base}?criterion_id={cid}").json["items"]] == [a["id"]]
    assert [x["body"] for x in world["viewer"].get(f"{base}?from_ms=100000&to_ms=400000").json["items"]] == ["Pace"]
    page = world["viewer"].get(f"{base}?per_page=1").json
    assert len(page["items"]) == 1 and page["next"]
    assert world["mentor"].post(f"/api/v1/annotations/{a['id']}/hide").status_code == 403
    assert world["owner"].post(f"/api/v1/annotations/{a['id']}/hide").json["hidden"] is True
    assert [x["body"] for x in world["viewer"].get(base).json["items"]] == ["Pace"]
    assert len(world["mentor"].get(base).json["items"]) == 2  # the author still sees it


def test_markdown_is_sanitised(world):
    lesson = world["lesson"]
    body = "<script>alert(1)</script> [click](javascript:alert(1)) **bold** [ok](https://example.org)"
    a = world["mentor"].post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": 1, "body": body,
                                                                              "kind": "note"}).json
    html = a["body_html"]
    assert "<script" not in html and 'href="javascript' not in html  # escaped text and no live link
    assert "<strong>bold</strong>" in html and 'href="https://example.org"' in html and "noopener" in html
    assert a["body"] == body


def test_exports_read_back_by_standard_tools(world):
    lesson, mentor = world["lesson"], world["mentor"]
    cid = criterion("stp", "LE.5").id
    notes = [(1234, 5678, "Clear model, step by step", "strength"), (61_001, None, "Why this example?", "question")]
    for start, end, body, kind in notes:
        mentor.post(f"/api/v1/lessons/{lesson.id}/annotations", json={
            "start_ms": start, "end_ms": end, "body": body, "kind": kind, "criterion_ids": [cid]})
    base = f"/api/v1/lessons/{lesson.id}/annotations/export?format="
    rows = list(csv.DictReader(io.StringIO(mentor.get(base + "csv").get_data(as_text=True))))
    assert [(int(r["start_ms"]), r["end_ms"], r["body"], r["criteria"]) for r in rows] == [
        (1234, "5678", notes[0][2], "stp:LE.5"), (61001, "", notes[1][2], "stp:LE.5")]
    vtt = webvtt.from_buffer(io.StringIO(mentor.get(base + "vtt").get_data(as_text=True)))
    assert [c.start for c in vtt] == ["00:00:01.234", "00:01:01.001"] and vtt[0].end == "00:00:05.678"
    assert notes[0][2] in vtt[0].text and "Providing Clear Explanation" in vtt[0].text
    w3c = json.loads(mentor.get(base + "w3c").get_data(as_text=True))
    assert w3c["type"] == "AnnotationCollection" and w3c["total"] == 2
    first = w3c["first"]["items"][0]
    assert first["target"]["selector"] == {"type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/",
                                           "value": "t=1.234,5.678"}
    assert w3c["first"]["items"][1]["target"]["selector"]["value"] == "t=61.001"
    response = mentor.get(base + "eaf")
    assert "annotations.eaf" in response.headers["Content-Disposition"]
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".eaf") as handle:
        handle.write(response.data)
        handle.flush()
        eaf = Eaf(handle.name)
    values = sorted((start, value) for tier in eaf.get_tier_names()
                    for start, _end, value in eaf.get_annotation_data_for_tier(tier))
    assert values == [(1234, notes[0][2]), (61001, notes[1][2])]
