"""One talk analysis per lesson: the speech segments found in its audio (the measures are computed from them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.extensions import db
from obsapp.lessons.models import Lesson

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


class CalibrationExercise(db.Model):
    """Double coding: two or more coders mark the same lesson blind (their private annotations made since the
    exercise opened); once all have submitted, or the lead closes it, their codes are compared."""

    __tablename__ = "calibration_exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    tolerance_ms: Mapped[int] = mapped_column(Integer, default=5000)
    unit_ms: Mapped[int] = mapped_column(Integer, default=10000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lesson: Mapped[Lesson] = relationship()
    lead: Mapped[User] = relationship()
    coders: Mapped[list[CalibrationCoder]] = relationship(back_populates="exercise", cascade="all, delete-orphan",
                                                          order_by="CalibrationCoder.user_id")


class CalibrationCoder(db.Model):
    __tablename__ = "calibration_coders"

    exercise_id: Mapped[int] = mapped_column(ForeignKey("calibration_exercises.id", ondelete="CASCADE"),
                                             primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the coder's codes as submitted: [{annotation_id, start_ms, end_ms, kind, criterion_ids}]
    codes: Mapped[list] = mapped_column(JSON, default=list)

    exercise: Mapped[CalibrationExercise] = relationship(back_populates="coders")
    user: Mapped[User] = relationship()
