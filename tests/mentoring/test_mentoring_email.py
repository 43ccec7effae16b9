"""Notification emails through a real SMTP server: at once or as a daily digest, titles and links only, and the
one-click unsubscribe link in each."""

from datetime import timedelta
from urllib.parse import urlsplit

from obsapp.accounts.models import utcnow
from obsapp.extensions import db
from obsapp.mentoring import notify
from tests.mentoring.test_mentoring_api import pair  # noqa: F401 - the fixture


def test_instant_email_then_one_click_unsubscribe(pair, smtp_server, app):  # noqa: F811
    api, lesson = pair["api"], pair["lesson"]
    api["mentee"].request("PUT", "/api/v1/notifications/settings", json={"email": {"feedback": "instant"}})
    notes = f"/api/v1/lessons/{lesson.id}/annotations"
    api["mentor"].post(notes, json={"start_ms": 1000, "kind": "growth", "body": "Confidential remark"})
    [message] = smtp_server.wait_for(1)
    assert message["To"] == pair["mentee"].email and message["From"] == "obsapp@school.test"
    assert "New feedback" in message["Subject"]
    text = message.get_content()
    assert "Confidential" not in text and "Confidential" not in message["Subject"]  # never the feedback itself
    assert f"https://obsapp.school.test/lessons/{lesson.id}#t=1" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    # a mail client's one-click POST: no session, no CSRF token
    clicked = app.test_client().post(urlsplit(link).path)
    assert clicked.status_code == 200 and "no longer get emails about new feedback" in clicked.get_data(as_text=True)
    assert api["mentee"].get("/api/v1/notifications/settings").json["email"]["feedback"] == "off"
    api["mentor"].post(notes, json={"start_ms": 2000, "kind": "strength", "body": "More"})
    assert len(smtp_server.wait_for(2, timeout=1.0)) == 1  # unsubscribed: no second email
    assert app.test_client().post("/notifications/unsubscribe/forged-token").status_code == 404
    assert app.test_client().get("/notifications/unsubscribe/forged-token").status_code == 404


def test_daily_digest(pair, smtp_server):  # noqa: F811
    api = pair["api"]
    api["mentor"].request("PUT", "/api/v1/notifications/settings", json={"email": {"journal": "digest",
                                                                                    "reply": "digest"}})
    for words in ("First reflection", "Second reflection"):
        entry = api["mentee"].post("/api/v1/journal", json={"body": words}).json
        api["mentee"].patch(f"/api/v1/journal/{entry['id']}", json={"visibility": "mentors"})
    assert smtp_server.wait_for(1, timeout=1.0) == []  # digest, not at once
    assert notify.due_digests() == 0  # the housekeeping waits until the oldest is a day old
    assert notify.send_digests(utcnow() + timedelta(days=1, minutes=1), only_due=True) == 1
    db.session.commit()
    [message] = smtp_server.wait_for(1)
    assert message["To"] == pair["mentor"].email and "2 new for you" in message["Subject"]
    text = message.get_content()
    assert text.count("shared a journal entry with you") == 2 and "reflection" not in text
    assert "/notifications/unsubscribe/" in text
    assert notify.send_digests() == 0  # each notification goes in one digest only
    db.session.commit()
