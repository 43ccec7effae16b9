"""Watch-session rules: who may start and join (anyone who may view the lesson), what each control does to
the group's playback, the host's lock, flags and notes, and when a session ends. Live state goes through the
state store; the log goes to the database (committed by the event or request that made the change);
participants hear about every change, once it is committed, through Socket.IO rooms (``watch:<session_id>``),
whichever process or request made it."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass, replace

from flask import Flask, current_app, url_for
from sqlalchemy import select, update

from obsapp import policy, uow
from obsapp.accounts.models import Mentorship, User, utcnow
from obsapp.errors import Conflict, Gone, InvalidInput, NotFound
from obsapp.extensions import db, redis_client, socketio
from obsapp.lessons.models import Lesson, LessonShare
from obsapp.watch.models import WatchEvent, WatchInvitation, WatchSession
from obsapp.watch.state import (
    LiveSession,
    MemoryStateStore,
    Participant,
    Person,
    Playback,
    RedisStateStore,
    WatchStateStore,
    now_ms,
    present_people,
)

log = logging.getLogger(__name__)

NAMESPACE = "/watch"
ACTIONS = ("play", "pause", "seek", "rate")
MIN_RATE, MAX_RATE = 0.25, 4.0
MAX_NOTE_CHARS = 5000
NOT_FOUND = "No such watch session."  # also for sessions of lessons the person may not see
DEFAULT_EMPTY_GRACE_S = 30  # a session whose last participant left ends after this (time to reconnect)
DEFAULT_START_GRACE_S = 600  # a session nobody has joined yet ends after this


# --- where things live ------------------------------------------------------------------------------------

def state_store(app: Flask | None = None) -> WatchStateStore:
    """The app's store: shared through Redis when OBSAPP_REDIS_URL is set, else this process's memory."""
    app = app or current_app
    store = app.extensions.get("obsapp.watch_state")
    if store is None:
        client = redis_client(app)
        made = MemoryStateStore() if client is None else RedisStateStore(
            client, presence_ttl_ms=int(app.config["REDIS_PRESENCE_TTL_S"]) * 1000)
        store = app.extensions.setdefault("obsapp.watch_state", made)
    return store


def session_room(session_id: str) -> str:
    return f"watch:{session_id}"


def person_room(session_id: str, user_id: int) -> str:
    """Every connection of one person in one session (private annotations go only there)."""
    return f"watch:{session_id}:user:{user_id}"


def _emit(event: str, data: dict, room: str, skip_sid: str | None = None) -> None:
    """Tell a room (but ``skip_sid``) once the unit of work that made the change (the Socket.IO event, the request)
    commits."""
    uow.after_commit(socketio.emit, event, data, to=room, namespace=NAMESPACE, skip_sid=skip_sid)


# --- payloads -----------------------------------------------------------------------------------------------

def state_payload(live: LiveSession, when_ms: int | None = None) -> dict:
    """The ``state`` event: the group's playback at server time ``server_time_ms``."""
    when = now_ms() if when_ms is None else when_ms
    playback = live.playback
    position = playback.position_at(when, live.duration_ms)
    at_end = live.duration_ms is not None and position >= live.duration_ms
    return {
        "playing": playback.playing and not at_end, "position_ms": position, "rate": playback.rate,
        "server_time_ms": when, "seq": playback.seq, "action": playback.action,
        "by": playback.by.public() if playback.by else None, "locked": live.locked,
    }


def presence_payload(live: LiveSession | None, participants: list[Participant]) -> dict:
    host_id = live.host_id if live else None
    return {"users": [{**person.public(), "host": person.id == host_id} for person in present_people(participants)]}


def event_payload(event: WatchEvent) -> dict:
    return {
        "id": event.id, "kind": event.kind, "at_ms": event.at_ms, "payload": event.payload or {},
        "user": {"id": event.user.id, "name": event.user.name} if event.user else None,
        "created_at": event.created_at,
    }


