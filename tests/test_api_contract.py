"""The API's shape: the error body for every kind of error, OpenAPI generated from code, health."""

import pytest

from obsapp.errors import PUBLIC_OPERATIONS


def _is_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_malformed_json_is_400_with_the_error_shape(api_as, make_user):
    api = api_as(make_user())
    response = api.post("/api/v1/lessons", data="{not json", headers={"Content-Type": "application/json"})
    _is_error(response, 400, "invalid_json")


def test_wrong_types_are_422_with_fields(api_as, make_user):
    api = api_as(make_user())
    error = _is_error(api.post("/api/v1/lessons", json={"title": 5}), 422, "invalid_input")
    assert "title" in error["fields"]
    _is_error(api.post("/api/v1/lessons", json=["a", "list"]), 422)
    _is_error(api.post("/api/v1/lessons", json={"title": ""}), 422)
    _is_error(api.post("/api/v1/lessons", json={"title": "x", "unknown": 1}), 422)


def test_404_405_401_shapes(app, api_as, make_user):
    api = api_as(make_user())
    _is_error(api.get("/api/v1/no-such-thing"), 404, "not_found")
    _is_error(api.get("/api/v1/lessons/999999"), 404, "not_found")
    error = api.request("PUT", "/api/v1/me")
    _is_error(error, 405, "method_not_allowed")
    _is_error(app.test_client().get("/api/v1/me"), 401, "unauthorized")


