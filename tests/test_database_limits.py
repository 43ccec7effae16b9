"""Input is checked against the columns' own limits before it reaches the database: PostgreSQL enforces
VARCHAR(n), INTEGER and column types where SQLite stores anything, so what does not fit is a 422 on both, never a
500 (and YAML numbers or dates where text belongs are stored as their text). Runs on SQLite and, in make test's second run, PostgreSQL."""

from __future__ import annotations

from tests.frameworks.test_frameworks import SCHOOL, _post


def test_an_email_longer_than_the_column_is_refused(api_as, make_user):
    admin = api_as(make_user(admin=True))
    local = "a" * 64
    fits = f"{local}@{'b' * (254 - 64 - 1 - 5)}.test"
    assert len(fits) == 254
    created = admin.post("/api/v1/users", json={"email": fits, "name": "Long Address", "password": "pw-12345678"})
    assert created.status_code == 201, created.json
    too_long = "x" + fits
    refused = admin.post("/api/v1/users", json={"email": too_long, "name": "Longer", "password": "pw-12345678"})
    assert refused.status_code == 422 and refused.json["error"]["fields"]["email"] == ["At most 254 characters."]


def test_framework_names_codes_and_versions_must_fit(api_as, make_user):
    admin = api_as(make_user(admin=True))
    cases = [
        (SCHOOL.replace("name: Our school's focus areas", "name: " + "N" * 201), "name is longer than 200"),
        (SCHOOL.replace("code: F\n", "code: " + "F" * 41 + "\n"), "code is at most 40"),
        (SCHOOL.replace("name: Feedback", "name: " + "f" * 201), "name at most 200"),
        (SCHOOL.replace("version: 1", "version: 2147483648"), "version must be a whole number"),
        (SCHOOL.replace("version: 1", "version: first"), "version must be a whole number"),
    ]
    for text, expected in cases:
        response = _post(admin, text)
        assert response.status_code == 422, (expected, response.status_code, response.json)
        assert expected in response.json["error"]["message"], response.json["error"]["message"]
    at_the_limit = SCHOOL.replace("name: Our school's focus areas", "name: " + "N" * 200).replace(
        "code: F\n", "code: " + "F" * 40 + "\n")
    assert _post(admin, at_the_limit).status_code == 201


def test_framework_text_given_as_numbers_or_dates_is_stored_as_text(api_as, make_user):
    admin = api_as(make_user(admin=True))
    document = SCHOOL.replace("name: Our school's focus areas", "name: 2026\ndescription: 2026-01-31").replace(
        "name: Feedback", "name: 42")
    created = _post(admin, document)
    assert created.status_code == 201, created.json
    assert created.json["name"] == "2026" and created.json["description"] == "2026-01-31"
    assert created.json["criteria"][-1]["name"] == "42"


def test_text_with_a_nul_character_is_refused_not_a_server_error(api_as, make_user, make_lesson):
    """PostgreSQL's text cannot hold NUL (U+0000), which SQLite stores: it is invalid input on both, wherever it
    comes in (a body, a query, a sign-in)."""
    owner = make_user()
    api = api_as(owner)
    lesson = make_lesson(owner, status="ready", duration_ms=60_000)
    created = api.post(f"/api/v1/lessons/{lesson.id}/annotations",
                       json={"start_ms": 10, "kind": "note", "body": "before\u0000after"})
    assert created.status_code == 422, created.json
    assert created.json["error"]["code"] == "invalid_input" and "NUL" in created.json["error"]["message"]
    renamed = api.patch(f"/api/v1/lessons/{lesson.id}", json={"title": "a\u0000b"})
    assert renamed.status_code == 422, renamed.json
    assert api.get("/api/v1/users", query_string={"q": "x\u0000"}).status_code == 422
    signed_in = api_as(None).post("/api/v1/auth/login", json={"email": "x\u0000@school.test", "password": "p"})
    assert signed_in.status_code == 422
    # and nothing was stored
    assert api.get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"] == []
    assert api.get(f"/api/v1/lessons/{lesson.id}").json["title"] == "A lesson"
