"""The watch state stores: the in-memory one (one process) and the Redis one (several processes) pass the same
tests; the Redis one also on what only it has (presence that runs out, two processes changing one session)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace

import pytest
import redis

from obsapp.watch.state import (
    LiveSession,
    MemoryStateStore,
    Participant,
    Person,
    Playback,
    RedisStateStore,
    StateUnavailable,
)

_prefixes = itertools.count(1)
ANN = Person(1, "Ann")
BEN = Person(2, "Ben")


class Clock:
    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self.ms = start_ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def redis_store_factory(redis_server, clock):
    """Stores sharing one key prefix of their own (as the processes of one installation do)."""
    prefix = f"test{next(_prefixes)}:watch:"
    clients = []

    def make() -> RedisStateStore:
        client = redis_server.client()
        clients.append(client)
        return RedisStateStore(client, presence_ttl_ms=30_000, prefix=prefix, clock=clock)

    yield make
    for client in clients:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStateStore()
    return request.getfixturevalue("redis_store_factory")()


def live(session_id: str = "s1", lesson_id: int = 7, **changes) -> LiveSession:
    return LiveSession(**{"session_id": session_id, "lesson_id": lesson_id, "host_id": ANN.id,
                          "duration_ms": 60_000, "playback": Playback(updated_at_ms=1000), **changes})


def person_at(sid: str, who: Person, when: int) -> Participant:
    return Participant(sid=sid, user=who, joined_at_ms=when)


def test_open_keeps_the_first_state_and_get_reads_it_back_whole(store):
    first = live(locked=True, playback=Playback(playing=True, position_ms=1234, rate=1.5, updated_at_ms=99, seq=3,
                                                action="seek", by=BEN))
    assert store.open(first) == first
    assert store.open(live()) == first  # already there: not replaced
    assert store.get("s1") == first
    assert store.get("other") is None


def test_update_applies_the_change_or_nothing(store):
    store.open(live())
    moved = store.update("s1", lambda current: replace(current, playback=replace(current.playback, seq=5)))
    assert moved.playback.seq == 5 and store.get("s1").playback.seq == 5
    assert store.update("missing", lambda current: current) is None

    def refuse(_current):
        raise ValueError("not allowed")

    with pytest.raises(ValueError, match="not allowed"):
        store.update("s1", refuse)
    assert store.get("s1").playback.seq == 5


def test_participants_join_in_order_and_the_last_to_leave_marks_the_session_empty(store):
    assert store.add_participant("s1", person_at("a", ANN, 10)) is None  # no state: nobody joins
    store.open(live(empty_since_ms=5))
    state, people = store.add_participant("s1", person_at("a", ANN, 10))
    assert state.empty_since_ms is None and [p.sid for p in people] == ["a"]
    _, people = store.add_participant("s1", person_at("b", BEN, 11))
    _, people = store.add_participant("s1", person_at("c", ANN, 12))  # Ann's second tab
    assert [p.sid for p in people] == ["a", "b", "c"]
    assert [p.sid for p in store.participants("s1")] == ["a", "b", "c"]

    removed, left, state = store.remove_participant("s1", "b", 500)
    assert removed == person_at("b", BEN, 11) and [p.sid for p in left] == ["a", "c"]
    assert state.empty_since_ms is None
    assert store.remove_participant("s1", "b", 501)[0] is None  # not there any more
    store.remove_participant("s1", "a", 600)
    removed, left, state = store.remove_participant("s1", "c", 700)
    assert removed.sid == "c" and left == [] and state.empty_since_ms == 700
    assert store.get("s1").empty_since_ms == 700


def test_sessions_of_a_lesson_and_discarding_one(store):
    store.open(live("s1", lesson_id=7))
    store.open(live("s2", lesson_id=7))
    store.open(live("s3", lesson_id=8))
    store.add_participant("s1", person_at("a", ANN, 1))
    assert sorted(s.session_id for s in store.sessions_of_lesson(7)) == ["s1", "s2"]
    store.discard("s1")
    assert store.get("s1") is None and store.participants("s1") == []
    assert [s.session_id for s in store.sessions_of_lesson(7)] == ["s2"]
    assert store.add_participant("s1", person_at("b", BEN, 2)) is None


def test_renew_adds_back_lost_connections_and_clears_the_empty_mark(store):
    assert store.renew("s1", [person_at("a", ANN, 1)]) is None  # no state
    store.open(live())
    store.add_participant("s1", person_at("a", ANN, 1))
    assert store.renew("s1", [person_at("a", ANN, 1)]) is False  # all there
    store.remove_participant("s1", "a", 50)  # e.g. lost with the store's memory
    assert store.get("s1").empty_since_ms == 50
    assert store.renew("s1", [person_at("a", ANN, 1), person_at("b", BEN, 2)]) is True
    assert [p.sid for p in store.participants("s1")] == ["a", "b"]
    assert store.get("s1").empty_since_ms is None


def test_controls_applied_at_once_are_never_lost(store, request):
    """Eight threads (with the Redis store: eight separate clients, as separate processes) each add 25 to seq."""
    stores = [store] * 8
    if isinstance(store, RedisStateStore):
        stores = [store] + [request.getfixturevalue("redis_store_factory")() for _ in range(7)]
    store.open(live())
    start = threading.Barrier(len(stores))

    def bump(each):
        start.wait()
        for _ in range(25):
            each.update("s1", lambda current: replace(current, playback=replace(current.playback,
                                                                                seq=current.playback.seq + 1)))

    threads = [threading.Thread(target=bump, args=(each,)) for each in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("s1").playback.seq == 8 * 25


# --- Redis only --------------------------------------------------------------------------------------------------

def test_a_connection_whose_process_stopped_renewing_it_leaves_no_ghost(redis_store_factory, clock):
    here, elsewhere = redis_store_factory(), redis_store_factory()
    here.open(live())
    here.add_participant("s1", person_at("a", ANN, 1))
    elsewhere.add_participant("s1", person_at("b", BEN, 2))
    clock.ms += 20_000
    here.renew("s1", [person_at("a", ANN, 1)])  # the process holding "b" died: nobody renews it
    clock.ms += 20_000
    assert [p.sid for p in elsewhere.participants("s1")] == ["a"]
    clock.ms += 40_000
    assert here.participants("s1") == []
    assert here.get("s1").empty_since_ms == clock.ms  # noticed empty now: the empty-session rules apply


def test_another_process_sees_every_change_and_keeps_its_last_copy(redis_store_factory):
    one, two = redis_store_factory(), redis_store_factory()
    one.open(live())
    two.update("s1", lambda current: replace(current, locked=True))
    assert one.get("s1").locked is True
    assert two.last_known("s1").locked is True and one.last_known("other") is None


def test_redis_down_is_a_clear_unavailable_error():
    broken = RedisStateStore(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1,
                                         retry=None), prefix="x:")
    with pytest.raises(StateUnavailable) as refused:
        broken.get("s1")
    assert refused.value.status == 503 and refused.value.code == "unavailable"
    with pytest.raises(StateUnavailable):
        broken.update("s1", lambda current: current)


def test_a_control_after_redis_forgot_its_scripts_still_applies(redis_store_factory, redis_server):
    """The compare-and-set script is loaded again when Redis no longer has it (restarted, SCRIPT FLUSH)."""
    one, two = redis_store_factory(), redis_store_factory()
    one.open(live())
    assert one.update("s1", lambda current: replace(current, locked=True)).locked
    redis_server.client().script_flush()
    moved = two.update("s1", lambda current: replace(current, playback=replace(current.playback, seq=7)))
    assert moved.locked and moved.playback.seq == 7
    assert one.get("s1") == moved


def test_a_control_computed_from_a_stale_state_is_computed_again(redis_store_factory):
    """Another process's change lands between this one's read and write: the change is applied again to the
    newer state (nothing lost), and the change function saw both."""
    one, two = redis_store_factory(), redis_store_factory()
    one.open(live())
    seen = []

    def slow_change(current):
        seen.append(current.playback.seq)
        if len(seen) == 1:  # meanwhile, another process moves the session on
            two.update("s1", lambda other: replace(other, playback=replace(other.playback, seq=other.playback.seq + 1)))
        return replace(current, playback=replace(current.playback, seq=current.playback.seq + 10))

    assert one.update("s1", slow_change).playback.seq == 11
    assert seen == [0, 1]
    assert two.get("s1").playback.seq == 11
