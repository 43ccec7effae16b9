"""Security headers on every response: a Content-Security-Policy that allows scripts from this origin only
(no inline script, no eval), and the usual hardening headers. HSTS is sent only over HTTPS (behind a proxy,
set OBSAPP_TRUST_PROXY so that the forwarded scheme counts).

Pages keep to it by construction: every page loads one entry module from static/js/pages/, data reaches
scripts through ``<script type="application/json">`` blocks or ``data-*`` attributes, and no template has an
inline event handler. Styles may still be set inline (``style="--swatch: ..."`` in templates, element styles
set by scripts), hence ``'unsafe-inline'`` for styles only.
"""

from __future__ import annotations

from flask import Flask, Response, request

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb"))
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(host: str, secure: bool) -> str:
    """The policy for a page served to ``host``; Socket.IO's WebSocket is the one connection to name
    explicitly (``'self'`` covers it in current browsers, not in every browser a school has)."""
    socket_origin = f"{'wss' if secure else 'ws'}://{host}"
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data: blob:",
        "media-src": "'self' blob:",
        "font-src": "'self'",
        "connect-src": f"'self' {socket_origin}",
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host, request.is_secure))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
