"""Security headers: the Content-Security-Policy and the usual hardening headers, on pages and API answers."""

from __future__ import annotations

import re

import pytest


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json", "/api/v1/docs", "/healthz", "/no-such-page"])
def test_every_answer_carries_the_policy_and_the_hardening_headers(app, path):
    response = app.test_client().get(path)
    csp = directives(response.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval, no other origin
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'", "ws://localhost"]  # Socket.IO's WebSocket on this host only
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["media-src"] == ["'self'", "blob:"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "microphone=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_https_adds_hsts_and_names_the_secure_websocket(app):
    response = app.test_client().get("/login", base_url="https://obs.school.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert directives(response.headers["Content-Security-Policy"])["connect-src"] == ["'self'", "wss://obs.school.test"]


def test_no_template_has_inline_script_or_event_handlers():
    """Pages start from one module each; data reaches it as JSON blocks or data-* attributes."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "obsapp"
    templates = [p for p in root.rglob("*.html") if "templates" in p.parts]
    assert len(templates) > 10
    for template in templates:
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert 'type="application/json"' in tag or ("src=" in tag), f"{template.name}: inline script {tag}"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: inline event handler"
        assert "javascript:" not in text, f"{template.name}: javascript: URL"


def test_the_api_docs_page_runs_its_script_from_a_file(app):
    page = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "js/pages/api-docs.js" in page
    assert re.search(r'<script type="application/json" id="swagger-config">\{.*"url": "/api/v1/openapi.json"', page)
