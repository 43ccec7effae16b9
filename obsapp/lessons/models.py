from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.extensions import db

LESSON_STATUSES = ("awaiting_upload", "processing", "ready", "failed")
SHARE_ROLES = ("viewer", "commenter")


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(120))
    level: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    taught_on: Mapped[date | None] = mapped_column(Date)

    status: Mapped[str] = mapped_column(String(20), default="awaiting_upload", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)

    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[str | None] = mapped_column(String(32))
    has_audio: Mapped[bool | None] = mapped_column(Boolean)
    video_codec: Mapped[str | None] = mapped_column(String(40))
    audio_codec: Mapped[str | None] = mapped_column(String(40))
    rendition_mode: Mapped[str | None] = mapped_column(String(20))
    media_size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    source_filename: Mapped[str | None] = mapped_column(String(255))
    source_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    source_info: Mapped[dict | None] = mapped_column(JSON)
    original_key: Mapped[str | None] = mapped_column(String(255))
    media_version: Mapped[int] = mapped_column(Integer, default=0)

    blur_faces_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    shares: Mapped[list[LessonShare]] = relationship(back_populates="lesson", cascade="all, delete-orphan",
                                                     order_by="LessonShare.id")


class LessonShare(db.Model):
    __tablename__ = "lesson_shares"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="shares")
    user: Mapped[User] = relationship()


class Upload(db.Model):
    """A tus upload in progress (or finished) for a lesson's video."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    length: Mapped[int | None] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    upload_metadata: Mapped[dict | None] = mapped_column(JSON)
    filename: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # OBSAPP_STORAGE=s3: the bucket's multipart upload receiving the bytes, and the ETags of its parts so far
    # (part n holds bytes [(n-1)*part_size, n*part_size) of the file; the rest waits in a tail object)
    storage_upload_id: Mapped[str | None] = mapped_column(String(1024))
    storage_parts: Mapped[list | None] = mapped_column(JSON)


class LessonSeen(db.Model):
    """When a person last opened a lesson's page: feedback newer than this is "new" to them on the dashboard."""

    __tablename__ = "lesson_seen"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), primary_key=True, index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
