"""The mentoring API end to end: goals and evidence, cycles with self-review first, the journal's privacy,
notifications; bad input answers the contract's error shape with nothing half-saved."""

import pytest
from sqlalchemy import func, select

from obsapp.extensions import db
from obsapp.frameworks.models import Criterion, Framework
from obsapp.mentoring.models import Goal, JournalEntry, ObservationCycle


def criterion(code):
    return db.session.execute(select(Criterion).join(Framework).where(Framework.slug == "stp",
                                                                      Criterion.code == code)).scalar_one()


@pytest.fixture
def pair(make_user, make_mentorship, make_lesson, api_as):
    mentor, mentee = make_user(name="Mentor"), make_user(name="Mentee")
    make_mentorship(mentor, mentee)
    outsider, admin = make_user(name="Outsider"), make_user(name="Admin", admin=True)
    lesson = make_lesson(mentee, title="Fractions", status="ready", duration_ms=60_000)
    return {"mentor": mentor, "mentee": mentee, "lesson": lesson, "outsider": outsider,
            "api": {name: api_as(user) for name, user in
                    [("mentor", mentor), ("mentee", mentee), ("outsider", outsider), ("admin", admin)]}}


def error_code(response):
    return response.json["error"]["code"]


def test_goal_with_criteria_evidence_in_time_order(pair):
    api, lesson = pair["api"], pair["lesson"]
    cid = criterion("LE.8").id
    made = api["mentor"].post("/api/v1/goals", json={"teacher_id": pair["mentee"].id, "title": "Deeper questions",
                                                     "criterion_ids": [cid], "success": "Half my questions probe",
                                                     "target_date": "2027-03-01"})
    assert made.status_code == 201, made.json
    goal = made.json
    assert goal["status"] == "active" and goal["criteria"][0]["id"] == cid and goal["target_date"] == "2027-03-01"
    url = f"/api/v1/goals/{goal['id']}"
    entry = api["mentee"].post("/api/v1/journal", json={"body": "Tried wait time", "goal_id": goal["id"]}).json
    assert api["mentee"].post(f"{url}/evidence", json={"lesson_id": lesson.id}).status_code == 201
    assert api["mentee"].post(f"{url}/evidence", json={"journal_entry_id": entry["id"]}).status_code == 201
    again = api["mentee"].post(f"{url}/evidence", json={"lesson_id": lesson.id})
    assert again.status_code == 409 and error_code(again) == "conflict"
    both = api["mentee"].post(f"{url}/evidence", json={"lesson_id": lesson.id, "journal_entry_id": entry["id"]})
    assert both.status_code == 422
    evidence = api["mentee"].get(url).json["evidence"]
    assert [e["kind"] for e in evidence] == ["lesson", "journal_entry"]  # the lesson came first
    # the mentor does not see the private journal entry among the evidence
    assert [e["kind"] for e in api["mentor"].get(url).json["evidence"]] == ["lesson"]
    done = api["mentee"].patch(url, json={"status": "achieved"})
    assert done.status_code == 200 and done.json["status"] == "achieved"
    assert api["mentee"].patch(url, json={"status": "finished"}).status_code == 422
    listed = api["mentor"].get(f"/api/v1/goals?teacher_id={pair['mentee'].id}").json["items"]
    assert [g["id"] for g in listed] == [goal["id"]]


def test_goals_are_for_the_teacher_and_active_mentors_only(pair, make_user, make_mentorship, api_as):
    api = pair["api"]
    goal = api["mentee"].post("/api/v1/goals", json={"title": "Mine"}).json
    url = f"/api/v1/goals/{goal['id']}"
    absent = api["mentee"].get("/api/v1/goals/999999")
    for who in ("outsider", "admin"):
        response = api[who].get(url)
        assert response.status_code == 404 and response.json == absent.json
        assert api[who].patch(url, json={"title": "x"}).status_code == 404
        assert api[who].get(f"/api/v1/goals?teacher_id={pair['mentee'].id}").json["items"] == []
        assert api[who].post("/api/v1/goals", json={"teacher_id": pair["mentee"].id, "title": "x"}).status_code == 404
    # an ex-mentor loses them
    from obsapp.accounts import services
    ex = make_user()
    services.end_mentorship(None, make_mentorship(ex, pair["mentee"]))
    db.session.commit()
    assert api_as(ex).get(url).status_code == 404


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "   "}, {"title": "x" * 201},
                                  {"title": "ok", "criterion_ids": [999999]}, {"title": "ok", "target_date": "soon"},
                                  {"title": "ok", "unknown": 1}, {"title": "ok", "teacher_id": 999999}])
def test_bad_goals_are_refused_and_nothing_saved(pair, body):
    before = db.session.execute(select(func.count()).select_from(Goal)).scalar_one()
    response = pair["api"]["mentee"].post("/api/v1/goals", json=body)
    assert response.status_code in (404, 422) and "message" in response.json["error"]
    assert db.session.execute(select(func.count()).select_from(Goal)).scalar_one() == before


