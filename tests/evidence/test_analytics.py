"""Analytics across lessons: a teacher's months (counts by kind and criterion, mean ratings, talk share, wait
time after questions) as JSON, CSV and a page with charts; the school's for leaders only, who still get 404 on a
lesson and its comments; the leader role granted and taken back by administrators."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from obsapp.extensions import db
from obsapp.talk.models import TalkAnalysis
from tests.evidence.conftest import criterion


def _talk(lesson, segments, duration_ms=60_000):
    db.session.add(TalkAnalysis(lesson_id=lesson.id, status="ready", duration_ms=duration_ms,
                                speech_ms=sum(e - s for s, e in segments),
                                segments=[{"start_ms": s, "end_ms": e, "level_db": -20.0, "voice": "near"}
                                          for s, e in segments]))
    db.session.commit()


@pytest.fixture
def school(teacher, mentor, make_user, make_lesson, api_as):
    """The teacher's lessons in September (two) and October, another teacher's in October; feedback on each."""
    le8, le1 = criterion("LE.8").id, criterion("LE.1").id
    sept_a = make_lesson(teacher, title="Sept A", status="ready", duration_ms=60_000, taught_on=date(2026, 9, 3))
    sept_b = make_lesson(teacher, title="Sept B", status="ready", duration_ms=60_000, taught_on=date(2026, 9, 20))
    octo = make_lesson(teacher, title="Oct", status="ready", duration_ms=60_000, taught_on=date(2026, 10, 8))
    colleague = make_user(name="Colin Colleague")
    theirs = make_lesson(colleague, title="Theirs", status="ready", duration_ms=60_000, taught_on=date(2026, 10, 9))
    m, c = api_as(mentor), api_as(colleague)

    def note(api, lesson, **fields):
        response = api.post(f"/api/v1/lessons/{lesson.id}/annotations", json=fields)
        assert response.status_code == 201, response.json
        return response.json

    note(m, sept_a, start_ms=1000, kind="growth", body="Rushed", criterion_ids=[le8], rating=2)
    note(m, sept_b, start_ms=1000, kind="strength", body="Good", criterion_ids=[le8], rating=3)
    note(m, sept_b, start_ms=4000, kind="question", body="Why?")
    note(m, octo, start_ms=2000, kind="strength", body="Better", criterion_ids=[le8, le1], rating=4)
    note(m, octo, start_ms=3000, kind="note", body="Mentor's own", visibility="private")
    secret = note(c, theirs, start_ms=1000, kind="strength", body="Colleague comment", criterion_ids=[le1])
    note(c, theirs, start_ms=2000, kind="growth", body="Colleague private", visibility="private")
    _talk(sept_b, [(0, 5000), (8000, 10_000)])  # the question at 4 s: 3 s of silence, then speech
    _talk(octo, [(0, 30_000)])
    return {"lessons": {"sept_a": sept_a, "sept_b": sept_b, "oct": octo, "theirs": theirs}, "secret": secret,
            "le8": le8, "le1": le1, "colleague": colleague}


def test_a_teachers_months(school, teacher, api_as):
    report = api_as(teacher).get(f"/api/v1/analytics/teachers/{teacher.id}")
    assert report.status_code == 200, report.json
    body = report.json
    assert body["scope"] == "teacher" and body["lessons"] == 3
    months = {p["period"]: p for p in body["periods"]}
    assert list(months) == ["2026-09", "2026-10"]
    sept, octo = months["2026-09"], months["2026-10"]
    assert (sept["lessons"], sept["strength"], sept["growth"], sept["question"], sept["note"]) == (2, 1, 1, 1, 0)
    assert sept["mean_rating"] == 2.5 and sept["ratings"] == 2
    assert (octo["strength"], octo["note"], octo["mean_rating"]) == (1, 0, 4.0)  # the mentor's private note: not hers
    assert sept["speech_share"] == pytest.approx(7000 / 60_000, abs=1e-4)
    assert octo["speech_share"] == pytest.approx(0.5)
    # the wait times after questions (the question, and the strength on LE.8, a questioning criterion) are the
    # talk API's own
    talk = api_as(teacher).get(f"/api/v1/lessons/{school['lessons']['sept_b'].id}/talk").json
    assert [w["wait_ms"] for w in talk["wait_times"]] == [3000, 3000]
    assert (sept["median_wait_ms"], sept["wait_count"]) == (3000, 2)
    assert octo["median_wait_ms"] is None
    by_code = {c["criterion"]["code"]: {p["period"]: p for p in c["periods"]} for c in body["criteria"]}
    assert by_code["LE.8"]["2026-09"]["strength"] == 1 and by_code["LE.8"]["2026-09"]["growth"] == 1
    assert by_code["LE.1"] == {"2026-10": {**by_code["LE.1"]["2026-10"], "strength": 1}}
    # a period
    october = api_as(teacher).get(f"/api/v1/analytics/teachers/{teacher.id}?from=2026-10-01").json
    assert [p["period"] for p in october["periods"]] == ["2026-10"] and october["from"] == "2026-10-01"


def test_the_mentor_sees_their_own_private_notes_counted(school, teacher, mentor, api_as):
    body = api_as(mentor).get(f"/api/v1/analytics/teachers/{teacher.id}").json
    assert {p["period"]: p["note"] for p in body["periods"]} == {"2026-09": 0, "2026-10": 1}


def test_csv_export(school, teacher, api_as):
    answer = api_as(teacher).get(f"/api/v1/analytics/teachers/{teacher.id}/export?format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert list(rows[0]) == ["period", "criterion_code", "criterion", "lessons", "strength", "growth", "question",
                             "note", "mean_rating", "speech_share", "median_wait_ms"]
    overall = [r for r in rows if not r["criterion"]]
    assert [(r["period"], r["lessons"], r["median_wait_ms"]) for r in overall] == [("2026-09", "2", "3000"),
                                                                                  ("2026-10", "1", "")]
    assert {(r["period"], r["criterion_code"], r["strength"]) for r in rows if r["criterion"]} == {
        ("2026-09", "LE.8", "1"), ("2026-10", "LE.8", "1"), ("2026-10", "LE.1", "1")}


def test_bad_queries_and_outsiders(school, teacher, make_user, api_as):
    api = api_as(teacher)
    for path in ("?from=soon", "/export?format=xlsx", "?from=2026-12-01&to=2026-01-01"):
        answer = api.get(f"/api/v1/analytics/teachers/{teacher.id}{path}")
        assert answer.status_code == 422 and "message" in answer.json["error"], path
    assert api.get("/api/v1/analytics/teachers/999999").status_code == 404
    outsider = api_as(make_user())
    assert outsider.get(f"/api/v1/analytics/teachers/{teacher.id}").status_code == 404
    assert outsider.get("/api/v1/analytics/school").status_code == 403
    assert outsider.get("/api/v1/analytics/school/export").status_code == 403
    assert outsider.get(f"/api/v1/analytics/teachers/{teacher.id}/export").status_code == 404
    admin = api_as(make_user(admin=True))
    assert admin.get(f"/api/v1/analytics/teachers/{teacher.id}").status_code == 404  # admins see no teaching
    assert admin.get("/api/v1/analytics/school").status_code == 403


def test_a_leader_sees_the_school_in_numbers_but_no_lesson(school, make_user, api_as):
    admin, leader = api_as(make_user(admin=True)), make_user(name="Lee Leader")
    as_leader = api_as(leader)
    assert as_leader.get("/api/v1/analytics/school").status_code == 403
    granted = admin.request("PUT", f"/api/v1/leaders/{leader.id}")
    assert granted.status_code == 200 and granted.json["user"]["id"] == leader.id
    assert admin.request("PUT", f"/api/v1/leaders/{leader.id}").status_code == 200  # again: no change
    assert [row["user"]["id"] for row in admin.get("/api/v1/leaders").json["items"]] == [leader.id]
    assert as_leader.request("PUT", f"/api/v1/leaders/{leader.id}").status_code == 403
    assert admin.request("PUT", "/api/v1/leaders/999999").status_code == 404

    body = as_leader.get("/api/v1/analytics/school").json
    assert body["scope"] == "school" and body["teachers"] == 2 and body["lessons"] == 4
    months = {p["period"]: p for p in body["periods"]}
    # shared feedback only: neither the mentor's nor the colleague's private notes
    assert (months["2026-10"]["strength"], months["2026-10"]["growth"], months["2026-10"]["note"]) == (2, 0, 0)
    assert months["2026-09"]["median_wait_ms"] == 3000
    text = as_leader.get("/api/v1/analytics/school/export").get_data(as_text=True)
    assert "Colleague comment" not in text and "Colleague comment" not in str(body)

    theirs = school["lessons"]["theirs"]
    assert as_leader.get(f"/api/v1/lessons/{theirs.id}").status_code == 404
    assert as_leader.get(f"/api/v1/lessons/{theirs.id}/annotations").status_code == 404
    assert as_leader.get(f"/api/v1/annotations/{school['secret']['id']}").status_code == 404
    assert as_leader.get(f"/api/v1/lessons/{theirs.id}/media/video.mp4").status_code == 404
    assert as_leader.get(f"/api/v1/analytics/teachers/{school['colleague'].id}").status_code == 404

    assert admin.delete(f"/api/v1/leaders/{leader.id}").status_code == 204
    assert as_leader.get("/api/v1/analytics/school").status_code == 403


def test_pages(school, teacher, make_user, browser_client):
    from flask import g

    from obsapp.evidence import leaders

    page = browser_client(teacher).get("/analytics")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count("<svg") == 3 and "Download as CSV" in html
    assert "Make evidence reel" in html and "2026-09" in html
    g.pop("csrf_token", None)
    leader = make_user()
    leaders.grant(None, leader.id)
    db.session.commit()
    school_page = browser_client(leader).get("/analytics/school")
    assert school_page.status_code == 200 and "Analytics: the school" in school_page.get_data(as_text=True)
    g.pop("csrf_token", None)
    assert browser_client(make_user()).get("/analytics/school").status_code == 403
    g.pop("csrf_token", None)
    admin = browser_client(make_user(admin=True))
    someone = make_user(email="head@school.test", name="Hana Head")
    answer = admin.post("/analytics/leaders", data={"csrf_token": admin.csrf, "email": "head@school.test"},
                        follow_redirects=True)
    assert "Hana Head is a school leader." in answer.get_data(as_text=True)
    answer = admin.post("/analytics/leaders", data={"csrf_token": admin.csrf, "email": "nobody@school.test"},
                        follow_redirects=True)
    assert "Nobody has the email address" in answer.get_data(as_text=True)
    assert db.session.get(leaders.SchoolLeader, someone.id) is not None
