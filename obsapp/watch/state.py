"""The live state of watch sessions: playback (playing, position, rate, sequence number), the control lock
and who is connected. Everything here is behind :class:`WatchStateStore`, so that the in-memory store used
by one web process can be replaced by a shared one (Redis) when several processes serve Socket.IO through
Flask-SocketIO's message queue. The store holds plain, JSON-friendly values and never calls the database.

A Redis implementation maps each method onto one key per session (a JSON document for ``LiveSession``, a
hash ``sid -> participant`` for presence, a set per lesson) and makes ``update`` atomic with
WATCH/MULTI/EXEC retries around the same pure ``change`` function.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol


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


def present_people(participants: list[Participant]) -> list[Person]:
    """Each person once (several tabs are one person), in the order they first joined."""
    seen: dict[int, Person] = {}
    for participant in sorted(participants, key=lambda p: p.joined_at_ms):
        seen.setdefault(participant.user.id, participant.user)
    return list(seen.values())
