"""Every mentoring access rule as one table of roles x rules, checked in obsapp.policy and against its SQL filters
(lists are filtered in the database by the same rule)."""

from types import SimpleNamespace

import pytest
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from obsapp import policy
from obsapp.annotations.models import Annotation
from obsapp.clips.models import Clip
from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from obsapp.mentoring.models import Goal, JournalEntry, ModelLesson, ModelRecipient, Notification, ObservationCycle
from obsapp.watch.models import WatchInvitation, WatchSession

ROLES = ["teacher", "active mentor", "ended mentor", "mentor of someone else", "admin", "stranger",
         "deactivated mentor", "anonymous"]

# rule -> the roles it allows. The world: the teacher (a mentee) has a goal, a private and a shared journal entry,
# a notification, and an observation cycle with the active mentor on their lesson (self-review first, blind, not
# yet reviewed) on which the active mentor and the teacher each wrote an annotation.
TABLE = {
    "goal: see and write": {"teacher", "active mentor"},
    "cycle: see": {"teacher", "active mentor"},
    "cycle: work on": {"teacher", "active mentor"},
    "cycle: start one with the active mentor": {"teacher", "active mentor"},
    "journal: see a private entry": {"teacher"},
    "journal: see a shared entry and reply": {"teacher", "active mentor"},
    "journal: edit or share": {"teacher"},
    "notification: see": {"teacher"},
    "annotation: the mentor's, before both reviews": {"active mentor"},
    "annotation: the teacher's, before both reviews (blind)": {"teacher"},
    "model lesson: see (shared with the stranger)": {"teacher", "stranger"},
    "model lesson: watch its lesson": {"teacher", "active mentor", "stranger"},
    "model lesson: stop sharing": {"teacher"},
    "model clip: see the clip (shared with the stranger)": {"teacher", "active mentor", "stranger"},
    "model clip: watch the rest of its lesson": {"teacher", "active mentor"},
    "watch session on the teacher's lesson: invite people (its host)": {"teacher"},
    "watch session on the teacher's lesson: be invited": {"teacher", "active mentor"},
    "watch invitation to the active mentor: see it": {"active mentor"},
}


@pytest.fixture
def world(make_user, make_lesson, make_mentorship):
    from obsapp.accounts import services

    teacher = make_user(name="Teacher")
    people = {"teacher": teacher}
    people["active mentor"] = make_user()
    make_mentorship(people["active mentor"], teacher)
    people["ended mentor"] = make_user()
    services.end_mentorship(None, make_mentorship(people["ended mentor"], teacher))
    people["mentor of someone else"] = make_user()
    make_mentorship(people["mentor of someone else"], make_user())
    people["admin"] = make_user(admin=True)
    people["stranger"] = make_user()
    people["deactivated mentor"] = make_user()
    make_mentorship(people["deactivated mentor"], teacher)
    services.update_user(None, people["deactivated mentor"], active=False)
    people["anonymous"] = AnonymousUserMixin()
    mentor = people["active mentor"]
    lesson = make_lesson(teacher, status="ready", duration_ms=10_000)
    goal = Goal(teacher_id=teacher.id, title="A goal")
    private = JournalEntry(author_id=teacher.id, body="private", visibility="private")
    shared = JournalEntry(author_id=teacher.id, body="shared", visibility="mentors")
    note = Notification(user_id=teacher.id, kind="feedback", title="t", url="/")
    cycle = ObservationCycle(mentor_id=mentor.id, mentee_id=teacher.id, lesson_id=lesson.id, status="observed",
                             self_review_first=True, blind_mentor=True)
    by_mentor = Annotation(lesson_id=lesson.id, author_id=mentor.id, start_ms=0, kind="growth")
    by_teacher = Annotation(lesson_id=lesson.id, author_id=teacher.id, start_ms=0, kind="strength")
    modelled = make_lesson(teacher, title="Model", status="ready", duration_ms=10_000)
    model = ModelLesson(lesson_id=modelled.id, owner_id=teacher.id, title="Model", audience="chosen",
                        recipients=[ModelRecipient(user_id=people["stranger"].id)])
    clipped = make_lesson(teacher, title="Clipped", status="ready", duration_ms=10_000)
    clip = Clip(lesson_id=clipped.id, creator_id=teacher.id, start_ms=0, end_ms=2000, title="A moment")
    db.session.add(clip)
    db.session.flush()
    clip_model = ModelLesson(lesson_id=clipped.id, clip_id=clip.id, owner_id=teacher.id, title="Clip",
                             audience="chosen", recipients=[ModelRecipient(user_id=people["stranger"].id)])
    session = WatchSession(id="policy-table-session", lesson_id=lesson.id, host_id=teacher.id)
    invitation = WatchInvitation(session_id=session.id, user_id=mentor.id, invited_by_id=teacher.id)
    db.session.add_all([goal, private, shared, note, cycle, by_mentor, by_teacher, model, clip_model, session])
    db.session.flush()
    db.session.add(invitation)
    db.session.commit()
    return SimpleNamespace(people=people, lesson=lesson, goal=goal, private=private, shared=shared, note=note,
                           cycle=cycle, by_mentor=by_mentor, by_teacher=by_teacher, model=model, modelled=modelled,
                           clip=clip, clipped=clipped, session=session, invitation=invitation)