def test_cycle_self_review_first_hides_then_reveals(pair):
    api, lesson = pair["api"], pair["lesson"]
    goal = api["mentee"].post("/api/v1/goals", json={"title": "Check understanding"}).json
    created = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id, "focus": "Questioning",
                                                         "look_fors": "Wait time", "goal_ids": [goal["id"]],
                                                         "blind_mentor": True})
    assert created.status_code == 201, created.json
    cycle = created.json
    assert cycle["status"] == "planned" and cycle["stage"] == "waiting for recording" and cycle["self_review_first"]
    url = f"/api/v1/cycles/{cycle['id']}"
    assert api["mentor"].post(f"{url}/review-done").status_code == 409  # no lesson yet
    linked = api["mentee"].patch(url, json={"lesson_id": lesson.id})
    assert linked.json["status"] == "observed" and linked.json["stage"] == "reflection due"
    notes = f"/api/v1/lessons/{lesson.id}/annotations"
    mine = api["mentee"].post(notes, json={"start_ms": 1000, "kind": "strength", "body": "My opener"}).json
    theirs = api["mentor"].post(notes, json={"start_ms": 2000, "kind": "growth", "body": "Wait longer"}).json
    seen_by = {who: {a["id"] for a in api[who].get(notes).json["items"]} for who in ("mentee", "mentor")}
    assert seen_by == {"mentee": {mine["id"]}, "mentor": {theirs["id"]}}  # each sees only their own
    assert api["mentee"].get(f"/api/v1/annotations/{theirs['id']}").status_code == 404
    # no "new feedback" for the mentee while it is held back
    titles = [n["title"] for n in api["mentee"].get("/api/v1/notifications").json["items"]]
    assert not any("New feedback" in t for t in titles)

    assert api["mentor"].post(f"{url}/review-done").json["stage"] == "reflection due"
    assert {a["id"] for a in api["mentee"].get(notes).json["items"]} == {mine["id"]}
    done = api["mentee"].post(f"{url}/review-done").json
    assert done["status"] == "reviewed" and done["revealed"] and done["stage"] == "post-conference due"
    for who in ("mentee", "mentor"):
        assert {a["id"] for a in api[who].get(notes).json["items"]} == {mine["id"], theirs["id"]}
    kinds = {n["kind"] for n in api["mentee"].get("/api/v1/notifications").json["items"]}
    assert {"feedback", "cycle"} <= kinds

    step = api["mentor"].post(f"{url}/next-steps", json={"text": "Use exit tickets", "as_goal": True,
                                                         "criterion_ids": [criterion("LE.8").id]})
    assert step.status_code == 201 and step.json["goal_id"]
    new_goal = api["mentee"].get(f"/api/v1/goals/{step.json['goal_id']}").json
    assert new_goal["title"] == "Use exit tickets" and new_goal["teacher"]["id"] == pair["mentee"].id
    assert api["mentor"].patch(url, json={"went_well": "Clear routines", "status": "closed"}).json["status"] == "closed"
    assert api["mentor"].patch(url, json={"focus": "x"}).status_code == 409


def test_cycles_follow_the_mentorship(pair):
    api = pair["api"]
    cycle = api["mentee"].post("/api/v1/cycles", json={"mentor_id": pair["mentor"].id}).json
    url = f"/api/v1/cycles/{cycle['id']}"
    absent = api["mentor"].get("/api/v1/cycles/999999").json
    for who in ("outsider", "admin"):
        assert api[who].get(url).status_code == 404 and api[who].get(url).json == absent
        assert api[who].patch(url, json={"focus": "x"}).status_code == 404
        assert api[who].get("/api/v1/cycles").json["items"] == []
    bad = api["outsider"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id})
    assert bad.status_code == 404
    other = api["mentee"].patch(url, json={"lesson_id": 999999})
    assert other.status_code == 404 and api["mentee"].get(url).json["lesson_id"] is None
    from obsapp.accounts import services
    from obsapp.accounts.models import Mentorship
    services.end_mentorship(None, db.session.execute(select(Mentorship)).scalars().first())
    db.session.commit()
    assert api["mentor"].get(url).status_code == 404  # closed for the ex-mentor
    assert api["mentee"].get(url).status_code == 200  # history kept for the mentee ...
    assert api["mentee"].patch(url, json={"focus": "x"}).status_code == 403  # ... read-only
    assert db.session.get(ObservationCycle, cycle["id"]).focus == ""


