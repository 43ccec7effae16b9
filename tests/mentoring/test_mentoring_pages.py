"""The mentoring pages through a signed-in browser session: suggested evidence on a goal page, bad form input
answered in words with nothing saved, the bell's count, and pages that are 404 to people who may not see them."""

import re

from flask import g
from sqlalchemy import func, select

from obsapp.extensions import db
from obsapp.mentoring.models import Goal, GoalEvidence
from tests.mentoring.test_mentoring_api import criterion, pair  # noqa: F401 - the fixture


def test_goal_page_suggests_tagged_feedback_and_adds_it(pair, browser_client):  # noqa: F811
    api, lesson = pair["api"], pair["lesson"]
    cid = criterion("LE.8").id
    goal = api["mentee"].post("/api/v1/goals", json={"title": "Probe deeper", "criterion_ids": [cid]}).json
    notes = f"/api/v1/lessons/{lesson.id}/annotations"
    tagged = api["mentor"].post(notes, json={"start_ms": 45_000, "kind": "growth", "body": "Ask why",
                                             "criterion_ids": [cid]}).json
    api["mentor"].post(notes, json={"start_ms": 1000, "kind": "strength", "body": "Untagged"})
    client = browser_client(pair["mentee"])
    page = client.get(f"/goals/{goal['id']}").get_data(as_text=True)
    suggested = re.search(r'aria-label="Suggested evidence">(.*?)</ul>', page, re.S).group(1)
    assert "Ask why" in suggested and "Untagged" not in suggested and "0:45" in suggested
    added = client.post(f"/goals/{goal['id']}", data={"csrf_token": client.csrf, "kind": "annotation",
                                                      "ref_id": tagged["id"]}, follow_redirects=True)
    assert "Evidence added." in added.get_data(as_text=True)
    evidence = api["mentee"].get(f"/api/v1/goals/{goal['id']}").json["evidence"]
    assert [(e["kind"], e["url"]) for e in evidence] == [("annotation", f"/lessons/{lesson.id}#t=45")]
    assert 'aria-label="Suggested evidence"' not in client.get(f"/goals/{goal['id']}").get_data(as_text=True)


def test_bad_form_input_is_said_in_words_and_nothing_saved(pair, browser_client):  # noqa: F811
    client = browser_client(pair["mentee"])
    before = db.session.execute(select(func.count()).select_from(Goal)).scalar_one()
    answer = client.post("/goals", data={"csrf_token": client.csrf, "title": "", "target_date": "2027-01-01"},
                         follow_redirects=True)
    assert answer.status_code == 200 and "title may not be empty." in answer.get_data(as_text=True)
    answer = client.post("/goals", data={"csrf_token": client.csrf, "title": "x", "target_date": "tomorrow"},
                         follow_redirects=True)
    assert answer.status_code == 400 and "YYYY-MM-DD" in answer.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Goal)).scalar_one() == before
    goal = pair["api"]["mentee"].post("/api/v1/goals", json={"title": "Mine"}).json
    answer = client.post(f"/goals/{goal['id']}", data={"csrf_token": client.csrf, "kind": "lesson",
                                                       "ref_id": "999999"}, follow_redirects=True)
    assert "No such lesson." in answer.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(GoalEvidence)).scalar_one() == 0


def _signed_in(browser_client, user):
    """Another person's session: the tests share one app context, whose ``g`` would keep the previous person's
    CSRF token (Flask-WTF caches it there)."""
    g.pop("csrf_token", None)
    return browser_client(user)


def test_pages_are_404_to_outsiders_and_the_bell_counts(pair, browser_client):  # noqa: F811
    api = pair["api"]
    goal = api["mentee"].post("/api/v1/goals", json={"title": "Mine"}).json
    entry = api["mentee"].post("/api/v1/journal", json={"body": "private words"}).json
    cycle = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id}).json
    outsider = _signed_in(browser_client, pair["outsider"])
    for url in (f"/goals/{goal['id']}", f"/journal/{entry['id']}", f"/cycles/{cycle['id']}",
                f"/growth/{pair['mentee'].id}"):
        assert outsider.get(url).status_code == 404, url
    mentee = _signed_in(browser_client, pair["mentee"])
    page = mentee.get("/mentoring").get_data(as_text=True)
    assert 'aria-label="Notifications, 1 unread"' in page  # the planned cycle
    first = api["mentee"].get("/api/v1/notifications").json["items"][0]["id"]
    opened = mentee.post(f"/notifications/{first}/open", data={"csrf_token": mentee.csrf})
    assert opened.status_code == 302 and opened.headers["Location"] == f"/cycles/{cycle['id']}"
    assert 'aria-label="Notifications, 0 unread"' in mentee.get("/mentoring").get_data(as_text=True)
    assert "private words" not in _signed_in(browser_client, pair["mentor"]).get("/journal").get_data(as_text=True)
