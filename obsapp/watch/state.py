"""The live state of watch sessions: playback (playing, position, rate, sequence number), the control lock
and who is connected. Everything here is behind :class:`WatchStateStore`: :class:`MemoryStateStore` for one
web process (the embedded default), :class:`RedisStateStore` when several processes serve Socket.IO through
Flask-SocketIO's message queue (``OBSAPP_REDIS_URL``). The store holds plain, JSON-friendly values and never
calls the database.

The Redis store keeps, per session: ``session:<id>`` (the ``LiveSession`` as JSON), ``people:<id>`` (a hash
``sid -> participant``) and ``alive:<id>`` (a sorted set ``sid -> deadline ms``: each connection's presence
lasts until its deadline unless the process holding the connection renews it, so a process that dies leaves
no ghosts); and per lesson a set of its session ids. Every change runs the same pure ``change`` functions as
the memory store, so two processes applying controls at once never lose one: a playback change (``update``,
on every control) is one compare-and-set round trip, a Lua script that writes the new state only if the stored
one is still the one the change was computed from (else it answers the stored one, and the change is computed
again from it); joins, leaves and presence renewals, which touch several keys, run inside WATCH/MULTI/EXEC
(retried when another process changed the keys meanwhile).

Why not WATCH for controls too: every blocking round trip costs a thread of a busy web process a wake-up and the
GIL, and WATCH/GET/HGETALL/ZRANGE/MULTI-EXEC are five of them before the state can be published; on a loaded
machine those waits, not Redis, made most of a control's fan-out time across processes (bench/scale.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

import redis

from obsapp.errors import ObsError

log = logging.getLogger(__name__)


def now_ms() -> int:
    """Server time in epoch milliseconds: the clock clients synchronise with (wall clock, so that several
    web processes on NTP-synchronised hosts agree)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Person:
    id: int
    name: str

    def public(self) -> dict:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class Playback:
    """Where the group is: ``position_ms`` was the position at server time ``updated_at_ms``."""

    playing: bool = False
    position_ms: int = 0
    rate: float = 1.0
    updated_at_ms: int = 0
    seq: int = 0
    action: str = "start"
    by: Person | None = None

    def position_at(self, when_ms: int, duration_ms: int | None = None) -> int:
        position = self.position_ms
        if self.playing and when_ms > self.updated_at_ms:
            position += round((when_ms - self.updated_at_ms) * self.rate)
        if duration_ms is not None:
            position = min(position, duration_ms)
        return max(0, position)

    def at(self, when_ms: int, duration_ms: int | None = None) -> Playback:
        """The same playback, expressed at another server time (the position moved on while playing)."""
        return replace(self, position_ms=self.position_at(when_ms, duration_ms), updated_at_ms=when_ms)


@dataclass(frozen=True)
class LiveSession:
    session_id: str
    lesson_id: int
    host_id: int | None
    duration_ms: int | None = None
    locked: bool = False
    playback: Playback = field(default_factory=Playback)
    empty_since_ms: int | None = None  # set when the last participant left; cleared on join

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Participant:
    sid: str  # the Socket.IO connection
    user: Person
    joined_at_ms: int


class WatchStateStore(Protocol):
    def open(self, live: LiveSession) -> LiveSession:
        """Store ``live`` unless the session already has state; return what is stored."""

    def get(self, session_id: str) -> LiveSession | None: ...

    def update(self, session_id: str, change: Callable[[LiveSession], LiveSession]) -> LiveSession | None:
        """Atomically replace the state with ``change(state)``; None if the session has no state.
        ``change`` is pure and quick; an exception from it leaves the state untouched and propagates."""

    def discard(self, session_id: str) -> None:
        """Forget the session's state and participants."""

    def add_participant(self, session_id: str, participant: Participant
                        ) -> tuple[LiveSession, list[Participant]] | None:
        """Add a connection to a session that has state and clear its ``empty_since_ms``, atomically; return the
        state and every participant (joining order), or None if the session has no state."""

    def remove_participant(self, session_id: str, sid: str, when_ms: int
                           ) -> tuple[Participant | None, list[Participant], LiveSession | None]:
        """Remove a connection, atomically setting ``empty_since_ms = when_ms`` if it was the last one; return
        it (None if it was not there), those left and the state."""

    def participants(self, session_id: str) -> list[Participant]: ...

    def sessions_of_lesson(self, lesson_id: int) -> list[LiveSession]: ...

    def renew(self, session_id: str, participants: list[Participant]) -> bool | None:
        """Keep these connections (held by the calling process) present: extend their presence, and add back
        any the store lost (a Redis restarted without persistence), clearing ``empty_since_ms`` then. Returns
        True if some were added back, False if all were there, None if the session has no state."""

    def last_known(self, session_id: str) -> LiveSession | None:
        """The latest state this process has read or written for the session (to rebuild a lost state)."""


