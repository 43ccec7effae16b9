"""Email through SMTP (``OBSAPP_SMTP_URL``), for any part of the app: notices (obsapp.mentoring.mail) and
account links (password resets, invites). ``deliver`` runs after the commit (``uow.after_commit``)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    unsubscribe_url: str | None = None


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


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
