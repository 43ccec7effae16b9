"""Calibration exercises through the API: blind coding with private annotations, submit, report, CSV."""

from __future__ import annotations

import csv
import io

import pytest
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select

from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework


@pytest.fixture
def world(make_user, make_lesson, make_mentorship, share):
    teacher = make_user(name="Teacher")
    lead = make_user(name="Lead Mentor")
    make_mentorship(lead, teacher)
    peer = make_user(name="Peer Coach")
    third = make_user(name="Third Coach")
    viewer = make_user(name="Viewer")
    stranger = make_user(name="Stranger")
    lesson = make_lesson(teacher, status="ready", duration_ms=120_000)
    share(lesson, peer, "commenter")
    share(lesson, third, "commenter")
    share(lesson, viewer, "viewer")
    criteria = list(db.session.execute(select(Criterion).join(Framework).where(Framework.slug == "rosenshine")
                                       .order_by(Criterion.position)).scalars())
    return dict(teacher=teacher, lead=lead, peer=peer, third=third, viewer=viewer, stranger=stranger, lesson=lesson,
                c1=criteria[0], c2=criteria[1])


def code(api, lesson_id, at_ms, criterion, *, end_ms=None, visibility="private"):
    body = {"start_ms": at_ms, "body": "code", "kind": "note", "criterion_ids": [criterion.id],
            "visibility": visibility}
    if end_ms is not None:
        body["end_ms"] = end_ms
    response = api.post(f"/api/v1/lessons/{lesson_id}/annotations", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_two_coders_code_blind_then_see_kappa(world, api_as):
    lesson, c1, c2 = world["lesson"], world["c1"], world["c2"]
    lead, peer = api_as(world["lead"]), api_as(world["peer"])
    code(lead, lesson.id, 3_000, c1)  # before the exercise: not a code
    opened = lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                       json={"coder_ids": [world["lead"].id, world["peer"].id], "title": "Week 3"})
    assert opened.status_code == 201, opened.json
    ex = opened.json
    assert ex["closed"] is False and [c["submitted"] for c in ex["coders"]] == [False, False]

    # lead: c1 at 10 s and 50 s, c2 over 70-90 s; peer: c1 at 12 s (matches), c1 at 100 s (disputed), c2 at 85 s
    code(lead, lesson.id, 10_000, c1)
    code(lead, lesson.id, 50_000, c1)
    code(lead, lesson.id, 70_000, c2, end_ms=90_000)
    code(lead, lesson.id, 20_000, c2, visibility="shared")  # shared: others could see it, so not a blind code
    code(peer, lesson.id, 12_000, c1)
    code(peer, lesson.id, 100_000, c1)
    code(peer, lesson.id, 85_000, c2)

    # blind: neither sees the other's codes, and there is no report yet
    listed = {a["start_ms"] for a in peer.get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"]}
    assert listed == {12_000, 100_000, 85_000, 20_000}
    assert peer.get(f"/api/v1/calibrations/{ex['id']}/report").status_code == 409
    assert peer.get(f"/api/v1/calibrations/{ex['id']}").json["your_codes"] == 3

    first = lead.post(f"/api/v1/calibrations/{ex['id']}/submit").json
    assert first["closed"] is False and first["your_codes"] == 3
    assert lead.get(f"/api/v1/calibrations/{ex['id']}/report").status_code == 409
    done = peer.post(f"/api/v1/calibrations/{ex['id']}/submit").json
    assert done["closed"] is True and done["report_ready"] is True
    assert peer.post(f"/api/v1/calibrations/{ex['id']}/submit").status_code == 409

    report = lead.get(f"/api/v1/calibrations/{ex['id']}/report").json
    rows = {row["criterion"]["id"]: row for row in report["criteria"]}
    assert set(rows) == {c1.id, c2.id} and report["units"] == 12
    r1 = rows[c1.id]
    assert r1["codes"] == {str(world["lead"].id): 2, str(world["peer"].id): 2}
    assert (r1["agreed"], r1["disputed"]) == (2, 2) and r1["method"] == "cohen"
    assert [(d["coder_id"], d["start_ms"]) for d in r1["disagreements"]] == [
        (world["lead"].id, 50_000), (world["peer"].id, 100_000)]
    # the units by hand: lead marks c1 in units 1 and 5, peer in 1 and 10 (10 s units over 120 s)
    lead_units = [u in (1, 5) for u in range(12)]
    peer_units = [u in (1, 10) for u in range(12)]
    assert r1["kappa"] == pytest.approx(cohen_kappa_score(lead_units, peer_units), abs=1e-3)
    r2 = rows[c2.id]
    assert (r2["agreed"], r2["disputed"]) == (2, 0)  # a moment inside the span
    assert r2["kappa"] == pytest.approx(cohen_kappa_score([u in (7, 8, 9) for u in range(12)],
                                                          [u == 8 for u in range(12)]), abs=1e-3)

    exported = lead.get(f"/api/v1/calibrations/{ex['id']}/report/export")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert table[0][:3] == ["framework", "code", "criterion"] and len(table) == 3
    assert "Lead Mentor at 50.0s" in table[1][-1]

    page = lead.get(f"/calibrations/{ex['id']}").get_data(as_text=True)
    assert "Cohen" in page and f"{r1['kappa']:.2f}" in page


def test_three_coders_use_fleiss_and_the_lead_can_close_early(world, api_as):
    lesson, c1 = world["lesson"], world["c1"]
    lead, peer, third = api_as(world["lead"]), api_as(world["peer"]), api_as(world["third"])
    ex = lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                   json={"coder_ids": [world["lead"].id, world["peer"].id, world["third"].id]}).json
    code(lead, lesson.id, 10_000, c1)
    code(peer, lesson.id, 11_000, c1)
    code(third, lesson.id, 60_000, c1)
    assert peer.post(f"/api/v1/calibrations/{ex['id']}/close").status_code == 403  # only the lead
    lead.post(f"/api/v1/calibrations/{ex['id']}/submit")
    assert lead.post(f"/api/v1/calibrations/{ex['id']}/close").status_code == 409  # one submitted
    peer.post(f"/api/v1/calibrations/{ex['id']}/submit")
    third.post(f"/api/v1/calibrations/{ex['id']}/submit")
    report = lead.get(f"/api/v1/calibrations/{ex['id']}/report").json
    (row,) = report["criteria"]
    assert row["method"] == "fleiss" and row["disputed"] == 3 and row["kappa"] is not None

    ex2 = lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                    json={"coder_ids": [world["lead"].id, world["peer"].id, world["third"].id]}).json
    lead.post(f"/api/v1/calibrations/{ex2['id']}/submit")
    peer.post(f"/api/v1/calibrations/{ex2['id']}/submit")
    closed = lead.post(f"/api/v1/calibrations/{ex2['id']}/close").json
    assert closed["closed"] is True
    assert third.post(f"/api/v1/calibrations/{ex2['id']}/submit").status_code == 409
    assert [c["id"] for c in lead.get(f"/api/v1/calibrations/{ex2['id']}/report").json["coders"]] == [
        world["lead"].id, world["peer"].id]
    assert len(lead.get(f"/api/v1/lessons/{lesson.id}/calibrations").json["items"]) == 2