def socket_transports() -> list[str]:
    """What the page's Socket.IO client may use (OBSAPP_SOCKETIO_TRANSPORTS; WebSocket only with serve --workers
    N > 1), in the order it tries them: long-polling first when allowed, upgraded to WebSocket where it can."""
    allowed = current_app.config["SOCKETIO_TRANSPORTS"].split(",")
    return [t for t in ("polling", "websocket") if t in allowed]


def join_url(session: WatchSession) -> str:
    return url_for("watch.watch_page", session_id=session.id, _external=True)


def session_payload(session: WatchSession, *, with_log: bool = True) -> dict:
    store = state_store()
    live = store.get(session.id) if session.active else None
    participants = store.participants(session.id) if live else []
    payload = {
        "session_id": session.id, "lesson_id": session.lesson_id, "join_url": join_url(session),
        "host": {"id": session.host.id, "name": session.host.name} if session.host else None,
        "created_at": session.created_at, "ended_at": session.ended_at, "active": session.active,
        "control_locked": live.locked if live else session.control_locked,
        "state": state_payload(live) if live else None,
        "presence": presence_payload(live, participants),
    }
    if with_log:
        payload["log"] = [event_payload(event) for event in session.events]
    return payload


# --- reading ------------------------------------------------------------------------------------------------

def _visible_session(actor: User | None, session_id: object, *, settle: bool = True) -> WatchSession:
    """The session, if ``actor`` may view its lesson; otherwise the same NotFound as for no session at all.
    ``settle`` ends a session abandoned by a stopped process (a write: not for reading)."""
    session = None
    if isinstance(session_id, str) and 0 < len(session_id) <= 64:
        session = db.session.get(WatchSession, session_id)
    if session is None or not policy.can_watch(actor, session.lesson):
        raise NotFound(NOT_FOUND)
    if settle:
        _settle(session)
    return session


def get_session(actor: User | None, session_id: object) -> WatchSession:
    """Reading never writes: an abandoned session is ended by the next join or end, not by a GET."""
    return _visible_session(actor, session_id, settle=False)


def sessions_of_lesson(actor: User, lesson: Lesson):
    """A query of the lesson's sessions, newest first (the lesson already checked as visible)."""
    policy.require(actor, "view", lesson)
    return (select(WatchSession).where(WatchSession.lesson_id == lesson.id)
            .order_by(WatchSession.created_at.desc(), WatchSession.id.desc()))


def _settle(session: WatchSession) -> None:
    """A session left open by a process that stopped (no live state anywhere) ends once it has been quiet
    for longer than a session may wait for its first participant."""
    if not session.active or state_store().get(session.id) is not None:
        return
    last = db.session.execute(select(WatchEvent.created_at).where(WatchEvent.session_id == session.id)
                              .order_by(WatchEvent.id.desc()).limit(1)).scalar_one_or_none()
    quiet_since = last or session.created_at
    if (utcnow() - quiet_since).total_seconds() > _grace("WATCH_START_GRACE_S", DEFAULT_START_GRACE_S):
        _finish(session.id, by=None, reason="abandoned")
        db.session.refresh(session)


# --- starting, joining, leaving -------------------------------------------------------------------------------

def start_session(actor: User, lesson: Lesson) -> WatchSession:
    """Anyone who may view the lesson may start a session (and is its host)."""
    policy.require(actor, "view", lesson)
    session = WatchSession(id=secrets.token_urlsafe(18), lesson_id=lesson.id, host_id=actor.id, created_at=utcnow())
    db.session.add(session)
    db.session.flush()
    started = now_ms()
    state_store().open(LiveSession(session_id=session.id, lesson_id=lesson.id, host_id=actor.id,
                                   duration_ms=lesson.duration_ms, playback=Playback(updated_at_ms=started),
                                   empty_since_ms=started))
    _end_later_if_empty(session.id, started, _grace("WATCH_START_GRACE_S", DEFAULT_START_GRACE_S))
    return session


