"""Watch sessions and their log. The live playback state is not here: it lives in :mod:`obsapp.watch.state`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.extensions import db
from obsapp.lessons.models import Lesson

# What the log records. Play, pause and seek are not logged: they are the live state, many per minute.
EVENT_KINDS = ("join", "leave", "flag", "note", "control_lock", "end")


class WatchSession(db.Model):
    __tablename__ = "watch_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # secrets.token_urlsafe: the join link's secret
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    control_locked: Mapped[bool] = mapped_column(Boolean, default=False)

    lesson: Mapped[Lesson] = relationship()
    host: Mapped[User | None] = relationship()
    events: Mapped[list[WatchEvent]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="WatchEvent.id")

    @property
    def active(self) -> bool:
        return self.ended_at is None


class WatchEvent(db.Model):
    """One line of a session's log: ``kind`` is one of EVENT_KINDS; ``at_ms`` the lesson time it refers to."""

    __tablename__ = "watch_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("watch_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    at_ms: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[WatchSession] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()


class WatchInvitation(db.Model):
    """The host asks someone who may see the lesson to join the session; it expires when the session ends."""

    __tablename__ = "watch_invitations"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_watch_invitations_session_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("watch_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[WatchSession] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def expired(self) -> bool:
        return self.session.ended_at is not None
