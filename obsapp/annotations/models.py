from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion

KINDS = ("strength", "growth", "question", "note")
VISIBILITIES = ("shared", "private")

annotation_criteria = Table(
    "annotation_criteria", db.metadata,
    Column("annotation_id", ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True),
    Column("criterion_id", ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True),
)


class Annotation(db.Model):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    end_ms: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(12))
    rating: Mapped[int | None] = mapped_column(Integer)
    visibility: Mapped[str] = mapped_column(String(8), default="shared")
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # The ETag's version guards the row itself: every UPDATE/DELETE says `WHERE id = ? AND version = <read>`, so of
    # two concurrent changes made from the same version the second finds no row (StaleDataError -> 412/409) instead
    # of overwriting the first. The services still set the next version themselves (no generator).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    criteria: Mapped[list[Criterion]] = relationship(secondary=annotation_criteria,
                                                     order_by="[Criterion.position, Criterion.id]")
    replies: Mapped[list[Reply]] = relationship(back_populates="annotation", cascade="all, delete-orphan",
                                                order_by="Reply.id")


class Reply(db.Model):
    __tablename__ = "annotation_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    annotation: Mapped[Annotation] = relationship(back_populates="replies")
    author: Mapped[User] = relationship()
