"""A lesson's consent record and the append-only access audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from obsapp.accounts.models import UTCDateTime, utcnow
from obsapp.config import CONSENTS
from obsapp.extensions import db

# What the audit records. ``view``: a lesson page or a playback session (one entry per person and lesson within
# OBSAPP_AUDIT_VIEW_WINDOW_S); ``download``: a clip or reel saved as a file; ``retention``: the daily job's work.
AUDIT_ACTIONS = ("view", "frame", "download", "export", "clip", "share", "watch_join", "delete", "consent", "erase",
                 "retention")
BLURRED_CONSENTS = ("some_not_consented", "unknown")


def blur_required(consent: str) -> bool:
    """Unless everyone filmed consented, faces are blurred in everything that leaves the lesson."""
    return consent != "all_consented"


class LessonConsent(db.Model):
    """The consent basis of one lesson, set by its owner, and whether the owner keeps it past retention."""

    __tablename__ = "lesson_consents"

    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True)
    consent: Mapped[str] = mapped_column(String(24))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def blur_required(self) -> bool:
        return blur_required(self.consent)


assert set(BLURRED_CONSENTS) | {"all_consented"} == set(CONSENTS)


class AuditEntry(db.Model):
    """Who did what with a lesson, when, from where. No foreign keys: entries outlive the lesson (and are kept,
    with the name anonymised, when the person is erased); only OBSAPP_AUDIT_RETENTION_DAYS removes them."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_lesson_at", "lesson_id", "at"),
                      Index("ix_audit_entries_recent", "user_id", "lesson_id", "action", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    lesson_id: Mapped[int | None] = mapped_column(Integer)
    lesson_title: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(Integer)
    user_name: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(64))
