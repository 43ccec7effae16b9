"""Retention: `obsapp retention [--dry-run]` (and the workers' daily run) deletes lessons older than
OBSAPP_RETENTION_DAYS unless pinned, originals older than OBSAPP_KEEP_ORIGINALS_DAYS and audit entries older than
OBSAPP_AUDIT_RETENTION_DAYS, recording what it did in the audit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from obsapp.accounts.models import utcnow
from obsapp.cli import retention_command
from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from obsapp.privacy.models import AuditEntry, LessonConsent
from obsapp.storage import media_store


def days_ago(days: int):
    return utcnow() - timedelta(days=days)


def run(app, *args):
    result = app.test_cli_runner().invoke(retention_command, list(args))
    assert result.exit_code == 0, result.output
    db.session.commit()  # the command's unit of work (the CLI's app context commits it when it ends)
    return result.output


def test_nothing_configured_means_nothing_happens(app, make_lesson, owner):
    lesson = make_lesson(owner, "Ancient", created_at=days_ago(4000))
    assert "No retention is configured" in run(app)
    assert db.session.get(Lesson, lesson.id) is not None


def test_retention_dry_run_then_for_real(app, settings, make_lesson, owner):
    settings(RETENTION_DAYS=365, KEEP_ORIGINALS_DAYS=30, AUDIT_RETENTION_DAYS=90)
    old = make_lesson(owner, "Old lesson", created_at=days_ago(400), status="ready")
    pinned = make_lesson(owner, "Pinned lesson", created_at=days_ago(400), status="ready")
    db.session.add(LessonConsent(lesson_id=pinned.id, consent="all_consented", pinned=True))
    soon = make_lesson(owner, "Due soon", created_at=days_ago(360), status="ready")
    recent = make_lesson(owner, "Recent", created_at=days_ago(60), status="ready")
    recent.original_key = f"originals/lessons/{recent.id}/original"
    db.session.add(AuditEntry(at=days_ago(100), lesson_id=recent.id, action="view", detail="long ago"))
    db.session.commit()
    store = media_store()
    for lesson in (old, pinned, recent):
        store.put_bytes(f"renditions/lessons/{lesson.id}/video.mp4", b"video")
    store.put_bytes(recent.original_key, b"original")

    output = run(app, "--dry-run")
    assert f"Would delete lesson {old.id} “Old lesson”" in output
    assert "Pinned lesson" not in output.split("Due within")[0]
    assert f"Would delete the original upload of lesson {recent.id}" in output
    assert "Would delete 1 audit entries" in output
    assert f"Due within 14 days: lesson {soon.id} “Due soon”" in output
    assert db.session.get(Lesson, old.id) is not None and store.exists(recent.original_key)  # nothing changed
    assert db.session.execute(select(AuditEntry).where(AuditEntry.action == "retention")).first() is None

    output = run(app)
    assert f"Deleted lesson {old.id}" in output
    db.session.expire_all()
    assert db.session.get(Lesson, old.id) is None
    assert not store.exists(f"renditions/lessons/{old.id}/video.mp4")
    assert db.session.get(Lesson, pinned.id) is not None and store.exists(f"renditions/lessons/{pinned.id}/video.mp4")
    assert db.session.get(Lesson, soon.id) is not None
    kept = db.session.get(Lesson, recent.id)
    assert kept.original_key is None and not store.exists(f"originals/lessons/{recent.id}/original")
    assert store.exists(f"renditions/lessons/{recent.id}/video.mp4")
    entries = db.session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert "long ago" not in [e.detail for e in entries]
    deletion = next(e for e in entries if e.action == "delete")
    assert deletion.lesson_id == old.id and deletion.user_id is None and "retention" in deletion.detail
    assert {e.action for e in entries} >= {"delete", "retention"}
    assert "Nothing is past retention." in run(app)


def test_the_daily_housekeeping_runs_retention(app, settings, make_lesson, owner):
    from obsapp.privacy import erasure

    settings(RETENTION_DAYS=10)
    old = make_lesson(owner, "Old", created_at=days_ago(11))
    erasure._last_daily_run.clear()
    erasure.daily_retention()
    assert db.session.get(Lesson, old.id) is None
    again = make_lesson(owner, "Old too", created_at=days_ago(11))
    erasure.daily_retention()  # once a day
    assert db.session.get(Lesson, again.id) is not None
    erasure._last_daily_run.clear()


def test_owners_are_notified_once_before_retention_deletes_a_lesson(app, settings, make_lesson, owner):
    from obsapp.mentoring.models import Notification
    from obsapp.privacy import erasure

    settings(RETENTION_DAYS=30)
    due = make_lesson(owner, "Due in a week", created_at=days_ago(23))
    pinned = make_lesson(owner, "Pinned", created_at=days_ago(23))
    db.session.add(LessonConsent(lesson_id=pinned.id, consent="all_consented", pinned=True))
    safe = make_lesson(owner, "Safe", created_at=days_ago(3))
    db.session.commit()

    def notes():
        return db.session.execute(select(Notification).where(Notification.kind == "retention")).scalars().all()

    for _ in range(2):  # the daily run, twice: one notification
        erasure.apply_retention(erasure.retention_plan())
        db.session.commit()
        assert [(n.user_id, n.url) for n in notes()] == [(owner.id, f"/lessons/{due.id}/privacy")]
    assert "Due in a week" in notes()[0].title and (utcnow() + timedelta(days=7)).strftime("%d %b %Y") in notes()[0].title
    assert db.session.get(Lesson, safe.id) is not None and db.session.get(Lesson, pinned.id) is not None


def test_retention_settings_are_checked(monkeypatch, tmp_path):
    import pytest

    from obsapp.config import SettingsError, load_settings

    monkeypatch.setenv("OBSAPP_RETENTION_DAYS", "-1")
    with pytest.raises(SettingsError, match="OBSAPP_RETENTION_DAYS"):
        load_settings(tmp_path, {"ENV": "testing"})
    monkeypatch.delenv("OBSAPP_RETENTION_DAYS")
    monkeypatch.setenv("OBSAPP_DEFAULT_CONSENT", "perhaps")
    with pytest.raises(SettingsError, match="OBSAPP_DEFAULT_CONSENT"):
        load_settings(tmp_path, {"ENV": "testing"})


def test_the_dashboard_warns_owners_before_retention(browser_client, settings, make_lesson, owner):
    settings(RETENTION_DAYS=100)
    due = make_lesson(owner, "Due in a week", created_at=days_ago(93))
    make_lesson(owner, "Safe for now", created_at=days_ago(10))
    pinned = make_lesson(owner, "Pinned and due", created_at=days_ago(95))
    db.session.add(LessonConsent(lesson_id=pinned.id, consent="all_consented", pinned=True))
    db.session.commit()
    client = browser_client(owner)
    html = client.get("/").get_data(as_text=True)
    warning = html.split('id="retention-warning"')[1].split("</div>")[0]
    assert f'/lessons/{due.id}/privacy">Due in a week</a>' in warning
    assert (utcnow() + timedelta(days=7)).strftime("%d %b %Y") in warning
    assert "Safe for now" not in warning and "Pinned and due" not in warning
    settings(RETENTION_DAYS=0)
    assert 'id="retention-warning"' not in client.get("/").get_data(as_text=True)