def _allows(world, rule, actor) -> bool:
    w = world
    if rule == "goal: see and write":
        return policy.may_see_goals_of(actor, w.goal.teacher_id)
    if rule == "cycle: see":
        return policy.may_see_cycle(actor, w.cycle)
    if rule == "cycle: work on":
        try:
            policy.require_cycle(actor, w.cycle, "work")
            return True
        except Exception:  # noqa: BLE001 - NotFound or Forbidden
            return False
    if rule == "cycle: start one with the active mentor":
        return policy.may_start_cycle(actor, w.cycle.mentor_id, w.cycle.mentee_id)
    if rule == "journal: see a private entry":
        return policy.journal_entry_visible(actor, w.private)
    if rule == "journal: see a shared entry and reply":
        return policy.journal_entry_visible(actor, w.shared)
    if rule == "journal: edit or share":
        return policy.may_edit_journal_entry(actor, w.private) and policy.may_edit_journal_entry(actor, w.shared)
    if rule == "notification: see":
        return policy.is_signed_in(actor) and db.session.execute(select(Notification.id).where(
            Notification.id == w.note.id, policy.notification_filter(actor, Notification.user_id))).first() is not None
    if rule == "annotation: the mentor's, before both reviews":
        return policy.annotation_visible(actor, w.by_mentor, w.lesson)
    if rule == "annotation: the teacher's, before both reviews (blind)":
        return policy.annotation_visible(actor, w.by_teacher, w.lesson)
    if rule == "model lesson: see (shared with the stranger)":
        return policy.model_visible(actor, w.model)
    if rule == "model lesson: watch its lesson":
        return policy.can(actor, "view", w.modelled)
    if rule == "model lesson: stop sharing":
        return policy.may_manage_model(actor, w.model)
    if rule == "model clip: see the clip (shared with the stranger)":
        return policy.can_view_clip(actor, w.clip)
    if rule == "model clip: watch the rest of its lesson":
        return policy.can(actor, "view", w.clipped) and policy.can_view_clip_lesson(actor, w.clip)
    if rule == "watch session on the teacher's lesson: invite people (its host)":
        return policy.is_signed_in(actor) and policy.can_watch(actor, w.lesson) and policy.is_watch_host(actor,
                                                                                                        w.session)
    if rule == "watch session on the teacher's lesson: be invited":
        return policy.may_be_invited_to_watch(actor, w.lesson)
    if rule == "watch invitation to the active mentor: see it":
        return policy.is_signed_in(actor) and db.session.execute(select(WatchInvitation.id).where(
            WatchInvitation.id == w.invitation.id,
            policy.watch_invitation_filter(actor, WatchInvitation.user_id))).first() is not None
    raise AssertionError(rule)


@pytest.mark.parametrize("role", ROLES)
def test_policy_table(world, role):
    actor = world.people[role]
    got = {rule for rule in TABLE if _allows(world, rule, actor)}
    assert got == {rule for rule, roles in TABLE.items() if role in roles}


@pytest.mark.parametrize("role", ROLES)
def test_sql_filters_follow_the_table(world, role):
    actor = world.people[role]
    goals = db.session.execute(select(Goal.id).where(policy.goals_filter(actor, Goal.teacher_id))).scalars().all()
    assert (world.goal.id in goals) == (role in TABLE["goal: see and write"])
    cycles = db.session.execute(select(ObservationCycle.id).where(policy.cycles_filter(
        actor, ObservationCycle.mentor_id, ObservationCycle.mentee_id))).scalars().all()
    assert (world.cycle.id in cycles) == (role in TABLE["cycle: see"])
    entries = set(db.session.execute(select(JournalEntry.id).where(policy.journal_filter(
        actor, JournalEntry.author_id, JournalEntry.visibility))).scalars())
    assert (world.private.id in entries) == (role in TABLE["journal: see a private entry"])
    assert (world.shared.id in entries) == (role in TABLE["journal: see a shared entry and reply"])
    models = db.session.execute(select(ModelLesson.id).where(policy.models_filter(
        actor, ModelLesson.id, ModelLesson.owner_id, ModelLesson.audience))).scalars().all()
    assert (world.model.id in models) == (role in TABLE["model lesson: see (shared with the stranger)"])
    lessons = set(db.session.execute(select(Lesson.id).where(policy.lesson_filter(actor, Lesson.id, Lesson.owner_id)))
                  .scalars())
    assert (world.modelled.id in lessons) == (role in TABLE["model lesson: watch its lesson"])
    assert (world.clipped.id in lessons) == (role in TABLE["model clip: watch the rest of its lesson"])
    clips = set(db.session.execute(select(Clip.id).where(policy.clip_filter(actor, Clip.id))).scalars())
    assert (world.clip.id in clips) == (role in TABLE["model clip: see the clip (shared with the stranger)"])
    if policy.can(actor, "view", world.lesson):
        lesson = db.session.get(Lesson, world.lesson.id)
        seen = set(db.session.execute(select(Annotation.id).where(
            Annotation.lesson_id == lesson.id, policy.annotation_filter(
                actor, lesson, author_id=Annotation.author_id, visibility=Annotation.visibility,
                hidden_at=Annotation.hidden_at))).scalars())
        assert (world.by_mentor.id in seen) == (role in TABLE["annotation: the mentor's, before both reviews"])
        assert (world.by_teacher.id in seen) == (
            role in TABLE["annotation: the teacher's, before both reviews (blind)"])


def test_both_reviews_done_reveal_both_sides(world):
    world.cycle.self_review_done_at = world.cycle.mentor_review_done_at = world.cycle.created_at
    db.session.commit()
    teacher, mentor = world.people["teacher"], world.people["active mentor"]
    assert policy.annotation_visible(teacher, world.by_mentor, world.lesson)
    assert policy.annotation_visible(mentor, world.by_teacher, world.lesson)
