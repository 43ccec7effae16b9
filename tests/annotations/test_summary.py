"""The lesson's feedback summary (counts by kind and criterion, rolled up the STP tree) and the printable page."""

import html


def _criteria(api):
    out = {}
    for f in api.get("/api/v1/frameworks").json["items"]:
        for c in f["criteria"]:
            out[c["code"]] = c["id"]
    return out


def _setup(api_as, make_user, make_lesson, make_mentorship):
    teacher_user, mentor_user = make_user(name="Tan Mei Ling"), make_user(name="Mr Rahman")
    make_mentorship(mentor_user, teacher_user)
    lesson = make_lesson(teacher_user, title="Fractions, 4B", status="ready", duration_ms=3_900_000)
    mentor, teacher = api_as(mentor_user), api_as(teacher_user)
    ids = _criteria(mentor)
    url = f"/api/v1/lessons/{lesson.id}/annotations"
    rows = [
        (1000, None, "strength", ["LE.1"], "Linked to **last week's** pizza problem", 4, "shared"),
        (65_000, 95_000, "strength", ["LE.1", "LE.8"], "Good probing", 3, "shared"),
        (120_000, None, "growth", ["LE.6"], "Transition took four minutes", 2, "shared"),
        (3_700_000, None, "question", ["AF.1", "R6"], "How did you know they understood?", None, "shared"),
        (200_000, None, "note", [], "Room was warm", None, "shared"),
        (300_000, None, "growth", ["LE.8"], "My own reminder", None, "private"),
    ]
    for start, end, kind, codes, body, rating, visibility in rows:
        payload = {"start_ms": start, "kind": kind, "body": body, "criterion_ids": [ids[c] for c in codes],
                   "rating": rating, "visibility": visibility}
        if end:
            payload["end_ms"] = end
        assert mentor.post(url, json=payload).status_code == 201
    first = mentor.get(url).json["items"][0]
    teacher.post(f"/api/v1/annotations/{first['id']}/replies", json={"body": "I'll reuse that hook."})
    return lesson, mentor, teacher


def test_summary_counts_by_kind_and_rolls_up_criteria(api_as, make_user, make_lesson, make_mentorship):
    lesson, mentor, teacher = _setup(api_as, make_user, make_lesson, make_mentorship)
    mine = mentor.get(f"/api/v1/lessons/{lesson.id}/annotations/summary").json
    assert mine["total"] == 6 and mine["by_kind"] == {"strength": 2, "growth": 2, "question": 1, "note": 1}
    assert mine["spans"] == 1 and mine["untagged"] == 1 and mine["rating"] == {"count": 3, "mean": 3.0}
    stp = next(f for f in mine["frameworks"] if f["slug"] == "stp")
    rows = {c["code"]: c for c in stp["criteria"]}
    assert list(rows) == ["LE", "LE.1", "LE.6", "LE.8", "AF", "AF.1"]  # framework order, parents first
    assert rows["LE.8"]["by_kind"] == {"strength": 1, "growth": 1, "question": 0, "note": 0}
    # The process counts each annotation once, though one is tagged with two of its areas.
    assert rows["LE"]["total"] == 4 and rows["LE"]["by_kind"]["strength"] == 2

    shared = mentor.get(f"/api/v1/lessons/{lesson.id}/annotations/summary?visibility=shared").json
    assert shared["total"] == 5
    theirs = teacher.get(f"/api/v1/lessons/{lesson.id}/annotations/summary").json
    assert theirs["total"] == 5 and theirs["by_kind"]["growth"] == 1  # the mentor's private note stays private
    assert mentor.get(f"/api/v1/lessons/{lesson.id}/annotations/summary?visibility=x").status_code == 422
    assert api_as(make_user()).get(f"/api/v1/lessons/{lesson.id}/annotations/summary").status_code == 404


def test_printable_feedback_page(app, browser_client, api_as, make_user, make_lesson, make_mentorship):
    lesson, mentor, teacher = _setup(api_as, make_user, make_lesson, make_mentorship)
    from obsapp.accounts.models import User
    from obsapp.extensions import db

    mentor_user = db.session.execute(db.select(User).where(User.name == "Mr Rahman")).scalar_one()
    client = browser_client(mentor_user)
    response = client.get(f"/lessons/{lesson.id}/feedback")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Fractions, 4B" in page and "Tan Mei Ling" in page and "1:05:00" in page
    strengths = page.index('id="section-strength"')
    growth = page.index('id="section-growth"')
    assert strengths < page.index("pizza problem") < page.index("Good probing") < growth
    assert "<strong>last week's</strong>" in page and "I'll reuse that hook." in page
    assert "1:01:40" in page and "1:05–1:35" in page  # times as people read them
    assert "My own reminder" not in page  # private notes are left out unless asked for
    assert "My own reminder" in client.get(f"/lessons/{lesson.id}/feedback?private=1").get_data(as_text=True)
    assert "LE.6 Pacing and Maintaining Momentum" in page
    assert "Room was warm" in page
    note = next(a for a in teacher.get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"]
                if a["body"] == "Room was warm")
    assert teacher.post(f"/api/v1/annotations/{note['id']}/hide").status_code == 200
    assert "Room was warm" not in client.get(f"/lessons/{lesson.id}/feedback").get_data(as_text=True)

    stranger_user = make_user()
    with app.app_context():  # a fresh `g`, so the mentor's sign-in is not reused
        stranger = browser_client(stranger_user)
        assert stranger.get(f"/lessons/{lesson.id}/feedback").status_code == 404
