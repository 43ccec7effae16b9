"""Email through SMTP (``OBSAPP_SMTP_URL``): one notice at once, or a daily digest, each with a one-click
unsubscribe link for its kind (RFC 8058). Emails carry short titles and links only: never video or feedback text."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

log = logging.getLogger(__name__)
KIND_NAMES = {"feedback": "new feedback", "reply": "replies", "clip": "clips and reels sent to you",
              "journal": "journal entries shared with you", "cycle": "observation cycle steps",
              "model": "model lessons shared with you"}


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    unsubscribe_url: str | None = None


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


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def unsubscribe_url(user_id: int, kind: str) -> str:
    return public_url(f"/notifications/unsubscribe/{unsubscribe_token(user_id, kind)}")


def configured() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def smtp_settings() -> dict:
    """``OBSAPP_SMTP_URL`` read into what deliver() needs (read inside the app, used after the commit)."""
    url = urlsplit(current_app.config["SMTP_URL"])
    scheme = url.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ValueError(f"OBSAPP_SMTP_URL: unknown scheme {scheme!r} (smtp, smtp+starttls or smtps)")
    return {"scheme": scheme, "host": url.hostname or "localhost",
            "port": url.port or (465 if scheme == "smtps" else 25),
            "user": unquote(url.username) if url.username else None,
            "password": unquote(url.password) if url.password else None,
            "sender": current_app.config["MAIL_FROM"]}


def deliver(settings: dict, mails: list[Mail]) -> int:
    """Send ``mails`` over one SMTP connection; returns how many were accepted. Failures are logged, never raised
    (a notice is also in the app)."""
    if not mails:
        return 0
    sent = 0
    try:
        if settings["scheme"] == "smtps":
            server = smtplib.SMTP_SSL(settings["host"], settings["port"], timeout=30,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(settings["host"], settings["port"], timeout=30)
        with server:
            if settings["scheme"] == "smtp+starttls":
                server.starttls(context=ssl.create_default_context())
            if settings["user"]:
                server.login(settings["user"], settings["password"] or "")
            for mail in mails:
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = settings["sender"], mail.to, mail.subject
                if mail.unsubscribe_url:
                    message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
                    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
                message.set_content(mail.text)
                server.send_message(message)
                sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        log.error("email not sent (%s: %s); %d of %d went", exc.__class__.__name__, exc, sent, len(mails))
    return sent