def test_journal_private_shared_replies_and_search(pair):
    api = pair["api"]
    entry = api["mentee"].post("/api/v1/journal", json={"body": "Group work *collapsed* today",
                                                        "lesson_id": pair["lesson"].id, "t_ms": 42_000})
    assert entry.status_code == 201 and entry.json["visibility"] == "private"
    assert "<em>collapsed</em>" in entry.json["body_html"]
    url = f"/api/v1/journal/{entry.json['id']}"
    absent = api["mentee"].get("/api/v1/journal/999999").json
    for who in ("mentor", "outsider", "admin"):
        assert api[who].get(url).status_code == 404 and api[who].get(url).json == absent
        assert api[who].post(f"{url}/replies", json={"body": "hi"}).status_code == 404
    assert api["mentor"].get("/api/v1/journal").json["items"] == []
    shared = api["mentee"].patch(url, json={"visibility": "mentors"})
    assert shared.json["visibility"] == "mentors"
    notes = api["mentor"].get("/api/v1/notifications").json["items"]
    assert notes[0]["kind"] == "journal" and notes[0]["url"] == f"/journal/{entry.json['id']}"
    assert "collapsed" not in notes[0]["title"]  # a title only, never the words
    assert api["mentor"].get(url).status_code == 200
    assert api["mentor"].patch(url, json={"visibility": "private"}).status_code == 403
    for who in ("outsider", "admin"):
        assert api[who].get(url).status_code == 404
    reply = api["mentor"].post(f"{url}/replies", json={"body": "What did you try?"})
    assert reply.status_code == 201
    assert [r["body"] for r in api["mentee"].get(f"{url}/replies").json["items"]] == ["What did you try?"]
    assert api["mentee"].get("/api/v1/notifications?unread=true").json["items"][0]["kind"] == "reply"
    assert [e["id"] for e in api["mentee"].get("/api/v1/journal?q=COLLAPSED").json["items"]] == [entry.json["id"]]
    assert api["mentee"].get("/api/v1/journal?q=100%25").json["items"] == []
    for bad in ({"body": ""}, {"body": "x", "t_ms": 5}, {"body": "x", "goal_id": 999999}, {"body": "x", "t_ms": -1,
                                                                                             "lesson_id": 1}):
        before = db.session.execute(select(func.count()).select_from(JournalEntry)).scalar_one()
        assert api["mentee"].post("/api/v1/journal", json=bad).status_code in (404, 422)
        assert db.session.execute(select(func.count()).select_from(JournalEntry)).scalar_one() == before


def test_notifications_feedback_reply_clip_mark_read_settings(pair, api_as):
    api, lesson = pair["api"], pair["lesson"]
    notes = f"/api/v1/lessons/{lesson.id}/annotations"
    annotation = api["mentor"].post(notes, json={"start_ms": 3000, "kind": "strength", "body": "Secret words"}).json
    api["mentor"].post(notes, json={"start_ms": 3000, "kind": "note", "body": "to self", "visibility": "private"})
    api["mentee"].post(notes, json={"start_ms": 4000, "kind": "note", "body": "my own"})
    items = api["mentee"].get("/api/v1/notifications").json["items"]
    assert [(n["kind"], n["read"]) for n in items] == [("feedback", False)]
    assert set(items[0]) >= {"id", "kind", "title", "url", "read"} and "Secret" not in items[0]["title"]
    assert items[0]["url"] == f"/lessons/{lesson.id}#t=3"
    api["mentee"].post(f"/api/v1/annotations/{annotation['id']}/replies", json={"body": "Thanks"})
    assert api["mentor"].get("/api/v1/notifications").json["items"][0]["kind"] == "reply"
    assert api["mentee"].get("/api/v1/notifications/unread-count").json == {"unread": 1}
    other = api["outsider"].post(f"/api/v1/notifications/{items[0]['id']}/read")
    assert other.status_code == 404
    read = api["mentee"].post(f"/api/v1/notifications/{items[0]['id']}/read")
    assert read.status_code == 200 and read.json["read"] is True
    assert api["mentee"].get("/api/v1/notifications/unread-count").json == {"unread": 0}
    assert api["mentee"].get("/api/v1/notifications/settings").json["email"]["feedback"] == "off"
    changed = api["mentee"].put("/api/v1/notifications/settings", json={"email": {"feedback": "digest"}}) \
        if hasattr(api["mentee"], "put") else api["mentee"].request("PUT", "/api/v1/notifications/settings",
                                                                    json={"email": {"feedback": "digest"}})
    assert changed.status_code == 200 and changed.json["email"]["feedback"] == "digest"
    bad = api["mentee"].request("PUT", "/api/v1/notifications/settings", json={"email": {"feedback": "hourly"}})
    assert bad.status_code == 422


def test_reflection_prompts_are_the_admins_to_edit(pair):
    api = pair["api"]
    assert api["mentee"].get("/api/v1/reflection-prompts").json["prompts"][0] == "What went well?"
    assert api["mentee"].request("PUT", "/api/v1/reflection-prompts", json={"prompts": ["x"]}).status_code == 403
    changed = api["admin"].request("PUT", "/api/v1/reflection-prompts",
                                   json={"prompts": ["What surprised you?", "  ", "Which pupil will you watch next?"]})
    assert changed.status_code == 200 and changed.json["prompts"] == ["What surprised you?",
                                                                       "Which pupil will you watch next?"]
    assert api["mentee"].get("/api/v1/reflection-prompts").json == changed.json
    too_many = api["admin"].request("PUT", "/api/v1/reflection-prompts", json={"prompts": ["q"] * 21})
    assert too_many.status_code == 422
    assert api["mentee"].get("/api/v1/reflection-prompts").json == changed.json
    reset = api["admin"].request("PUT", "/api/v1/reflection-prompts", json={"prompts": []})
    assert reset.json["prompts"][0] == "What went well?"