@dataclass(frozen=True)
class Joined:
    session: WatchSession
    live: LiveSession
    participants: list[Participant]
    me: Person


def join(actor: User, session_id: object, sid: str) -> Joined:
    """Add connection ``sid`` of ``actor`` to the session; log the person's arrival (once per person)."""
    session = _visible_session(actor, session_id)
    if not session.active:
        raise Gone("This watch session has ended.", code="session_ended")
    store = state_store()
    if store.get(session.id) is None:  # the process (or Redis) that held it restarted: carry on
        store.open(_revived(session))
    me = Person(actor.id, actor.name)
    already_here = any(p.user.id == actor.id for p in store.participants(session.id))
    added = store.add_participant(session.id, Participant(sid=sid, user=me, joined_at_ms=now_ms()))
    if added is None:  # ended meanwhile
        raise Gone("This watch session has ended.", code="session_ended")
    live, participants = added
    if not already_here:
        _log(session.id, actor.id, "join", live.playback.position_at(now_ms(), live.duration_ms))
    # the others hear of the arrival; the joiner gets its own state and presence from the join handler
    _emit("presence", presence_payload(live, participants), session_room(session.id), skip_sid=sid)
    return Joined(session, live, participants, me)


def _revived(session: WatchSession) -> LiveSession:
    """The state of an active session whose live state was lost (its process, or a Redis without persistence,
    restarted): the latest copy this process saw, moved on to now; else paused where its log last was. Its seq
    is at least the server time, so that it outranks every state sent before (clients keep the highest seq)."""
    now = now_ms()
    known = state_store().last_known(session.id)
    if known is not None:
        playback = known.playback.at(now, known.duration_ms)
        return replace(known, empty_since_ms=None,
                       playback=replace(playback, seq=max(playback.seq + 1, now), action="resume"))
    last_at = db.session.execute(
        select(WatchEvent.at_ms).where(WatchEvent.session_id == session.id, WatchEvent.at_ms.is_not(None))
        .order_by(WatchEvent.id.desc()).limit(1)).scalar_one_or_none()
    return LiveSession(session_id=session.id, lesson_id=session.lesson_id, host_id=session.host_id,
                       duration_ms=session.lesson.duration_ms, locked=session.control_locked,
                       playback=Playback(position_ms=last_at or 0, updated_at_ms=now, seq=now, action="resume"))


def keep_present(session_id: str, participants: list[Participant]) -> None:
    """This process's connections in ``session_id`` are still here (a heartbeat, with a shared store): renew
    their presence before it runs out, rebuild the state and presence if the store lost them (Redis restarted
    empty), and announce the presence again. Announcing at every beat heals what a restart lost on the way:
    messages published while a process's message-queue listener was reconnecting reach nobody."""
    store = state_store()
    revived = store.get(session_id) is None and _revive(session_id)
    if store.renew(session_id, participants) is None:
        return  # ended meanwhile
    live = store.get(session_id)
    if live is None:
        return
    if revived:
        _emit("state", state_payload(live), session_room(session_id))
    _emit("presence", presence_payload(live, store.participants(session_id)), session_room(session_id))


def _revive(session_id: str) -> bool:
    """Rebuild the lost live state of a session that is still active; False if it has ended."""
    session = db.session.get(WatchSession, session_id)
    if session is None or not session.active:
        return False
    state_store().open(_revived(session))
    return True


