"""One talk analysis per lesson: the speech segments found in its audio (the measures are computed from them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from obsapp.accounts.models import UTCDateTime, utcnow
from obsapp.extensions import db

TALK_STATUSES = ("processing", "ready", "failed")


class TalkAnalysis(db.Model):
    __tablename__ = "talk_analyses"

    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="processing")
    job_id: Mapped[int | None] = mapped_column(Integer)
    media_version: Mapped[int] = mapped_column(Integer, default=0)  # the lesson's media this was computed from
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    speech_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    # [{start_ms, end_ms, level_db, voice}] in time order
    segments: Mapped[list] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