class StateUnavailable(ObsError):
    status, code, default_message = (503, "unavailable",
                                     "Watching together is unavailable for a moment; it comes back by itself.")


class MemoryStateStore:
    """One process's store: dicts behind one lock (every operation is a few dict look-ups)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, LiveSession] = {}
        self._participants: dict[str, dict[str, Participant]] = {}

    def open(self, live: LiveSession) -> LiveSession:
        with self._lock:
            return self._sessions.setdefault(live.session_id, live)

    def get(self, session_id: str) -> LiveSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def update(self, session_id: str, change: Callable[[LiveSession], LiveSession]) -> LiveSession | None:
        with self._lock:
            current = self._sessions.get(session_id)
            if current is None:
                return None
            new = change(current)
            self._sessions[session_id] = new
            return new

    def discard(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)
            self._participants.pop(session_id, None)

    def add_participant(self, session_id: str, participant: Participant
                        ) -> tuple[LiveSession, list[Participant]] | None:
        with self._lock:
            live = self._sessions.get(session_id)
            if live is None:
                return None
            if live.empty_since_ms is not None:
                live = self._sessions[session_id] = replace(live, empty_since_ms=None)
            people = self._participants.setdefault(session_id, {})
            people[participant.sid] = participant
            return live, list(people.values())

    def remove_participant(self, session_id: str, sid: str, when_ms: int
                           ) -> tuple[Participant | None, list[Participant], LiveSession | None]:
        with self._lock:
            people = self._participants.get(session_id, {})
            removed = people.pop(sid, None)
            live = self._sessions.get(session_id)
            if removed is not None and not people and live is not None:
                live = self._sessions[session_id] = replace(live, empty_since_ms=when_ms)
            return removed, list(people.values()), live

    def participants(self, session_id: str) -> list[Participant]:
        with self._lock:
            return list(self._participants.get(session_id, {}).values())

    def sessions_of_lesson(self, lesson_id: int) -> list[LiveSession]:
        with self._lock:
            return [live for live in self._sessions.values() if live.lesson_id == lesson_id]

    def renew(self, session_id: str, participants: list[Participant]) -> bool | None:
        with self._lock:
            live = self._sessions.get(session_id)
            if live is None:
                return None
            people = self._participants.setdefault(session_id, {})
            missing = [p for p in participants if p.sid not in people]
            for participant in missing:
                people[participant.sid] = participant
            if missing and live.empty_since_ms is not None:
                self._sessions[session_id] = replace(live, empty_since_ms=None)
            return bool(missing)

    def last_known(self, session_id: str) -> LiveSession | None:
        return self.get(session_id)  # this process's memory is the state


# --- Redis -----------------------------------------------------------------------------------------------------

def _live_from_json(raw: str) -> LiveSession:
    data = json.loads(raw)
    playback = dict(data.pop("playback"))
    by = playback.pop("by", None)
    return LiveSession(**data, playback=Playback(**playback, by=Person(**by) if by else None))


def _participant_to_json(participant: Participant, added_ns: int) -> str:
    return json.dumps({"sid": participant.sid, "user": participant.user.public(),
                       "joined_at_ms": participant.joined_at_ms, "added_ns": added_ns})


def _participant_from_json(raw: str) -> tuple[Participant, int]:
    data = json.loads(raw)
    return Participant(sid=data["sid"], user=Person(**data["user"]), joined_at_ms=data["joined_at_ms"]), \
        data["added_ns"]


@dataclass
class _Txn:
    """What one WATCH/MULTI/EXEC round read; the work queues its writes on ``pipe`` (already in MULTI)."""

    pipe: redis.client.Pipeline
    live: LiveSession | None
    people: dict[str, tuple[Participant, int]]  # alive connections: sid -> (participant, added_ns)
    expired: dict[str, tuple[Participant, int]]  # connections whose presence ran out (removed in this round)


# KEYS[1] the session's state; ARGV[1] the state the change was computed from, ARGV[2] the changed state. Writes
# ARGV[2] only if the stored state is still ARGV[1]: {1} when written, {0, stored} when another change came first,
# {0} when the session has no state.
_SWAP_IF_UNCHANGED = """
local stored = redis.call('GET', KEYS[1])
if not stored then return {0} end
if stored == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return {1}
end
return {0, stored}
"""


class RedisStateStore:
    """The shared store: every process of one installation uses the same Redis database (see module doc)."""

    def __init__(self, client: redis.Redis, *, presence_ttl_ms: int = 30_000, prefix: str = "obsapp:watch:",
                 clock: Callable[[], int] = now_ms) -> None:
        self._redis = client
        self._ttl_ms = presence_ttl_ms
        self._prefix = prefix
        self._clock = clock
        self._seen_lock = threading.Lock()
        self._seen: dict[str, LiveSession] = {}
        self._swap = client.register_script(_SWAP_IF_UNCHANGED)  # EVALSHA, loaded again after a Redis restart

    @property
    def presence_ttl_ms(self) -> int:
        return self._ttl_ms

    # keys
    def _session_key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def _people_key(self, session_id: str) -> str:
        return f"{self._prefix}people:{session_id}"

    def _alive_key(self, session_id: str) -> str:
        return f"{self._prefix}alive:{session_id}"

    def _lesson_key(self, lesson_id: int) -> str:
        return f"{self._prefix}lesson:{lesson_id}"

    @contextmanager
    def _available(self) -> Iterator[None]:
        """Redis errors become :class:`StateUnavailable` (503 for a request, an ``error`` event for a socket)
        with one clear log line, never a traceback for the person."""
        try:
            yield
        except redis.RedisError as exc:
            log.error("Redis is unavailable for watch-together state (OBSAPP_REDIS_URL): %s: %s",
                      exc.__class__.__name__, exc)
            raise StateUnavailable() from exc

    def _remember(self, session_id: str, live: LiveSession | None) -> LiveSession | None:
        if live is not None:
            with self._seen_lock:
                self._seen[session_id] = live
        return live

    def _atomic(self, session_id: str, work: Callable[[_Txn], object]):
        """Read the session's keys under WATCH, prune connections whose presence ran out, let ``work`` queue
        its writes, EXEC; start again if another process changed a key meanwhile. An exception from ``work``
        leaves everything untouched."""
        keys = (self._session_key(session_id), self._people_key(session_id), self._alive_key(session_id))
        with self._available(), self._redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(*keys)
                    raw = pipe.get(keys[0])
                    live = _live_from_json(raw) if raw else None
                    records = pipe.hgetall(keys[1])
                    deadlines = dict(pipe.zrange(keys[2], 0, -1, withscores=True))
                    now = self._clock()
                    people: dict[str, tuple[Participant, int]] = {}
                    expired: dict[str, tuple[Participant, int]] = {}
                    for sid, record in records.items():
                        (people if deadlines.get(sid, 0) >= now else expired)[sid] = _participant_from_json(record)
                    strays = [sid for sid in deadlines if sid not in records]
                    pipe.multi()
                    if expired or strays:
                        if expired:
                            pipe.hdel(keys[1], *expired)
                        pipe.zrem(keys[2], *expired, *strays)
                        if not people and live is not None and live.empty_since_ms is None:
                            live = replace(live, empty_since_ms=now)  # its last connections vanished
                            pipe.set(keys[0], json.dumps(live.to_dict()))
                    result = work(_Txn(pipe, live, people, expired))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue

    def _set_live(self, txn: _Txn, live: LiveSession) -> LiveSession:
        txn.pipe.set(self._session_key(live.session_id), json.dumps(live.to_dict()))
        txn.live = live
        return live

    def _add(self, txn: _Txn, session_id: str, participant: Participant) -> None:
        known = txn.people.get(participant.sid)
        added = known[1] if known else time.time_ns()
        txn.pipe.hset(self._people_key(session_id), participant.sid, _participant_to_json(participant, added))
        txn.pipe.zadd(self._alive_key(session_id), {participant.sid: self._clock() + self._ttl_ms})
        txn.people[participant.sid] = (participant, added)

    @staticmethod
    def _in_order(people: dict[str, tuple[Participant, int]]) -> list[Participant]:
        return [p for p, _ in sorted(people.values(), key=lambda item: (item[1], item[0].sid))]

    # the WatchStateStore interface
    def open(self, live: LiveSession) -> LiveSession:
        def work(txn: _Txn) -> LiveSession:
            if txn.live is not None:
                return txn.live
            txn.pipe.sadd(self._lesson_key(live.lesson_id), live.session_id)
            return self._set_live(txn, live)

        return self._remember(live.session_id, self._atomic(live.session_id, work))

    def get(self, session_id: str) -> LiveSession | None:
        with self._available():
            raw = self._redis.get(self._session_key(session_id))
        return self._remember(session_id, _live_from_json(raw) if raw else None)

    def update(self, session_id: str, change: Callable[[LiveSession], LiveSession]) -> LiveSession | None:
        """Read the state, apply ``change``, write it back only if nobody changed it meanwhile (one script call),
        else apply ``change`` again to the state the script answered: two round trips in all, however many
        processes change the session at once (each retry means another change did land)."""
        key = self._session_key(session_id)
        with self._available():
            raw = self._redis.get(key)
            while raw is not None:
                new = change(_live_from_json(raw))
                answer = self._swap(keys=[key], args=[raw, json.dumps(new.to_dict())])
                if int(answer[0]) == 1:
                    return self._remember(session_id, new)
                raw = answer[1] if len(answer) > 1 else None
        return None

    def discard(self, session_id: str) -> None:
        live = self.get(session_id)
        with self._available(), self._redis.pipeline() as pipe:
            pipe.delete(self._session_key(session_id), self._people_key(session_id), self._alive_key(session_id))
            if live is not None:
                pipe.srem(self._lesson_key(live.lesson_id), session_id)
            pipe.execute()
        with self._seen_lock:
            self._seen.pop(session_id, None)

    def add_participant(self, session_id: str, participant: Participant
                        ) -> tuple[LiveSession, list[Participant]] | None:
        def work(txn: _Txn):
            if txn.live is None:
                return None
            if txn.live.empty_since_ms is not None:
                self._set_live(txn, replace(txn.live, empty_since_ms=None))
            self._add(txn, session_id, participant)
            return txn.live, self._in_order(txn.people)

        added = self._atomic(session_id, work)
        if added is not None:
            self._remember(session_id, added[0])
        return added

    def remove_participant(self, session_id: str, sid: str, when_ms: int
                           ) -> tuple[Participant | None, list[Participant], LiveSession | None]:
        def work(txn: _Txn):
            found = txn.people.pop(sid, None)
            if found is not None:
                txn.pipe.hdel(self._people_key(session_id), sid)
                txn.pipe.zrem(self._alive_key(session_id), sid)
            else:
                found = txn.expired.get(sid)  # its presence ran out: already removed in this round
            live = txn.live
            if found is not None and not txn.people and live is not None:
                live = self._set_live(txn, replace(live, empty_since_ms=when_ms))
            return (found[0] if found else None), self._in_order(txn.people), live

        return self._atomic(session_id, work)

    def participants(self, session_id: str) -> list[Participant]:
        return self._atomic(session_id, lambda txn: self._in_order(txn.people))

    def sessions_of_lesson(self, lesson_id: int) -> list[LiveSession]:
        key = self._lesson_key(lesson_id)
        with self._available():
            session_ids = sorted(self._redis.smembers(key))
            raws = self._redis.mget([self._session_key(s) for s in session_ids]) if session_ids else []
            gone = [s for s, raw in zip(session_ids, raws, strict=True) if raw is None]
            if gone:
                self._redis.srem(key, *gone)
        return [_live_from_json(raw) for raw in raws if raw is not None]

    def renew(self, session_id: str, participants: list[Participant]) -> bool | None:
        def work(txn: _Txn) -> bool | None:
            if txn.live is None:
                return None
            missing = [p for p in participants if p.sid not in txn.people]
            for participant in participants:
                self._add(txn, session_id, participant)
            if missing and txn.live.empty_since_ms is not None:
                self._set_live(txn, replace(txn.live, empty_since_ms=None))
            return bool(missing)

        return self._atomic(session_id, work)

    def last_known(self, session_id: str) -> LiveSession | None:
        with self._seen_lock:
            return self._seen.get(session_id)

    def ping(self) -> None:
        with self._available():
            self._redis.ping()


def present_people(participants: list[Participant]) -> list[Person]:
    """Each person once (several tabs are one person), in the order they first joined."""
    seen: dict[int, Person] = {}
    for participant in sorted(participants, key=lambda p: p.joined_at_ms):
        seen.setdefault(participant.user.id, participant.user)
    return list(seen.values())
