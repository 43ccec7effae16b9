"""Goals (tied to criteria) and their evidence, observation cycles, journal entries and replies, notifications."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from obsapp.accounts.models import User, UTCDateTime, utcnow
from obsapp.clips.models import Clip
from obsapp.extensions import db
from obsapp.frameworks.models import Criterion
from obsapp.lessons.models import Lesson

GOAL_STATUSES = ("active", "achieved", "dropped")
EVIDENCE_KINDS = ("annotation", "clip", "lesson", "journal_entry")
CYCLE_STATUSES = ("planned", "observed", "reviewed", "closed")
JOURNAL_VISIBILITIES = ("private", "mentors")
NOTIFICATION_KINDS = ("feedback", "reply", "clip", "journal", "cycle", "model", "watch", "retention")

goal_criteria = Table(
    "goal_criteria", db.metadata,
    Column("goal_id", ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True),
    Column("criterion_id", ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True),
)

cycle_goals = Table(
    "cycle_goals", db.metadata,
    Column("cycle_id", ForeignKey("observation_cycles.id", ondelete="CASCADE"), primary_key=True),
    Column("goal_id", ForeignKey("goals.id", ondelete="CASCADE"), primary_key=True),
)


class Goal(db.Model):
    """What a teacher is working on, tied to criteria of a framework."""

    __tablename__ = "goals"

    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    success: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    teacher: Mapped[User] = relationship(foreign_keys=[teacher_id])
    criteria: Mapped[list[Criterion]] = relationship(secondary=goal_criteria, order_by=Criterion.id)
    evidence: Mapped[list[GoalEvidence]] = relationship(back_populates="goal", cascade="all, delete-orphan",
                                                        order_by="GoalEvidence.id")


class GoalEvidence(db.Model):
    """One thing that shows progress on a goal: exactly one of an annotation, a clip, a lesson, a journal entry."""

    __tablename__ = "goal_evidence"
    __table_args__ = (UniqueConstraint("goal_id", "kind", "ref_id", name="uq_goal_evidence_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("goals.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    ref_id: Mapped[int] = mapped_column(Integer)  # the same id as the one foreign key below that is set
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    journal_entry_id: Mapped[int | None] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"),
                                                         index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    goal: Mapped[Goal] = relationship(back_populates="evidence")


class ObservationCycle(db.Model):
    """Pre-observation conference -> observed lesson -> reviews (self-review first) -> post-conference."""

    __tablename__ = "observation_cycles"

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    focus: Mapped[str] = mapped_column(Text, default="")
    look_fors: Mapped[str] = mapped_column(Text, default="")
    pre_notes: Mapped[str] = mapped_column(Text, default="")
    planned_for: Mapped[date | None] = mapped_column(Date)
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"), index=True)
    # Self-review first: the mentor's annotations on the lesson stay hidden from the mentee (and, with
    # blind_mentor, the mentee's from the mentor) until both have marked their review done.
    self_review_first: Mapped[bool] = mapped_column(Boolean, default=True)
    blind_mentor: Mapped[bool] = mapped_column(Boolean, default=False)
    self_review_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mentor_review_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    went_well: Mapped[str] = mapped_column(Text, default="")
    post_notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When both were reminded that the planned observation's day came without a recording (once per planned date).
    due_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    mentor: Mapped[User] = relationship(foreign_keys=[mentor_id])
    mentee: Mapped[User] = relationship(foreign_keys=[mentee_id])
    lesson: Mapped[Lesson | None] = relationship()
    goals: Mapped[list[Goal]] = relationship(secondary=cycle_goals, order_by=Goal.id)
    next_steps: Mapped[list[NextStep]] = relationship(back_populates="cycle", cascade="all, delete-orphan",
                                                      order_by="NextStep.id")

    @property
    def revealed(self) -> bool:
        return not self.self_review_first or (self.self_review_done_at is not None
                                              and self.mentor_review_done_at is not None)


class NextStep(db.Model):
    """A step agreed at the post-observation conference, optionally a goal (new or existing)."""

    __tablename__ = "cycle_next_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("observation_cycles.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cycle: Mapped[ObservationCycle] = relationship(back_populates="next_steps")
    goal: Mapped[Goal | None] = relationship()


class JournalEntry(db.Model):
    """A teacher's reflection: private unless shared with their mentors."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(8), default="private")
    lesson_id: Mapped[int | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"))
    t_ms: Mapped[int | None] = mapped_column(BigInteger)
    goal_id: Mapped[int | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("observation_cycles.id", ondelete="SET NULL"))
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    author: Mapped[User] = relationship()
    replies: Mapped[list[JournalReply]] = relationship(back_populates="entry", cascade="all, delete-orphan",
                                                       order_by="JournalReply.id")


class JournalReply(db.Model):
    __tablename__ = "journal_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    entry: Mapped[JournalEntry] = relationship(back_populates="replies")
    author: Mapped[User] = relationship()


class Notification(db.Model):
    """Something new for a person: a short title and a link, never feedback text."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # sent at once or in a digest
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class NotificationSetting(db.Model):
    """Per person and kind: shown in the app (always) and emailed never, at once, or in a daily digest."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    email: Mapped[str] = mapped_column(String(8), default="off")  # off | instant | digest


MODEL_AUDIENCES = ("chosen", "school")

model_lesson_criteria = Table(
    "model_lesson_criteria", db.metadata,
    Column("model_id", ForeignKey("model_lessons.id", ondelete="CASCADE"), primary_key=True),
    Column("criterion_id", ForeignKey("criteria.id", ondelete="CASCADE"), primary_key=True),
)


class ModelLesson(db.Model):
    """A teacher's own lesson, or a clip of it, shared as a model of practice ("this is what strong questioning
    looks like"), with chosen people or with everyone in the school; those it is shared with may watch the lesson
    (a model lesson) or only the clip (a model clip: its video is blurred wherever the lesson's consent asks)."""

    __tablename__ = "model_lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    audience: Mapped[str] = mapped_column(String(8), default="chosen")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lesson: Mapped[Lesson] = relationship()
    clip: Mapped[Clip | None] = relationship()
    owner: Mapped[User] = relationship()
    criteria: Mapped[list[Criterion]] = relationship(secondary=model_lesson_criteria, order_by=Criterion.id)
    recipients: Mapped[list[ModelRecipient]] = relationship(cascade="all, delete-orphan")


class ModelRecipient(db.Model):
    __tablename__ = "model_lesson_recipients"

    model_id: Mapped[int] = mapped_column(ForeignKey("model_lessons.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class ModelNote(db.Model):
    """A private note by someone learning from a model lesson, at a moment of it: its author's alone."""

    __tablename__ = "model_lesson_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("model_lessons.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    t_ms: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReflectionPrompt(db.Model):
    """A question offered to a teacher when feedback arrives; the school's admins edit the list."""

    __tablename__ = "reflection_prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(String(300))