def leave(session_id: str, sid: str, *, reason: str = "left") -> list[Participant] | None:
    """Remove connection ``sid``; when nobody is left, the session ends after the grace period unless
    someone (re)joins. Returns who is left, or None if ``sid`` was not in the session."""
    since = now_ms()
    removed, remaining, live = state_store().remove_participant(session_id, sid, since)
    if removed is None or live is None:
        return None if removed is None else remaining
    position = live.playback.position_at(since, live.duration_ms)
    if not any(p.user.id == removed.user.id for p in remaining):
        _log(session_id, removed.user.id, "leave", position, {"reason": reason})
        if removed.user.id == live.host_id and live.locked and remaining:
            # nobody could control a locked session without its host: unlock it (the host may lock it again)
            live = state_store().update(session_id, lambda current: replace(current, locked=False)) or live
            db.session.execute(update(WatchSession).where(WatchSession.id == session_id).values(control_locked=False))
            _log(session_id, None, "control_lock", position, {"locked": False, "reason": "host_left"})
            _emit("lock", {"locked": False, "by": None, "reason": "host_left"}, session_room(session_id))
    if not remaining:
        _end_later_if_empty(session_id, since, _grace("WATCH_EMPTY_GRACE_S", DEFAULT_EMPTY_GRACE_S))
    _emit("presence", presence_payload(live, remaining), session_room(session_id))
    return remaining


