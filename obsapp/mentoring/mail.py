"""Email through SMTP (``OBSAPP_SMTP_URL``): one notice at once, or a daily digest, each with a one-click
unsubscribe link for its kind (RFC 8058). Emails carry short titles and links only: never video or feedback text."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from obsapp.mail import Mail, configured, deliver, public_url, smtp_settings

__all__ = ["Mail", "configured", "deliver", "public_url", "smtp_settings"]  # the generic parts, for notify.py

KIND_NAMES = {"feedback": "new feedback", "reply": "replies", "clip": "clips and reels sent to you",
              "journal": "journal entries shared with you", "cycle": "observation cycle steps",
              "model": "model lessons shared with you", "watch": "invitations to watch together",
              "retention": "lessons retention will soon delete"}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="obsapp.unsubscribe")


def unsubscribe_token(user_id: int, kind: str) -> str:
    return _serializer().dumps({"u": user_id, "k": kind})


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or data.get("k") not in KIND_NAMES:
        return None
    return data["u"], data["k"]


def unsubscribe_url(user_id: int, kind: str) -> str:
    return public_url(f"/notifications/unsubscribe/{unsubscribe_token(user_id, kind)}")
