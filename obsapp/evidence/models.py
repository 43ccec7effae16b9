"""An evidence reel (what a reel of clips was made to show) and the school leaders an administrator names."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.clips.models import Reel
from obsapp.extensions import db

REEL_KINDS = ("strengths", "before_after")


class EvidenceReel(db.Model):
    """A reel made from a teacher's annotations on one criterion: every strength, or a growth area then a later
    strength. The reel itself (its clips, chapters, video) is an ordinary reel of the clips domain."""

    __tablename__ = "evidence_reels"

    id: Mapped[int] = mapped_column(primary_key=True)
    reel_id: Mapped[int] = mapped_column(ForeignKey("reels.id", ondelete="CASCADE"), unique=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("criteria.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    reel: Mapped[Reel] = relationship()
    teacher: Mapped[User] = relationship(foreign_keys=[teacher_id])


class SchoolLeader(db.Model):
    """The ``leader`` role: sees the school's aggregates (never a video or a comment unless shared with them)."""

    __tablename__ = "school_leaders"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