def _grace(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def _end_later_if_empty(session_id: str, since_ms: int, delay_s: float) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def check() -> None:
        socketio.sleep(delay_s)
        with app.app_context():
            store = state_store()
            live = store.get(session_id)
            if live is None or live.empty_since_ms != since_ms or store.participants(session_id):
                return
            try:
                with uow.transaction():
                    _finish(session_id, by=None, reason="empty")
            except Exception:  # a background thread: log, never raise into the void
                log.exception("Could not end the empty watch session %s", session_id)

    socketio.start_background_task(check)


# --- playback -----------------------------------------------------------------------------------------------

def _position(value: object, live: LiveSession, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidInput("position_ms must be a number of milliseconds, 0 or more.",
                           fields={"position_ms": ["Not a valid position."]})
    position = round(value)
    return min(position, live.duration_ms) if live.duration_ms is not None else position


def _rate(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not MIN_RATE <= value <= MAX_RATE:
        raise InvalidInput(f"rate must be a number from {MIN_RATE} to {MAX_RATE}.", fields={"rate": ["Not valid."]})
    return float(value)


def _live(session_id: str) -> LiveSession:
    live = state_store().get(session_id)
    if live is None and _revive(session_id):  # lost by a store that restarted: the session goes on
        live = state_store().get(session_id)
    if live is None:
        raise Gone("This watch session has ended.", code="session_ended")
    return live


def _may_control(live: LiveSession, who: Person) -> None:
    policy.require_watch_control(who, live)


def control(session_id: str, who: Person, action: object, position_ms: object = None,
            rate: object = None) -> LiveSession:
    """Apply play, pause, seek or rate for everyone; every participant (the sender too) gets the new state."""
    if action not in ACTIONS:
        raise InvalidInput("action must be one of play, pause, seek, rate.", fields={"action": ["Not valid."]})
    store = state_store()
    # Only the duration is read from the snapshot, and it never changes in a session: the copy this process saw
    # last will do (one Redis read fewer on every control); the change itself is made to the stored state.
    snapshot = store.last_known(session_id) or _live(session_id)
    position = _position(position_ms, snapshot, required=action == "seek")
    new_rate = _rate(rate) if action == "rate" or rate is not None else None
    now = now_ms()

    def change(live: LiveSession) -> LiveSession:
        _may_control(live, who)
        playback = live.playback
        at = position if position is not None else playback.position_at(now, live.duration_ms)
        playing = {"play": True, "pause": False}.get(str(action), playback.playing)
        return replace(live, playback=Playback(
            playing=playing, position_ms=at, rate=new_rate if new_rate is not None else playback.rate,
            updated_at_ms=now, seq=playback.seq + 1, action=str(action), by=who))

    live = store.update(session_id, change)
    if live is None and _revive(session_id):  # lost by a store that restarted: the session goes on
        live = store.update(session_id, change)
    if live is None:
        raise Gone("This watch session has ended.", code="session_ended")
    _emit("state", state_payload(live, now), session_room(session_id))
    return live


def flag(session_id: str, who: Person, position_ms: object = None) -> LiveSession:
    """Pause everyone at ``position_ms`` and ask everyone to open a shared note there."""
    snapshot = _live(session_id)
    position = _position(position_ms, snapshot, required=False)
    now = now_ms()

    def change(live: LiveSession) -> LiveSession:
        _may_control(live, who)
        at = position if position is not None else live.playback.position_at(now, live.duration_ms)
        return replace(live, playback=replace(live.playback, playing=False, position_ms=at, updated_at_ms=now,
                                              seq=live.playback.seq + 1, action="flag", by=who))

    live = state_store().update(session_id, change)
    if live is None:
        raise Gone("This watch session has ended.", code="session_ended")
    event = _log(session_id, who.id, "flag", live.playback.position_ms)
    room = session_room(session_id)
    _emit("state", state_payload(live, now), room)
    _emit("flag", {"id": event.id, "by": who.public(), "position_ms": live.playback.position_ms}, room)
    return live


def set_lock(session_id: str, who: Person, locked: object) -> LiveSession:
    """Host only: when locked, only the host's controls (and flags) are applied."""
    if not isinstance(locked, bool):
        raise InvalidInput("locked must be true or false.", fields={"locked": ["Not a boolean."]})
    live = _live(session_id)
    policy.require_watch_host(who, live, "lock the controls")
    live = state_store().update(session_id, lambda current: replace(current, locked=locked))
    if live is None:
        raise Gone("This watch session has ended.", code="session_ended")
    db.session.execute(update(WatchSession).where(WatchSession.id == session_id).values(control_locked=locked))
    _log(session_id, who.id, "control_lock", live.playback.position_at(now_ms(), live.duration_ms),
         {"locked": locked})
    _emit("lock", {"locked": locked, "by": who.public()}, session_room(session_id))
    return live


def note(session_id: str, who: Person, position_ms: object, body: object) -> dict:
    """A note kept in the session's log and shown to everyone (for people who may not annotate the lesson,
    or before annotations exist); notes made as annotations are logged from the annotation events."""
    live = _live(session_id)
    position = _position(position_ms, live, required=True)
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("Write something in the note.", fields={"body": ["Required."]})
    if len(body) > MAX_NOTE_CHARS:
        raise InvalidInput(f"A note holds at most {MAX_NOTE_CHARS} characters.", fields={"body": ["Too long."]})
    event = _log(session_id, who.id, "note", position, {"body": body.strip()})
    payload = {"id": event.id, "by": who.public(), "position_ms": position, "body": body.strip()}
    _emit("note", payload, session_room(session_id))
    return payload


# --- annotations made while watching -------------------------------------------------------------------------

def _author_id(annotation: dict) -> int | None:
    author = annotation.get("author")
    value = author.get("id") if isinstance(author, dict) else annotation.get("author_id")
    return value if isinstance(value, int) else None


def forward_annotation(lesson_id: int, event: str, annotation: dict) -> None:
    """Send an annotation event on ``lesson_id`` to the sessions watching it (a private annotation only to
    its author) and log new ones made by a participant as the session's notes."""
    store = state_store()
    author_id = _author_id(annotation)
    private = policy.annotation_for_author_only(annotation)
    message = {"event": event, "annotation": annotation}
    watched = list(store.sessions_of_lesson(lesson_id))
    # an observation cycle's self-review first may still hide it from some people (obsapp.policy.held_back)
    hidden = policy.held_back_from(lesson_id, author_id) if watched and author_id is not None and not private \
        else set()
    for live in watched:
        if private:
            if author_id is not None:
                _emit("annotation", message, person_room(live.session_id, author_id))
        elif hidden:
            for user_id in {p.user.id for p in store.participants(live.session_id)} - hidden:
                _emit("annotation", message, person_room(live.session_id, user_id))
        else:
            _emit("annotation", message, session_room(live.session_id))
        if event == "annotation.created" and not private and author_id is not None and any(
                p.user.id == author_id for p in store.participants(live.session_id)):
            start = annotation.get("start_ms")
            _log(live.session_id, author_id, "note", start if isinstance(start, int) else None,
                 {"annotation_id": annotation.get("id"), "kind": annotation.get("kind")})


# --- invitations --------------------------------------------------------------------------------------------

MAX_INVITEES = 100
NO_INVITATION = "No such invitation."


def invitation_url(session_id: str) -> str:
    """Where an invitation (its notification, its email) leads: the session while it runs, else a notice."""
    return url_for("watch.invitation_page", session_id=session_id)


def invitation_payload(invitation: WatchInvitation) -> dict:
    session = invitation.session
    return {
        "id": invitation.id, "session_id": session.id, "lesson_id": session.lesson_id,
        "lesson_title": session.lesson.title,
        "user": {"id": invitation.user.id, "name": invitation.user.name},
        "invited_by": ({"id": invitation.invited_by.id, "name": invitation.invited_by.name}
                       if invitation.invited_by else None),
        "created_at": invitation.created_at, "expired": invitation.expired,
        "join_url": join_url(session), "url": invitation_url(session.id),
    }


def invitation_candidates(actor: User, session_id: object) -> list[dict]:
    """Who the host may pick: the lesson's owner, the people it is shared with and the owner's active mentors
    (each active and still allowed to see the lesson), but the host; ``invited`` marks those already asked."""
    session = _visible_session(actor, session_id, settle=False)
    policy.require_watch_host(actor, session, "invite people")
    lesson = session.lesson
    ids = {lesson.owner_id}
    ids.update(db.session.execute(select(LessonShare.user_id).where(LessonShare.lesson_id == lesson.id)).scalars())
    ids.update(db.session.execute(select(Mentorship.mentor_id).where(
        Mentorship.mentee_id == lesson.owner_id, Mentorship.ended_at.is_(None))).scalars())
    ids.discard(actor.id)
    invited = set(db.session.execute(select(WatchInvitation.user_id).where(
        WatchInvitation.session_id == session.id)).scalars())
    people = [user for user in (db.session.get(User, i) for i in ids)
              if user is not None and policy.may_be_invited_to_watch(user, lesson)]
    return [{"id": user.id, "name": user.name, "invited": user.id in invited}
            for user in sorted(people, key=lambda u: (u.name.lower(), u.id))]


def invite(actor: User, session_id: object, user_ids: object) -> list[WatchInvitation]:
    """The host asks people who may see the lesson to join the running session. Each is told once (a notification,
    made in the same transaction by the mentoring domain); asking again changes nothing. All or nothing: one
    person who may not be invited refuses the whole request."""
    session = _visible_session(actor, session_id)
    policy.require_watch_host(actor, session, "invite people")
    if not session.active:
        raise Conflict("This watch session has ended: its invitations have expired.", code="session_ended")
    if (not isinstance(user_ids, list) or not user_ids or len(user_ids) > MAX_INVITEES
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in user_ids)):
        raise InvalidInput(f"Choose between 1 and {MAX_INVITEES} people to invite.",
                           fields={"user_ids": ["A list of user ids."]})
    refused, people = [], []
    for user_id in dict.fromkeys(user_ids):
        user = db.session.get(User, user_id)
        if user is None or user.id == actor.id or not policy.may_be_invited_to_watch(user, session.lesson):
            refused.append(user_id)
        else:
            people.append(user)
    if refused:
        raise InvalidInput("These people cannot be invited (they cannot see this lesson, or are the host): "
                           + ", ".join(f"#{i}" for i in refused) + ".",
                           fields={"user_ids": [f"Cannot be invited: {i}." for i in refused]})
    already = {row.user_id: row for row in db.session.execute(select(WatchInvitation).where(
        WatchInvitation.session_id == session.id)).scalars()}
    result = []
    for user in people:
        invitation = already.get(user.id)
        if invitation is None:
            invitation = WatchInvitation(session_id=session.id, user_id=user.id, invited_by_id=actor.id,
                                         created_at=utcnow())
            db.session.add(invitation)
        result.append(invitation)
    db.session.flush()
    return result


def invitations_of(actor: User, session_id: object) -> list[WatchInvitation]:
    """A session's invitations: the host sees all of them, anyone else who may see the session only their own."""
    session = _visible_session(actor, session_id, settle=False)
    stmt = select(WatchInvitation).where(WatchInvitation.session_id == session.id)
    if not policy.is_watch_host(actor, session):
        stmt = stmt.where(WatchInvitation.user_id == actor.id)
    return list(db.session.execute(stmt.order_by(WatchInvitation.id)).scalars())


def my_invitations(actor: User, *, include_expired: bool = False):
    """A query of the invitations sent to ``actor`` (of sessions on lessons they may still see), newest first;
    only those of running sessions unless ``include_expired``."""
    stmt = (select(WatchInvitation).join(WatchSession, WatchSession.id == WatchInvitation.session_id)
            .where(policy.watch_invitation_filter(actor, WatchInvitation.user_id),
                   policy.lesson_id_filter(actor, WatchSession.lesson_id)))
    if not include_expired:
        stmt = stmt.where(WatchSession.ended_at.is_(None))
    return stmt.order_by(WatchInvitation.created_at.desc(), WatchInvitation.id.desc())


def invitation_for(actor: User, session_id: object) -> WatchInvitation:
    """``actor``'s invitation to the session (NotFound if there is none, or they may no longer see the lesson)."""
    session = _visible_session(actor, session_id, settle=False)
    invitation = db.session.execute(select(WatchInvitation).where(
        WatchInvitation.session_id == session.id,
        policy.watch_invitation_filter(actor, WatchInvitation.user_id))).scalar()
    if invitation is None:
        raise NotFound(NO_INVITATION)
    return invitation


# --- ending -------------------------------------------------------------------------------------------------

def end_session(actor: User, session_id: object) -> WatchSession:
    """The host ends the session for everyone (again: no change)."""
    session = _visible_session(actor, session_id)
    policy.require_watch_host(actor, session, "end the session")
    if session.active:
        _finish(session.id, by=Person(actor.id, actor.name), reason="host")
        db.session.refresh(session)
    return session


def _finish(session_id: str, *, by: Person | None, reason: str) -> None:
    store = state_store()
    live = store.get(session_id)
    ended = db.session.execute(update(WatchSession).where(WatchSession.id == session_id,
                                                          WatchSession.ended_at.is_(None))
                               .values(ended_at=utcnow()))
    if ended.rowcount != 1:  # someone else ended it meanwhile
        return
    position = live.playback.position_at(now_ms(), live.duration_ms) if live else None
    _log(session_id, by.id if by else None, "end", position, {"reason": reason})
    uow.after_commit(_close, session_id, by, reason)


def _close(session_id: str, by: Person | None, reason: str) -> None:
    """After the end is saved: drop the live state, tell everyone, close the rooms."""
    store = state_store()
    participants = store.participants(session_id)
    store.discard(session_id)
    room = session_room(session_id)
    socketio.emit("ended", {"reason": reason, "by": by.public() if by else None}, to=room, namespace=NAMESPACE)
    for person in present_people(participants):
        socketio.close_room(person_room(session_id, person.id), namespace=NAMESPACE)
    socketio.close_room(room, namespace=NAMESPACE)


def _log(session_id: str, user_id: int | None, kind: str, at_ms: int | None, payload: dict | None = None):
    event = WatchEvent(session_id=session_id, user_id=user_id, kind=kind, at_ms=at_ms, payload=payload,
                       created_at=utcnow())
    db.session.add(event)
    db.session.flush()
    return event


def annotations_available() -> dict:
    """What the watch page can use: the annotations API (notes become annotations) and live annotation events
    (both always there: watch depends on annotations)."""
    return {"api": True, "live": True}
