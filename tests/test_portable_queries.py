"""Queries that must answer the same on SQLite and PostgreSQL (make test runs both): searches ignore case and take
% and _ literally; lists with equal sort keys keep a stable order (ties broken by id, never insertion order)."""

from __future__ import annotations

from datetime import UTC, datetime

from obsapp.extensions import db


def test_people_search_ignores_case_and_takes_wildcards_literally(api_as, make_user):
    searcher = make_user(name="Searcher")
    make_user(name="Mei LING Tan", email="mei.tan@school.test")
    make_user(name="Hundred Percent 100%", email="pct@school.test")
    make_user(name="Under_Score", email="under@school.test")
    api = api_as(searcher)

    def names(q):
        response = api.get("/api/v1/users", query_string={"q": q})
        assert response.status_code == 200, response.json
        return sorted(person["name"] for person in response.json["items"])

    assert names("ling") == names("LING") == names("Mei.Tan@SCHOOL") == ["Mei LING Tan"]
    assert names("100%") == ["Hundred Percent 100%"]
    assert names("%") == ["Hundred Percent 100%"]  # not "everyone"
    assert names("r_s") == ["Under_Score"] and names("_") == ["Under_Score"]


def test_annotation_search_ignores_case_and_takes_wildcards_literally(api_as, make_user, make_lesson):
    owner = make_user()
    api = api_as(owner)
    lesson = make_lesson(owner, status="ready", duration_ms=60_000)
    for n, body in enumerate(["Great QUESTIONING", "50% of pupils answered", "wait_time was short"]):
        assert api.post(f"/api/v1/lessons/{lesson.id}/annotations",
                        json={"start_ms": 1000 * n, "kind": "note", "body": body}).status_code == 201

    def bodies(q):
        return [a["body"] for a in api.get(f"/api/v1/lessons/{lesson.id}/annotations",
                                             query_string={"q": q}).json["items"]]

    assert bodies("questioning") == ["Great QUESTIONING"]
    assert bodies("%") == ["50% of pupils answered"]
    assert bodies("_") == ["wait_time was short"]


def test_equal_sort_keys_are_ordered_by_id(api_as, make_user):
    from obsapp.accounts.models import ApiToken
    from obsapp.accounts.services import create_token

    person = make_user()
    for n in range(4):
        create_token(None, person, f"device {n}")
    same_time = datetime(2026, 1, 1, tzinfo=UTC)
    for token in db.session.query(ApiToken).filter_by(user_id=person.id):
        token.created_at = same_time
    db.session.commit()
    listed = api_as(person).get("/api/v1/tokens").json["items"]  # newest first: equal times, newest id first
    devices = [token["name"] for token in listed if token["name"].startswith("device")]
    assert devices == ["device 3", "device 2", "device 1", "device 0"]
    twins = [make_user(name="Twin Name") for _ in range(3)]
    found = api_as(person).get("/api/v1/users", query_string={"q": "twin name"}).json["items"]
    assert [p["id"] for p in found] == [t.id for t in twins]
