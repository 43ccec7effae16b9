"""Who may do what: the one module that decides access, asked by services, pages, the API, Socket.IO and the CLI.

Rules take plain objects (anything with the attributes named: ``actor.id``, ``actor.is_admin``,
``lesson.owner_id`` ...), look up what they need through lightweight Core tables named like the real ones
(``tests/test_policy.py`` fails if a table or column is renamed), and give SQL conditions for lists, so that
lists are filtered and paged in the database. This module imports no domain module: every layer may use it.

Lessons (teacher ownership; a lesson shared as a model lesson may be watched by its audience; a clip shared as a
model clip is seen by its audience, not the rest of the lesson):
- the owner manages their lesson (and may delete it);
- the owner's active mentors may comment;
- people the owner shares with may view or comment, by the share's role;
- admins manage accounts and may delete a lesson (e.g. when a teacher leaves), but do not see a recording
  unless it is shared with them or they mentor its owner;
- inactive (and anonymous) people may do nothing.
Annotations: shared ones are seen by everyone who may view the lesson, private ones by their author only;
a hidden one only by its author and the lesson's owner. Only the author edits or deletes; only the owner hides.
Clips: seen by those who may view the lesson (and a model clip by its audience); made, retried, sent and followed
up by those who may comment.
Reels: seen by those who may view every lesson in them (a reel with a deleted clip is gone); retried by their
creator; sent by their creator or by someone who may comment on every lesson in them. A clip or reel goes only
to active people who may view its lesson(s).
Watch sessions: anyone who may view the lesson starts (and hosts) or joins one; the host locks and ends it;
when locked only the host controls playback. The host invites active people who may view the lesson; an invitation
is seen by the host and the person invited, and leads nowhere once the session has ended.
Frameworks on a lesson: chosen by its owner or one of the owner's active mentors.
Mentoring (goals, cycles, journal) follows the mentorship: a teacher's goals are seen and written by the teacher and
their active mentors; a cycle is seen by its mentee always (read-only once the mentorship ended) and by its mentor
while the mentorship is active, and written by either while it is active. Self-review first: while a cycle asks for it
and both reviews are not done, the mentor's annotations on its lesson are hidden from the mentee (and, with
blind_mentor, the mentee's from the mentor). A journal entry is its author's alone unless shared with their mentors
(then also their active mentors', who may reply). Notifications are their recipient's alone. Admins see none of it.
Lesson video when consent is incomplete (not ``all_consented``): the owner and the owner's active mentors watch
the original; everyone else who may view the lesson (shares, model-lesson audiences) only its anonymised
rendition, every face blurred, and nothing until it is made.
Talk and wait time: seen by those who may view the lesson (wait times only after annotations they may see).
Calibration exercises: opened by one of the lesson owner's active mentors (the lead) for people who may comment
on the lesson; each coder sees their own codes only until every coder has submitted (or the lead closes it);
then the report is seen by the lead and the coders.
Evidence across lessons: a teacher's evidence reels and analytics are made and seen by the teacher and their active
mentors (from the annotations each may see). School leaders (the ``leader`` role an administrator grants) see the
school's aggregates only (counts, ratings, talk share, wait times over all lessons): never a video or a comment
unless it is shared with them like anyone else, and nothing per teacher they are not otherwise allowed to see.
Admin actions (accounts, mentorships, frameworks, erasing a person, everyone's access log): administrators, or
the operator at the command line. A lesson's access log: its owner and administrators.
Something the actor may not view is "not found" (404) for them; seen but not allowed is "forbidden" (403).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import Any

from sqlalchemy import and_, column, exists, false, func, not_, or_, select, table, true

from obsapp.errors import Conflict, Forbidden, NotFound
from obsapp.extensions import db

# --- the tables the rules read, by their real names ---------------------------------------------------------

lessons_t = table("lessons", column("id"), column("owner_id"))
lesson_shares_t = table("lesson_shares", column("lesson_id"), column("user_id"), column("role"))
mentorships_t = table("mentorships", column("mentor_id"), column("mentee_id"), column("ended_at"))
clips_t = table("clips", column("id"), column("lesson_id"), column("creator_id"))
reels_t = table("reels", column("id"), column("creator_id"), column("clip_count"))
reel_items_t = table("reel_items", column("reel_id"), column("clip_id"))
users_t = table("users", column("id"), column("is_admin"), column("active"))
school_leaders_t = table("school_leaders", column("user_id"))

cycles_t = table("observation_cycles", column("id"), column("lesson_id"), column("mentor_id"), column("mentee_id"),
                 column("self_review_first"), column("blind_mentor"), column("self_review_done_at"),
                 column("mentor_review_done_at"))

lesson_consents_t = table("lesson_consents", column("lesson_id"), column("consent"))
model_lessons_t = table("model_lessons", column("id"), column("lesson_id"), column("clip_id"), column("owner_id"),
                        column("audience"))
model_recipients_t = table("model_lesson_recipients", column("model_id"), column("user_id"))

TABLES = (lessons_t, lesson_shares_t, mentorships_t, clips_t, reels_t, reel_items_t, users_t, cycles_t,
          model_lessons_t, model_recipients_t, school_leaders_t, lesson_consents_t)


class Access(IntEnum):
    NONE = 0
    VIEW = 1
    COMMENT = 2
    MANAGE = 3


ACTIONS = {"view": Access.VIEW, "comment": Access.COMMENT, "manage": Access.MANAGE}
LESSON_ACTIONS = ("view", "comment", "manage", "delete")


# --- people --------------------------------------------------------------------------------------------------


def is_signed_in(actor: Any) -> bool:
    """An authenticated, active account (Flask-Login's anonymous user and deactivated accounts are not)."""
    return actor is not None and bool(getattr(actor, "is_authenticated", False)) and bool(actor.is_active)


def is_admin(actor: Any) -> bool:
    return is_signed_in(actor) and bool(getattr(actor, "is_admin", False))


def require_admin(actor: Any) -> None:
    """Admin-only actions. ``actor`` None is the operator at the command line, who may do anything."""
    if actor is not None and not is_admin(actor):
        raise Forbidden("Only an administrator can do that.")


def require_can_erase(actor: Any, person: Any) -> None:
    """Erasing a person: administrators (or the operator), and never the last active administrator, so that
    someone can still manage the school."""
    require_admin(actor)
    if is_admin(person):
        t = users_t
        others = db.session.execute(select(func.count()).select_from(t).where(
            t.c.is_admin.is_(True), t.c.active.is_(True), t.c.id != person.id)).scalar_one()
        if not others:
            raise Conflict("This is the last administrator: make someone else an administrator first.",
                           code="last_admin")


def may_see_account_details(actor: Any, user: Any) -> bool:
    """Every detail of an account (admin flag, active): the person themselves and administrators."""
    return is_admin(actor) or (is_signed_in(actor) and actor.id == user.id)


def may_see_mentorship(actor: Any, mentorship: Any) -> bool:
    return is_admin(actor) or (is_signed_in(actor) and actor.id in (mentorship.mentor_id, mentorship.mentee_id))


def mentorships_filter(actor: Any, mentor_id, mentee_id):
    """SQL: the mentorships ``actor`` may list (all for an admin; their own otherwise)."""
    if is_admin(actor):
        return true()
    if not is_signed_in(actor):
        return false()
    return or_(mentor_id == actor.id, mentee_id == actor.id)


def is_active_mentor(mentor_id: int, mentee_id: int) -> bool:
    t = mentorships_t
    stmt = select(t.c.mentor_id).where(t.c.mentor_id == mentor_id, t.c.mentee_id == mentee_id, t.c.ended_at.is_(None))
    return db.session.execute(stmt.limit(1)).first() is not None


# --- lessons -------------------------------------------------------------------------------------------------


def _share_roles(actor_id: int, lesson_ids: Iterable[int]) -> dict[int, str]:
    t = lesson_shares_t
    ids = list(set(lesson_ids))
    if not ids:
        return {}
    rows = db.session.execute(select(t.c.lesson_id, t.c.role).where(t.c.user_id == actor_id, t.c.lesson_id.in_(ids)))
    return {lesson_id: role for lesson_id, role in rows}


def _mentees(actor_id: int, owner_ids: Iterable[int]) -> set[int]:
    t = mentorships_t
    ids = list(set(owner_ids))
    if not ids:
        return set()
    return set(db.session.execute(select(t.c.mentee_id).where(
        t.c.mentor_id == actor_id, t.c.mentee_id.in_(ids), t.c.ended_at.is_(None))).scalars())


def _modelled(actor_id: int, lesson_ids: Iterable[int]) -> set[int]:
    """Of ``lesson_ids``, the lessons shared with the actor as a model lesson (school-wide or chosen)."""
    ids = list(set(lesson_ids))
    if not ids:
        return set()
    m = model_lessons_t
    return set(db.session.execute(select(m.c.lesson_id).where(
        m.c.lesson_id.in_(ids), m.c.clip_id.is_(None), _model_audience(actor_id, m))).scalars())


def _model_audience(actor_id: int, model):
    r = model_recipients_t
    return or_(model.c.audience == "school", exists().where(r.c.model_id == model.c.id, r.c.user_id == actor_id))


def _access(actor_id: int, owner_id: int, role: str | None, mentored: bool, modelled: bool = False) -> Access:
    if owner_id == actor_id:
        return Access.MANAGE
    best = {"commenter": Access.COMMENT, "viewer": Access.VIEW}.get(role or "", Access.NONE)
    if best < Access.COMMENT and mentored:
        best = Access.COMMENT
    if best < Access.VIEW and modelled:
        best = Access.VIEW
    return best


def lesson_access_map(actor: Any, lessons: Iterable[Any]) -> dict[int, Access]:
    """``{lesson.id: Access}`` for many lessons in at most two queries (for lists)."""
    lessons = [lesson for lesson in lessons if lesson is not None]
    if not is_signed_in(actor):
        return {lesson.id: Access.NONE for lesson in lessons}
    others = [lesson for lesson in lessons if lesson.owner_id != actor.id]
    roles = _share_roles(actor.id, (lesson.id for lesson in others))
    mentees = _mentees(actor.id, (lesson.owner_id for lesson in others))
    unseen = [lesson.id for lesson in others if lesson.id not in roles and lesson.owner_id not in mentees]
    modelled = _modelled(actor.id, unseen)
    return {lesson.id: _access(actor.id, lesson.owner_id, roles.get(lesson.id), lesson.owner_id in mentees,
                               lesson.id in modelled) for lesson in lessons}


def lesson_access(actor: Any, lesson: Any) -> Access:
    if lesson is None:
        return Access.NONE
    return lesson_access_map(actor, [lesson])[lesson.id]


def allowed(actor: Any, action: str, access: Access) -> bool:
    """May ``actor``, with ``access`` to a lesson, do ``action`` (view, comment, manage, delete) with it?"""
    if action not in LESSON_ACTIONS:
        raise ValueError(f"Unknown lesson action: {action}")
    if action == "delete":
        return access >= Access.MANAGE or is_admin(actor)
    return access >= ACTIONS[action]


def can(actor: Any, action: str, lesson: Any) -> bool:
    """May ``actor`` do ``action`` (view, comment, manage, delete) with ``lesson``?"""
    return lesson is not None and allowed(actor, action, lesson_access(actor, lesson))


def can_all(actor: Any, action: str, lessons: list[Any], access: Mapping[int, Access] | None = None) -> bool:
    """May ``actor`` do ``action`` with every one of ``lessons`` (and there is at least one)? ``access``: the
    actor's access to them, when the caller already has it (from lesson_access_map)."""
    if not lessons or any(lesson is None for lesson in lessons):
        return False
    if access is None or any(lesson.id not in access for lesson in lessons):
        access = lesson_access_map(actor, lessons)
    return all(allowed(actor, action, access[lesson.id]) for lesson in lessons)


def require(actor: Any, action: str, lesson: Any):
    """Return the lesson if ``actor`` may do ``action``; NotFound if they may not even see it, else Forbidden."""
    if lesson is None:
        raise NotFound("No such lesson.")
    access = lesson_access(actor, lesson)
    if allowed(actor, action, access):
        return lesson
    if access < Access.VIEW:
        raise NotFound("No such lesson.")
    raise Forbidden("Only the lesson's owner can do that." if action in ("manage", "delete")
                    else "You can watch this lesson but not comment on it.")


def lesson_filter(actor: Any, lesson_id, owner_id):
    """SQL: the lessons (given by their ``id`` and ``owner_id`` columns) that ``actor`` may view."""
    if not is_signed_in(actor):
        return false()
    s, m = lesson_shares_t, mentorships_t
    shared = exists().where(s.c.lesson_id == lesson_id, s.c.user_id == actor.id)
    mentored = exists().where(m.c.mentee_id == owner_id, m.c.mentor_id == actor.id, m.c.ended_at.is_(None))
    model = model_lessons_t.alias("policy_model")
    modelled = exists().where(model.c.lesson_id == lesson_id, model.c.clip_id.is_(None),
                              _model_audience(actor.id, model))
    return or_(owner_id == actor.id, shared, mentored, modelled)


def lesson_id_filter(actor: Any, lesson_id):
    """SQL: rows whose ``lesson_id`` column names a lesson ``actor`` may view."""
    if not is_signed_in(actor):
        return false()
    lesson = lessons_t.alias("policy_lesson")
    return exists().where(lesson.c.id == lesson_id, lesson_filter(actor, lesson.c.id, lesson.c.owner_id))


def can_read_audit(actor: Any, lesson: Any) -> bool:
    """A lesson's access log: its owner, and administrators (who read the log, never the video)."""
    return lesson is not None and (is_admin(actor) or lesson_access(actor, lesson) >= Access.MANAGE)


def require_audit(actor: Any, lesson: Any):
    """The lesson if ``actor`` may read its access log; NotFound if they may not see it, else Forbidden."""
    if can_read_audit(actor, lesson):
        return lesson
    if lesson is None or lesson_access(actor, lesson) < Access.VIEW:
        raise NotFound("No such lesson.")
    raise Forbidden("Only the lesson's owner and administrators can read its access log.")


def can_choose_frameworks(actor: Any, lesson: Any) -> bool:
    """The lesson's owner, or one of the owner's active mentors, chooses which frameworks the lesson offers."""
    access = lesson_access(actor, lesson)
    return access >= Access.MANAGE or (access >= Access.COMMENT and is_active_mentor(actor.id, lesson.owner_id))


def consent_complete(lesson: Any, default_consent: str) -> bool:
    """Did everyone filmed in ``lesson`` consent? (``default_consent``: OBSAPP_DEFAULT_CONSENT, for a lesson
    without a consent record.)"""
    t = lesson_consents_t
    consent = db.session.execute(select(t.c.consent).where(t.c.lesson_id == lesson.id)).scalar()
    return (consent or default_consent) == "all_consented"


def has_viewers_without_original(lesson: Any) -> bool:
    """Does anyone see ``lesson`` who is not its owner or one of the owner's mentors (so would get the anonymised
    rendition when consent is incomplete)? Only a share gives such a person the lesson (a whole-lesson model
    needs complete consent, a model clip is a clip)."""
    t = lesson_shares_t
    return db.session.execute(select(t.c.lesson_id).where(t.c.lesson_id == lesson.id).limit(1)).first() is not None


def original_video_map(actor: Any, lessons: Iterable[Any], default_consent: str) -> dict[int, bool]:
    """``sees_original_video`` for many lessons the actor may view, in two queries (lists and pages of lessons)."""
    lessons = list(lessons)
    if not lessons or not is_signed_in(actor):
        return {lesson.id: False for lesson in lessons}
    t, m = lesson_consents_t, mentorships_t
    consents = dict(db.session.execute(select(t.c.lesson_id, t.c.consent).where(
        t.c.lesson_id.in_([lesson.id for lesson in lessons]))).all())
    mentees = set(db.session.execute(select(m.c.mentee_id).where(
        m.c.mentor_id == actor.id, m.c.ended_at.is_(None))).scalars())
    return {lesson.id: (lesson.owner_id == actor.id or lesson.owner_id in mentees
                        or (consents.get(lesson.id) or default_consent) == "all_consented") for lesson in lessons}


def sees_original_video(actor: Any, lesson: Any, default_consent: str) -> bool:
    """May ``actor`` watch the lesson's original video (and its poster and preview pictures)? Unless everyone
    filmed consented, only its owner and the owner's active mentors may; other viewers get the anonymised
    rendition (``can(actor, "view", lesson)`` still decides whether they see the lesson at all)."""
    if not can(actor, "view", lesson):
        return False
    if actor.id == lesson.owner_id or is_active_mentor(actor.id, lesson.owner_id):
        return True
    return consent_complete(lesson, default_consent)


def can_view_talk(actor: Any, lesson: Any) -> bool:
    return can(actor, "view", lesson)


def can_open_calibration(actor: Any, lesson: Any) -> bool:
    """A lead mentor: one of the lesson owner's active mentors (who may therefore comment on it)."""
    return (lesson is not None and is_signed_in(actor) and lesson.owner_id != actor.id
            and lesson_access(actor, lesson) >= Access.COMMENT and is_active_mentor(actor.id, lesson.owner_id))


def may_code_calibration(user: Any, lesson: Any) -> bool:
    """A coder: someone who may comment on the lesson, other than its teacher (whose teaching is being coded)."""
    return is_signed_in(user) and lesson.owner_id != user.id and can(user, "comment", lesson)


def is_calibration_member(actor: Any, exercise: Any, coder_ids: Iterable[int]) -> bool:
    """The exercise's lead or one of its coders, while they may still view its lesson."""
    return (is_signed_in(actor) and (actor.id == exercise.lead_id or actor.id in set(coder_ids))
            and can(actor, "view", exercise.lesson))


def can_see_calibration_report(actor: Any, exercise: Any, coder_ids: Iterable[int]) -> bool:
    """Blind until closed: the agreement report (everyone's codes) once the exercise is closed."""
    return exercise.closed_at is not None and is_calibration_member(actor, exercise, coder_ids)


def can_close_calibration(actor: Any, exercise: Any) -> bool:
    return is_signed_in(actor) and actor.id == exercise.lead_id and can(actor, "view", exercise.lesson)


def owns_upload(actor: Any, upload: Any) -> bool:
    """An upload in progress is its uploader's alone: anyone else (admins included) finds nothing there."""
    return is_signed_in(actor) and upload.user_id == actor.id


def can_view_job(actor: Any, job: Any, lesson: Any) -> bool:
    """A job: its owner, or anyone who may view the lesson it works on."""
    return (is_signed_in(actor) and job.owner_id == actor.id) or can(actor, "view", lesson)


# --- annotations ---------------------------------------------------------------------------------------------


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def annotation_for_author_only(annotation: Any) -> bool:
    """A private annotation (a model or its payload) is for its author's eyes only."""
    return _field(annotation, "visibility") == "private"


def annotation_visible(actor: Any, annotation: Any, lesson: Any) -> bool:
    """Shared ones to all who may view the lesson; private ones to their author; hidden ones to the author and
    the lesson's owner."""
    if not can(actor, "view", lesson):
        return False
    mine = annotation.author_id == actor.id
    if annotation_for_author_only(annotation) and not mine:
        return False
    if not mine and is_held_back(actor, lesson.id, annotation.author_id):
        return False
    return annotation.hidden_at is None or mine or lesson.owner_id == actor.id


def require_annotation(actor: Any, annotation: Any, lesson: Any):
    if annotation is None or lesson is None or not annotation_visible(actor, annotation, lesson):
        raise NotFound("No such annotation.")
    return annotation


def annotation_filter(actor: Any, lesson: Any, *, author_id, visibility, hidden_at):
    """SQL over one lesson's annotations (the lesson itself already checked as visible)."""
    if not is_signed_in(actor):
        return false()
    own = author_id == actor.id
    condition = or_(visibility == "shared", own)
    if lesson.owner_id != actor.id:
        condition = and_(condition, or_(hidden_at.is_(None), own))
    return and_(condition, not_(held_back(actor, lesson.id, author_id)))


def is_held_back(actor: Any, lesson_id: int, author_id: int) -> bool:
    """Does an observation cycle on the lesson still hide ``author_id``'s annotations from ``actor``?"""
    return db.session.execute(select(true()).where(held_back(actor, lesson_id, author_id))).first() is not None


def held_back(actor: Any, lesson_id, author_id):
    """SQL: an observation cycle on the lesson still hides ``author_id``'s annotations from ``actor`` (self-review
    first: the mentor's from the mentee, and with blind_mentor the mentee's from the mentor, until both are done)."""
    c = cycles_t
    pending = and_(c.c.lesson_id == lesson_id, c.c.self_review_first == true(),
                   or_(c.c.self_review_done_at.is_(None), c.c.mentor_review_done_at.is_(None)))
    return exists().where(pending, or_(
        and_(c.c.mentee_id == actor.id, c.c.mentor_id == author_id),
        and_(c.c.blind_mentor == true(), c.c.mentor_id == actor.id, c.c.mentee_id == author_id)))


def annotations_filter(actor: Any, *, author_id, visibility, hidden_at, lesson_owner_id):
    """SQL over annotations on many lessons (each already checked as visible): annotation_visible's rule,
    with the lesson's owner as a column."""
    if not is_signed_in(actor):
        return false()
    own = author_id == actor.id
    return and_(or_(visibility == "shared", own), or_(hidden_at.is_(None), own, lesson_owner_id == actor.id))


def can_edit_annotation(actor: Any, annotation: Any) -> bool:
    """Change or delete: its author only."""
    return is_signed_in(actor) and annotation.author_id == actor.id


def require_annotation_author(actor: Any, annotation: Any, verb: str = "change") -> None:
    if not can_edit_annotation(actor, annotation):
        raise Forbidden(f"Only the author can {verb} an annotation.")


def require_can_hide(actor: Any, lesson: Any) -> None:
    if lesson_access(actor, lesson) < Access.MANAGE:
        raise Forbidden("Only the lesson's owner can hide annotations on it.")


# --- clips, reels and their delivery ----------------------------------------------------------------------------


def can_view_clip(actor: Any, clip: Any) -> bool:
    """Those who may view its lesson, and the audience of a model clip made of it (that clip only)."""
    return clip is not None and (can(actor, "view", clip.lesson) or _clip_modelled_for(actor, clip.id))


def can_view_clip_lesson(actor: Any, clip: Any) -> bool:
    """What is made from a clip (a reel) is seen by those who may view its lesson: a model clip's audience is not
    enough (they could not see the reel)."""
    return clip is not None and can(actor, "view", clip.lesson)


def _clip_modelled_for(actor: Any, clip_id: int):
    if not is_signed_in(actor):
        return False
    m = model_lessons_t
    return db.session.execute(select(true()).where(m.c.clip_id == clip_id, _model_audience(actor.id, m))
                              .limit(1)).first() is not None


def require_clip(actor: Any, clip: Any, action: str = "view"):
    """The clip if ``actor`` may see its lesson (NotFound otherwise); Forbidden unless they may comment on it,
    for anything but viewing (retry, send, see its deliveries)."""
    if not can_view_clip(actor, clip):
        raise NotFound("No such clip.")
    if action != "view" and not can(actor, "comment", clip.lesson):
        raise Forbidden("You can watch this clip, but only people who may comment on the lesson can do that.")
    return clip


def clip_filter(actor: Any, clip_id):
    """SQL: rows whose ``clip_id`` column names a clip ``actor`` may view."""
    if not is_signed_in(actor):
        return false()
    clip = clips_t.alias("policy_clip")
    model = model_lessons_t.alias("policy_clip_model")
    return or_(exists().where(clip.c.id == clip_id, lesson_id_filter(actor, clip.c.lesson_id)),
               exists().where(model.c.clip_id == clip_id, _model_audience(actor.id, model)))


def reels_lessons(reels: Iterable[Any]) -> dict[int, list[Any] | None]:
    """``{reel.id: the lessons of its clips}`` (rows with ``id`` and ``owner_id``) in one query; None for a
    reel one of whose clips is gone."""
    reels = list(reels)
    if not reels:
        return {}
    i, c, lesson = reel_items_t, clips_t, lessons_t
    rows = db.session.execute(select(i.c.reel_id, lesson.c.id, lesson.c.owner_id)
                              .select_from(i.join(c, c.c.id == i.c.clip_id).join(lesson, lesson.c.id == c.c.lesson_id))
                              .where(i.c.reel_id.in_({reel.id for reel in reels}))).all()
    found: dict[int, dict[int, _LessonRow]] = {}
    counts: dict[int, int] = {}
    for reel_id, lesson_id, owner_id in rows:
        found.setdefault(reel_id, {})[lesson_id] = _LessonRow(lesson_id, owner_id)
        counts[reel_id] = counts.get(reel_id, 0) + 1
    return {reel.id: list(found[reel.id].values()) if counts.get(reel.id) and counts[reel.id] == reel.clip_count
            else None for reel in reels}


def reel_lessons(reel: Any) -> list[Any] | None:
    """The lessons of a reel's clips; None when a clip of it is gone."""
    return reels_lessons([reel])[reel.id]


class _LessonRow:
    __slots__ = ("id", "owner_id")

    def __init__(self, lesson_id: int, owner_id: int):
        self.id, self.owner_id = lesson_id, owner_id


def can_view_reel(actor: Any, reel: Any, lessons: list[Any] | None = None) -> bool:
    """Those who may view every lesson in it; nobody once one of its clips (or their lesson) is deleted."""
    if reel is None:
        return False
    lessons = reel_lessons(reel) if lessons is None else lessons
    return lessons is not None and can_all(actor, "view", lessons)


def require_reel(actor: Any, reel: Any):
    if not can_view_reel(actor, reel):
        raise NotFound("No such reel.")
    return reel


def reel_filter(actor: Any, reel_id):
    """SQL: rows whose ``reel_id`` column names a reel ``actor`` may view (the same rule as can_view_reel)."""
    if not is_signed_in(actor):
        return false()
    reel, counted, item, clip = (reels_t.alias("policy_reel"), reel_items_t.alias("policy_counted"),
                                 reel_items_t.alias("policy_item"), clips_t.alias("policy_item_clip"))
    count = select(func.count()).select_from(counted).where(counted.c.reel_id == reel.c.id).scalar_subquery()
    unseen = (exists().select_from(item.join(clip, clip.c.id == item.c.clip_id))
              .where(item.c.reel_id == reel.c.id, not_(lesson_id_filter(actor, clip.c.lesson_id))))
    return exists().where(reel.c.id == reel_id, reel.c.clip_count > 0, reel.c.clip_count == count, not_(unseen))


def can_retry_reel(actor: Any, reel: Any) -> bool:
    return is_signed_in(actor) and reel.creator_id == actor.id


def can_send_reel(actor: Any, reel: Any, lessons: list[Any] | None = None,
                  access: Mapping[int, Access] | None = None) -> bool:
    """Its creator, or someone who may comment on every lesson in it."""
    if can_retry_reel(actor, reel):
        return True
    lessons = reel_lessons(reel) if lessons is None else lessons
    return lessons is not None and can_all(actor, "comment", lessons, access)


def may_receive(user: Any, lessons: list[Any]) -> bool:
    """A clip or reel goes only to an active person who may view each of its lessons."""
    return is_signed_in(user) and can_all(user, "view", lessons)


def visible_deliveries(actor: Any, item: Any, lessons: list[Any], rows: list[Any], *, is_reel: bool) -> list[Any]:
    """Who a clip or reel was sent to: all of it for people who may comment on every lesson; otherwise what the
    actor sent themselves (a reel's creator sees theirs, possibly none); anyone else is Forbidden."""
    if can_all(actor, "comment", lessons):
        return rows
    mine = [row for row in rows if is_signed_in(actor) and row.sender_id == actor.id]
    if not mine and not (is_reel and can_retry_reel(actor, item)):
        raise Forbidden("Only its sender can see who received it.")
    return mine


def inbox_filter(actor: Any, *, recipient_id, clip_id, reel_id):
    """SQL over deliveries: those sent to ``actor`` whose clip or reel they may still see."""
    if not is_signed_in(actor):
        return false()
    return and_(recipient_id == actor.id, or_(and_(clip_id.is_not(None), clip_filter(actor, clip_id)),
                                              and_(reel_id.is_not(None), reel_filter(actor, reel_id))))


# --- watching together ----------------------------------------------------------------------------------------


def can_watch(actor: Any, lesson: Any) -> bool:
    """Start (and host) or join a watch session: anyone who may view the lesson."""
    return can(actor, "view", lesson)


def is_watch_host(person: Any, session: Any) -> bool:
    """``person`` (a user or a participant with ``id``) hosts ``session`` (a session or its live state)."""
    return person is not None and session.host_id is not None and person.id == session.host_id


def require_watch_host(person: Any, session: Any, doing: str) -> None:
    if not is_watch_host(person, session):
        raise Forbidden(f"Only the host can {doing}.", code="not_host")


def may_be_invited_to_watch(user: Any, lesson: Any) -> bool:
    """The host may invite (and notify) only active people who may watch the lesson themselves."""
    return is_signed_in(user) and can_watch(user, lesson)


def watch_invitation_filter(actor: Any, user_id):
    """SQL: a watch invitation is seen by the person invited (its host sees the session's, through the session)."""
    return user_id == actor.id if is_signed_in(actor) else false()


def require_watch_control(person: Any, live: Any) -> None:
    """When the host has locked the controls, only the host controls playback (and flags)."""
    if live.locked and not is_watch_host(person, live):
        raise Forbidden("The host has locked the controls.", code="control_locked")


# --- mentoring: goals, observation cycles, the journal, notifications ---------------------------------------------


def held_back_from(lesson_id: int, author_id: int) -> set[int]:
    """The people from whom an observation cycle on the lesson still hides ``author_id``'s annotations (the same rule
    as held_back, for pushing live events to each watcher)."""
    c = cycles_t
    rows = db.session.execute(select(c.c.mentor_id, c.c.mentee_id, c.c.blind_mentor).where(
        c.c.lesson_id == lesson_id, c.c.self_review_first == true(),
        or_(c.c.self_review_done_at.is_(None), c.c.mentor_review_done_at.is_(None)))).all()
    hidden: set[int] = set()
    for mentor_id, mentee_id, blind in rows:
        if author_id == mentor_id:
            hidden.add(mentee_id)
        if blind and author_id == mentee_id:
            hidden.add(mentor_id)
    return hidden


def may_see_goals_of(actor: Any, teacher_id: int) -> bool:
    """A teacher's goals: the teacher and their active mentors (not admins, not ex-mentors)."""
    return is_signed_in(actor) and (actor.id == teacher_id or is_active_mentor(actor.id, teacher_id))


def is_leader(actor: Any) -> bool:
    """An active account an administrator made a school leader."""
    if not is_signed_in(actor):
        return False
    t = school_leaders_t
    return db.session.execute(select(t.c.user_id).where(t.c.user_id == actor.id).limit(1)).first() is not None


def can_see_school_analytics(actor: Any) -> bool:
    """The school's aggregates (every teacher's lessons, counted): school leaders only."""
    return is_leader(actor)


def require_school_analytics(actor: Any) -> None:
    if not can_see_school_analytics(actor):
        raise Forbidden("Only school leaders can see the school's analytics.")


def can_see_teacher_evidence(actor: Any, teacher_id: int) -> bool:
    """A teacher's analytics and evidence reels: the teacher and their active mentors (as their goals)."""
    return may_see_goals_of(actor, teacher_id)


def require_teacher_evidence(actor: Any, teacher_id: int) -> None:
    if not can_see_teacher_evidence(actor, teacher_id):
        raise NotFound("No such teacher.")


def require_goals_of(actor: Any, teacher_id: int) -> None:
    if not may_see_goals_of(actor, teacher_id):
        raise NotFound("No such goal.")


def goals_filter(actor: Any, teacher_id):
    """SQL: rows whose ``teacher_id`` column names a teacher whose goals ``actor`` may see."""
    if not is_signed_in(actor):
        return false()
    m = mentorships_t
    return or_(teacher_id == actor.id, exists().where(m.c.mentee_id == teacher_id, m.c.mentor_id == actor.id,
                                                      m.c.ended_at.is_(None)))


def cycle_role(actor: Any, cycle: Any) -> str | None:
    """``"mentee"`` or ``"mentor"`` when ``actor`` takes part in the cycle, else None."""
    if not is_signed_in(actor) or cycle is None:
        return None
    if actor.id == cycle.mentee_id:
        return "mentee"
    return "mentor" if actor.id == cycle.mentor_id else None


def may_see_cycle(actor: Any, cycle: Any) -> bool:
    """Its mentee always (the history stays theirs); its mentor while the mentorship is active."""
    role = cycle_role(actor, cycle)
    return role == "mentee" or (role == "mentor" and is_active_mentor(cycle.mentor_id, cycle.mentee_id))


def require_cycle(actor: Any, cycle: Any, action: str = "view"):
    """The cycle if ``actor`` may ``view`` it or ``work`` on it (either party, while the mentorship is active;
    ``mentor``/``mentee``: that party only); NotFound if they may not see it, Forbidden otherwise."""
    if cycle is None or not may_see_cycle(actor, cycle):
        raise NotFound("No such observation cycle.")
    if action == "view":
        return cycle
    if not is_active_mentor(cycle.mentor_id, cycle.mentee_id):
        raise Forbidden("The mentorship has ended: this cycle can be read but no longer changed.")
    role = cycle_role(actor, cycle)
    if action in ("mentor", "mentee") and role != action:
        raise Forbidden(f"Only the cycle's {action} can do that.")
    return cycle


def cycles_filter(actor: Any, mentor_id, mentee_id):
    """SQL: the cycles ``actor`` may see."""
    if not is_signed_in(actor):
        return false()
    m = mentorships_t
    active = exists().where(m.c.mentor_id == mentor_id, m.c.mentee_id == mentee_id, m.c.ended_at.is_(None))
    return or_(mentee_id == actor.id, and_(mentor_id == actor.id, active))


def may_start_cycle(actor: Any, mentor_id: int, mentee_id: int) -> bool:
    """The mentor or the mentee of an active mentorship."""
    return is_signed_in(actor) and actor.id in (mentor_id, mentee_id) and is_active_mentor(mentor_id, mentee_id)


def journal_entry_visible(actor: Any, entry: Any) -> bool:
    """Its author; once shared with mentors, also the author's active mentors. Nobody else (admins included)."""
    if not is_signed_in(actor) or entry is None:
        return False
    if actor.id == entry.author_id:
        return True
    return entry.visibility == "mentors" and is_active_mentor(actor.id, entry.author_id)


def may_edit_journal_entry(actor: Any, entry: Any) -> bool:
    """Change the words or the sharing: the author only."""
    return is_signed_in(actor) and entry is not None and actor.id == entry.author_id


def require_journal_entry(actor: Any, entry: Any, action: str = "view"):
    """``view`` and ``reply``: who may see it; ``edit`` (body, sharing): its author only."""
    if not journal_entry_visible(actor, entry):
        raise NotFound("No such journal entry.")
    if action == "edit" and not may_edit_journal_entry(actor, entry):
        raise Forbidden("Only its author can change a journal entry.")
    return entry


def journal_filter(actor: Any, author_id, visibility):
    """SQL: the journal entries ``actor`` may see (their own, and those shared with them as an active mentor)."""
    if not is_signed_in(actor):
        return false()
    m = mentorships_t
    mentored = exists().where(m.c.mentee_id == author_id, m.c.mentor_id == actor.id, m.c.ended_at.is_(None))
    return or_(author_id == actor.id, and_(visibility == "mentors", mentored))


def notification_filter(actor: Any, user_id):
    """SQL: notifications are their recipient's alone."""
    return user_id == actor.id if is_signed_in(actor) else false()


def may_share_model(actor: Any, lesson: Any) -> bool:
    """A lesson (or a clip of it) is shared as a model by the lesson's owner only."""
    return lesson_access(actor, lesson) >= Access.MANAGE


def model_visible(actor: Any, model: Any) -> bool:
    """Its owner, everyone signed in (school-wide), or the people chosen."""
    if not is_signed_in(actor) or model is None:
        return False
    if actor.id == model.owner_id or model.audience == "school":
        return True
    return any(r.user_id == actor.id for r in model.recipients)


def may_manage_model(actor: Any, model: Any) -> bool:
    return is_signed_in(actor) and model is not None and actor.id == model.owner_id


def models_filter(actor: Any, model_id, owner_id, audience):
    """SQL: the model lessons ``actor`` may browse."""
    if not is_signed_in(actor):
        return false()
    r = model_recipients_t
    return or_(owner_id == actor.id, audience == "school",
               exists().where(r.c.model_id == model_id, r.c.user_id == actor.id))


def model_notes_filter(actor: Any, author_id):
    """SQL: notes on model lessons are their author's alone."""
    return author_id == actor.id if is_signed_in(actor) else false()
