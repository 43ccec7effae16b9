"""The API reference page (Swagger UI) works under the Content-Security-Policy: its start-up script is a
static file, and the page fixture fails the test on any CSP violation."""

import pytest

pytestmark = pytest.mark.browser


def test_the_api_reference_renders_without_inline_script(page, live_server):
    response = page.goto(live_server.url + "/api/v1/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_role("heading", name="obsapp").first.wait_for()
    page.locator(".opblock-tag", has_text="lessons").first.wait_for()
    assert page.errors == []
