"""The API's shape: the error body for every kind of error, OpenAPI generated from code, health."""

import pytest


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
                                  "/api/v1/lessons?page=abc", "/api/v1/lessons?scope=everything"])
def test_bad_query_strings_are_client_errors(api_as, make_user, path):
    response = api_as(make_user()).get(path)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_input"


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
