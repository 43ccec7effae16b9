"""The field-by-field framework builder (admin pages), without JavaScript: every change is a submit button that
sends the whole form, so these requests are what a keyboard user without scripts does."""

import html
import re

from obsapp.extensions import db
from obsapp.frameworks.models import Framework


def _form(client, url, **extra) -> dict:
    """The builder form's fields as the page shows them (inputs and textareas), changed by ``extra``."""
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return _fields(page.get_data(as_text=True), **extra)


def _fields(text: str, **extra) -> dict:
    data = {}
    for tag in re.findall(r"<input [^>]*>", text):
        name = re.search(r'name="([^"]+)"', tag)
        if name and 'type="submit"' not in tag:
            value = re.search(r'value="([^"]*)"', tag)
            data[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', text, re.S):
        data[name] = html.unescape(value)
    data.pop("document", None)
    data.pop("csrf_token", None)  # signed with the time: _post sends the client's own
    data.update({k.replace("__", "-"): v for k, v in extra.items()})
    return data


def _post(client, url, data, op):
    return client.post(url, data={**data, "csrf_token": client.csrf, "op": op})


def test_admin_builds_a_framework_field_by_field(browser_client, make_user):
    client = browser_client(make_user(admin=True))
    url = "/admin/frameworks/new"
    data = _form(client, url, name="Our rubric", slug="our-rubric", p0__code="P1", p0__name="Planning",
                 p0__c0__code="P1.1", p0__c0__name="Objectives", p0__c0__hotkey="Q")
    added = _post(client, url, data, "add-process")
    assert added.status_code == 200
    text = added.get_data(as_text=True)
    assert 'id="f-p1-code"' in text and re.search(r'id="f-p1-code"[^>]*autofocus', text)
    assert "Added process 2." in text
    data = _fields(text, p1__code="P2", p1__name="Enactment")
    text = _post(client, url, data, "add-criterion-1").get_data(as_text=True)
    data = _fields(text, p1__c0__code="P2.1", p1__c0__name="Questions", p1__c0__description="Probing")
    text = _post(client, url, data, "add-criterion-1").get_data(as_text=True)
    data = _fields(text, p1__c0__code="P2.1", p1__c1__code="P2.2", p1__c1__name="Pacing", p1__c1__hotkey="2")
    moved = _post(client, url, data, "up-criterion-1-1").get_data(as_text=True)
    assert "Moved criterion P2.2 Pacing to place 1 in process 2." in moved
    assert re.search(r'id="down-criterion-1-0"[^>]*autofocus', moved)  # focus stays on the moved one's button
    data = _fields(moved)
    assert data["p1-c0-code"] == "P2.2" and data["p1-c1-code"] == "P2.1"
    saved = _post(client, url, data, "save")
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    framework = db.session.query(Framework).filter_by(slug="our-rubric").one()
    assert [(c.code, c.hotkey, c.parent_id is None) for c in framework.criteria] == [
        ("P1", None, True), ("P1.1", "q", False), ("P2", None, True), ("P2.2", "2", False), ("P2.1", None, False)]
    assert next(c for c in framework.criteria if c.code == "P2.1").description == "Probing"


def test_problems_are_shown_by_field_and_nothing_is_saved(browser_client, make_user):
    client = browser_client(make_user(admin=True))
    url = "/admin/frameworks/new"
    data = _form(client, url, name="", slug="Bad Slug", p0__code="X", p0__name="One", p0__c0__code="X",
                 p0__c0__name="", p0__c0__hotkey="a")
    response = _post(client, url, data, "save")
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "Give the framework a name." in text
    assert "Use lowercase letters, digits and dashes" in text
    assert "The code X is already used by process 1." in text
    assert "Give criterion 1 of process 1 a name." in text
    assert "taken by the player" in text  # the one rule (services.hotkey_problem), its message
    assert re.search(r'id="f-p0-c0-hotkey"[^>]*aria-describedby="err-p0-c0-hotkey"', text)
    assert db.session.query(Framework).filter_by(slug="bad-slug").count() == 0
    checked = client.post(url, data={**data, "csrf_token": client.csrf, "op": "check"},
                          headers={"Accept": "application/json"})
    assert checked.status_code == 200 and checked.json["problems"]["p0-c0-hotkey"].startswith("Hotkey 'a'")
    assert "<code>X</code>" in checked.json["preview"]
    for key, refused in (("?", True), ("j", True), (" ", True), ("", False), ("Q", False)):
        data["p0-c0-hotkey"] = key
        problems = client.post(url, data={**data, "csrf_token": client.csrf, "op": "check"},
                               headers={"Accept": "application/json"}).json["problems"]
        assert ("p0-c0-hotkey" in problems) == refused, (key, problems)
        if key in ("?", " "):
            assert "Space, the arrow keys and ? stay with the page" in problems["p0-c0-hotkey"]


def test_editing_makes_a_new_version_and_tagged_criteria_stay(browser_client, api_as, make_user, make_lesson):
    admin = make_user(admin=True)
    client = browser_client(admin)
    ros = db.session.query(Framework).filter_by(slug="rosenshine", retired_at=None).one()
    lesson = make_lesson(admin, status="ready", duration_ms=60_000)
    r4 = next(c for c in ros.criteria if c.code == "R4")
    made = api_as(admin).post(f"/api/v1/lessons/{lesson.id}/annotations",
                              json={"start_ms": 0, "body": "Worked example", "kind": "strength",
                                    "criterion_ids": [r4.id]})
    assert made.status_code == 201, made.json
    url = f"/admin/frameworks/{ros.id}/build"
    data = _form(client, url)
    assert data["p3-code"] == "R4" and data["p0-hotkey"] == "1"
    removed = _post(client, url, data, "remove-process-3").get_data(as_text=True)
    assert "It tags" not in removed and "Its criteria tag 1 annotations or goals" in removed
    saved = _post(client, url, _fields(removed, name="Rosenshine (ours)"), "save")
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    new = db.session.query(Framework).filter_by(slug="rosenshine", retired_at=None).one()
    assert new.version == ros.version + 1 and new.name == "Rosenshine (ours)"
    assert [c.code for c in new.criteria] == ["R1", "R2", "R3", "R5", "R6", "R7", "R8", "R9", "R10"]
    assert db.session.get(Framework, ros.id).retired_at is not None
    kept = api_as(admin).get(f"/api/v1/annotations/{made.json['id']}").json
    assert kept["criterion_ids"] == [r4.id] or [c["id"] for c in kept.get("criteria", [])] == [r4.id]
    stale = _post(client, url, data, "save")  # the old version can't be saved over again
    assert stale.status_code == 422 and "not the current version" in html.unescape(stale.get_data(as_text=True))


def test_only_admins_reach_the_builder(browser_client, make_user):
    client = browser_client(make_user())
    assert client.get("/admin/frameworks/new").status_code == 403
    assert client.post("/admin/frameworks/new", data={"csrf_token": client.csrf, "op": "save"}).status_code == 403


def test_unknown_or_out_of_range_changes_leave_the_draft_as_it_was(browser_client, make_user):
    client = browser_client(make_user(admin=True))
    url = "/admin/frameworks/new"
    data = _form(client, url, name="Draft", slug="draft-rubric", p0__code="D", p0__name="Doing")
    for op in ("remove-process-7", "up-criterion--1-0", "down-criterion-0-9", "add-criterion-x", "explode", "up-process-0"):
        response = _post(client, url, data, op)
        assert response.status_code == 200, op
        assert _fields(response.get_data(as_text=True)) == data, op
    assert db.session.query(Framework).filter_by(slug="draft-rubric").count() == 0
