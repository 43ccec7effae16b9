"""Clips, reels (ordered clips joined into one video) and feedback items (a clip or reel sent to someone)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp import storage_keys
from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.extensions import db
from obsapp.lessons.models import Lesson

STATUSES = ("processing", "ready", "failed")


class Clip(db.Model):
    """A span of a lesson's video made into its own MP4 (optionally captioned with an annotation, faces blurred)."""

    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The annotation the clip was made from. No foreign key: annotations live in their own domain and a clip
    # outlives a deleted annotation (it keeps the words it was captioned with, below).
    annotation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(200), default="")
    accurate: Mapped[bool] = mapped_column(Boolean, default=True)
    captions: Mapped[bool] = mapped_column(Boolean, default=False)
    blur_faces: Mapped[bool] = mapped_column(Boolean, default=False)
    # A ~2 s card with the title (and the lesson and criteria) before the clip; its length once rendered.
    title_card: Mapped[bool] = mapped_column(Boolean, default=False)
    title_card_ms: Mapped[int | None] = mapped_column(Integer)
    # The annotation's words when the clip was made (what the captions say).
    comment: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(20))
    criteria: Mapped[list | None] = mapped_column(JSON)

    status: Mapped[str] = mapped_column(String(20), default="processing", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(20))  # copy | smart | encode | blur
    media_start_ms: Mapped[int | None] = mapped_column(BigInteger)  # where the video really starts (fast clips)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    media_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    lesson: Mapped[Lesson] = relationship()
    creator: Mapped[User | None] = relationship()

    @property
    def media_prefix(self) -> str:
        return storage_keys.clip_prefix(self.lesson_id, self.id)


class Reel(db.Model):
    """Clips (from one or several lessons) joined in order into one MP4 with a chapter per clip."""

    __tablename__ = "reels"

    id: Mapped[int] = mapped_column(primary_key=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="processing", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str | None] = mapped_column(String(20))  # copy | encode
    chapters: Mapped[list | None] = mapped_column(JSON)  # [{title, start_ms, end_ms, clip_id}]
    # Every lesson whose footage is in the video: the reel is visible only to people who may see all of them,
    # and disappears with any of them.
    lesson_ids: Mapped[list] = mapped_column(JSON, default=list)
    clip_count: Mapped[int] = mapped_column(Integer, default=0)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    media_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    creator: Mapped[User | None] = relationship()
    items: Mapped[list[ReelItem]] = relationship(back_populates="reel", cascade="all, delete-orphan",
                                                 order_by="ReelItem.position")

    @property
    def media_prefix(self) -> str:
        return storage_keys.reel_prefix(self.id)


class ReelItem(db.Model):
    __tablename__ = "reel_items"
    __table_args__ = (UniqueConstraint("reel_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reel_id: Mapped[int] = mapped_column(ForeignKey("reels.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)

    reel: Mapped[Reel] = relationship(back_populates="items")
    clip: Mapped[Clip] = relationship()


class FeedbackItem(db.Model):
    """A clip or a reel sent to one person, with the sender's message and what the recipient did with it."""

    __tablename__ = "feedback_items"
    __table_args__ = (
        UniqueConstraint("clip_id", "recipient_id"),
        UniqueConstraint("reel_id", "recipient_id"),
        CheckConstraint("(clip_id IS NULL) <> (reel_id IS NULL)", name="one_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    reel_id: Mapped[int | None] = mapped_column(ForeignKey("reels.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    watched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    clip: Mapped[Clip | None] = relationship()
    reel: Mapped[Reel | None] = relationship()
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id])