def test_who_may_open_and_see(world, api_as):
    lesson = world["lesson"]
    coders = {"coder_ids": [world["lead"].id, world["peer"].id]}
    for name, status in [("teacher", 403), ("peer", 403), ("viewer", 403), ("stranger", 404)]:
        response = api_as(world[name]).post(f"/api/v1/lessons/{lesson.id}/calibrations", json=coders)
        assert response.status_code == status, name
    lead = api_as(world["lead"])
    bad = lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                    json={"coder_ids": [world["lead"].id, world["viewer"].id]})
    assert bad.status_code == 422 and "coder_ids" in bad.json["error"]["fields"]
    assert lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                     json={"coder_ids": [world["teacher"].id, world["peer"].id]}).status_code == 422
    assert lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                     json={"coder_ids": [world["peer"].id]}).status_code == 422
    assert lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                     json={"coder_ids": [world["peer"].id, 99999999]}).status_code == 422
    assert lead.post(f"/api/v1/lessons/{lesson.id}/calibrations",
                     json={"coder_ids": [world["lead"].id, world["peer"].id], "nope": 1}).status_code == 422
    ex = lead.post(f"/api/v1/lessons/{lesson.id}/calibrations", json=coders).json
    for name in ("teacher", "viewer", "stranger", "third"):
        assert api_as(world[name]).get(f"/api/v1/calibrations/{ex['id']}").status_code == 404, name
        assert api_as(world[name]).get(f"/api/v1/calibrations/{ex['id']}/report").status_code == 404, name
    assert api_as(world["teacher"]).get(f"/api/v1/lessons/{lesson.id}/calibrations").json["items"] == []
    assert api_as(world["peer"]).get(f"/api/v1/calibrations/{ex['id']}").status_code == 200
    assert api_as(world["peer"]).get(f"/api/v1/calibrations/{ex['id']}/report/export").status_code == 409
    assert api_as(world["stranger"]).get(f"/api/v1/calibrations/{ex['id']}/report/export").status_code == 404


def test_the_pages_open_submit_and_report(world, browser_client, api_as):
    from flask import g

    def signed_in(user):
        # the test's app context (and so flask.g, where Flask-WTF keeps the token it made) outlives each request:
        # forget the previous person's token before signing the next one in
        g.pop("csrf_token", None)
        return browser_client(user)

    lesson, c1 = world["lesson"], world["c1"]
    lead = signed_in(world["lead"])
    page = lead.get(f"/lessons/{lesson.id}").get_data(as_text=True)
    assert "Open a calibration exercise" in page and "Peer Coach" in page and "Viewer" not in page.split(
        'id="calibration"')[1]
    assert "Open a calibration exercise" not in signed_in(world["teacher"]).get(
        f"/lessons/{lesson.id}").get_data(as_text=True)
    refused = lead.post(f"/lessons/{lesson.id}/calibrations", data={"csrf_token": lead.csrf,
                                                                   "coder_ids": [str(world["lead"].id)]})
    assert refused.status_code == 302 and refused.location.endswith("#calibration")
    opened = lead.post(f"/lessons/{lesson.id}/calibrations", data={
        "csrf_token": lead.csrf, "title": "Week 4", "coder_ids": [str(world["lead"].id), str(world["peer"].id)]})
    assert opened.status_code == 302
    url = opened.location
    code(api_as(world["lead"]), lesson.id, 10_000, c1)
    code(api_as(world["peer"]), lesson.id, 11_000, c1)
    assert "Your codes so far" in lead.get(url).get_data(as_text=True)
    lead.post(url, data={"csrf_token": lead.csrf, "action": "submit"})
    peer = signed_in(world["peer"])
    assert "Week 4" in peer.get(f"/lessons/{lesson.id}").get_data(as_text=True)
    peer.post(url, data={"csrf_token": peer.csrf, "action": "submit"})
    report = peer.get(url).get_data(as_text=True)
    assert "Agreement by criterion" in report and "1.00" in report and "almost perfect" in report
    assert signed_in(world["stranger"]).get(url).status_code == 404