def test_413_for_an_oversized_json_body(api_as, make_user):
    api = api_as(make_user())
    response = api.post("/api/v1/lessons", data=b"{" + b" " * (17 * 1024 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    _is_error(response, 413, "too_large")


def test_500_is_the_error_shape_without_a_traceback(app, api_as, make_user, monkeypatch):
    from obsapp.accounts import api as accounts_api

    def explode(user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(accounts_api, "me_payload", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = api_as(make_user()).get("/api/v1/me")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    error = _is_error(response, 500, "internal_error")
    assert "secret internals" not in error["message"] and "Traceback" not in response.get_data(as_text=True)


def test_html_pages_get_html_errors(browser_client, make_user):
    client = browser_client(make_user())
    response = client.get("/lessons/424242")
    assert response.status_code == 404 and "text/html" in response.content_type
    assert "find that page" in response.get_data(as_text=True)


def test_openapi_document_is_generated_and_public(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/auth/login", "/api/v1/me", "/api/v1/lessons", "/api/v1/lessons/{lesson_id}",
                 "/api/v1/mentorships", "/api/v1/tokens", "/api/v1/jobs/{job_id}",
                 "/api/v1/lessons/{lesson_id}/shares"]:
        assert path in spec["paths"], path
    assert "ErrorSchema" in str(spec["components"]) or "Error" in str(spec["components"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"/api/v1/docs/assets/swagger-ui-bundle.js" in docs.data
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000  # served locally, no CDN


def test_healthz(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_healthz_reports_an_unusable_media_store(app, tmp_path):
    from obsapp.storage import MediaStore

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    original = app.extensions["obsapp.media_store"]
    app.extensions["obsapp.media_store"] = MediaStore(blocker)
    try:
        response = app.test_client().get("/healthz")
    finally:
        app.extensions["obsapp.media_store"] = original
    assert response.status_code == 503 and "media store" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/lessons?page=0", "/api/v1/lessons?per_page=100000",
                                  "/api/v1/lessons?per_page=501", "/api/v1/lessons?per_page=0",
                                  "/api/v1/lessons?page=1000001", "/api/v1/lessons?page=abc",
                                  "/api/v1/lessons?scope=everything", "/api/v1/clips?for=me&per_page=501",
                                  "/api/v1/lessons/1/annotations?per_page=100000"])
def test_bad_query_strings_are_422(api_as, make_user, make_lesson, path):
    user = make_user()
    make_lesson(user)
    _is_error(api_as(user).get(path), 422, "invalid_input")


def test_per_page_500_is_the_largest_page(api_as, make_user, make_lesson):
    user = make_user()
    make_lesson(user)
    response = api_as(user).get("/api/v1/lessons?per_page=500")
    assert response.status_code == 200 and len(response.get_json()["items"]) == 1


HUGE = "120067339146781496705024"  # beyond 64 bits: SQLite's integer overflowed on it (500) before the converter


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/api/v1/annotations/{HUGE}"), ("PATCH", f"/api/v1/annotations/{HUGE}"),
    ("DELETE", f"/api/v1/annotations/{HUGE}"), ("GET", f"/api/v1/lessons/{HUGE}"),
    ("PUT", f"/api/v1/lessons/{HUGE}/frameworks"), ("PATCH", f"/api/v1/frameworks/{HUGE}"),
    ("DELETE", f"/api/v1/lessons/1/shares/{HUGE}"), ("GET", f"/api/v1/jobs/{HUGE}"),
    ("GET", "/api/v1/lessons/2147483648"), ("PUT", "/api/v1/lessons/2147483648/frameworks"),
    ("GET", "/api/v1/lessons/2147483647"),
])
def test_an_id_beyond_the_database_is_absent(api_as, make_user, make_lesson, method, path):
    """404 whatever the method: not a 500 (overflow), nor a 405 from a route beside it for another method."""
    user = make_user()
    make_lesson(user)
    _is_error(api_as(user).request(method, path, json={"framework_ids": None}), 404, "not_found")


def test_an_id_beyond_the_database_on_a_page_is_an_html_404(browser_client, make_user):
    response = browser_client(make_user()).get(f"/lessons/{HUGE}")
    assert response.status_code == 404 and "text/html" in response.content_type


@pytest.mark.parametrize(("path", "field"), [
    (f"/api/v1/clips?lesson_id={HUGE}", "lesson_id"),
    (f"/api/v1/lessons/1/annotations?author_id={HUGE}", "author_id"),
    (f"/api/v1/lessons/1/annotations?criterion_id={HUGE}", "criterion_id"),
    (f"/api/v1/lessons/1/annotations?from_ms={HUGE}", "from_ms"),
    (f"/api/v1/lessons/1/frame?t_ms={HUGE}", "t_ms"),
])
def test_integers_in_query_strings_are_bounded(api_as, make_user, make_lesson, path, field):
    user = make_user()
    lesson = make_lesson(user, status="ready", duration_ms=60_000)
    error = _is_error(api_as(user).get(path.replace("/lessons/1/", f"/lessons/{lesson.id}/")), 422, "invalid_input")
    assert field in error["fields"]


def test_integers_in_bodies_are_bounded(api_as, make_user, make_lesson):
    user = make_user()
    lesson = make_lesson(user, status="ready", duration_ms=60_000)
    api = api_as(user)
    error = _is_error(api.post(f"/api/v1/lessons/{lesson.id}/shares", json={"user_id": int(HUGE)}), 422)
    assert "user_id" in error["fields"]
    error = _is_error(api.post(f"/api/v1/lessons/{lesson.id}/annotations",
                               json={"start_ms": 2**63, "kind": "note", "body": "x"}), 422)
    assert "start_ms" in error["fields"]
    error = _is_error(api.post("/api/v1/reels", json={"title": "R", "clip_ids": [2**40]}), 422)
    assert "clip_ids" in error["fields"]


@pytest.mark.parametrize("body", [{"email": [None, None]}, {"email": {"a": 1}, "password": "x"},
                                  {"email": 5, "password": "x"}, [1, 2]])
def test_sign_in_with_a_body_of_the_wrong_shape_is_422(app, body):
    _is_error(app.test_client().post("/api/v1/auth/login", json=body), 422, "invalid_input")


def test_booleans_in_bodies_are_json_booleans(api_as, make_user, make_lesson):
    user = make_user()
    lesson = make_lesson(user)
    api = api_as(user)
    error = _is_error(api.patch(f"/api/v1/lessons/{lesson.id}", json={"blur_faces_default": 1}), 422)
    assert "blur_faces_default" in error["fields"]
    response = api.patch(f"/api/v1/lessons/{lesson.id}", json={"blur_faces_default": True})
    assert response.status_code == 200 and response.get_json()["blur_faces_default"] is True


def test_every_operation_declares_its_errors_and_its_auth(app):
    """No catch-all `default`: each operation lists the statuses it answers, errors in the error shape."""
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "sessionCookie"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" not in responses, (method, path)
            if method == "options" or (method, path) in PUBLIC_OPERATIONS:  # sign-in, password reset, invites
                assert operation["security"] == [], (method, path)
                continue
            assert "401" in responses and operation["security"], (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400 and "$ref" not in response:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}, (method, path, status)
    assert ("post", "/api/v1/auth/login") in PUBLIC_OPERATIONS
    login = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert {"200", "400", "401", "422", "429"} <= set(login)
    annotation_id = spec["paths"]["/api/v1/annotations/{annotation_id}"]["parameters"][0]["schema"]
    assert annotation_id == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    per_page = next(p for p in spec["paths"]["/api/v1/lessons"]["get"]["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["minimum"] == 1 and per_page["schema"]["maximum"] == 500


def test_lists_are_paged_with_next_links(api_as, make_user, make_lesson):
    user = make_user()
    for n in range(5):
        make_lesson(user, title=f"L{n}")
    api = api_as(user)
    first = api.get("/api/v1/lessons?per_page=2").get_json()
    assert len(first["items"]) == 2 and first["next"]
    seen = [i["title"] for i in first["items"]]
    url = first["next"]
    while url:
        page = api.get(url).get_json()
        seen += [i["title"] for i in page["items"]]
        url = page["next"]
    assert sorted(seen) == [f"L{n}" for n in range(5)]
