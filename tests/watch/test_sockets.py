"""Watch together over Socket.IO against a real `obsapp serve`: python-socketio clients, no mocks."""

from __future__ import annotations

import socket
import time

import pytest
import socketio

from tests.waiting import wait_until
from tests.watch.conftest import EMPTY_GRACE_S, NAMESPACE, start_session

GRACEFUL_TIMEOUT_S = 20  # obsapp.server: how long gunicorn lets requests finish on SIGTERM


@pytest.fixture
def trio(make_person, lesson_of):
    """An owner, a mentor and a colleague the lesson is shared with, and a session the owner started."""
    owner, mentor, colleague = make_person("Olivia Owner"), make_person("Marcus Mentor"), make_person("Chen Colleague")
    lesson = lesson_of(owner, shared_with=(mentor, colleague))
    session = start_session(owner, lesson["id"])
    return owner, mentor, colleague, lesson, session


def names(presence: dict) -> list[str]:
    return [user["name"] for user in presence["users"]]


def now_ms() -> float:
    return time.time() * 1000


def server_clock_passes(watcher, when_ms: int) -> None:
    """Wait until the server's clock (the one watch states are stamped with) has reached ``when_ms``."""
    wait_until(lambda: watcher.call("time", {"client_time_ms": now_ms()})["server_time_ms"] >= when_ms,
               f"the server clock to reach {when_ms}")


def test_join_sends_state_and_presence_to_everyone(trio, connect):
    owner, mentor, colleague, _, session = trio
    a = connect(owner)
    before = now_ms()
    ack = a.join(session["session_id"])
    assert ack["ok"] and ack["you"] == {"id": owner.id, "name": owner.name}
    state = a.wait_for("state")
    after = now_ms()
    assert {"playing", "position_ms", "rate", "server_time_ms", "seq"} <= set(state)
    assert state["playing"] is False and state["position_ms"] == 0 and state["rate"] == 1.0
    assert before - 1 <= state["server_time_ms"] <= after  # stamped while we waited, by the same clock
    assert names(a.wait_for("presence")) == ["Olivia Owner"]

    b, c = connect(mentor), connect(colleague)
    b.join(session["session_id"])
    c.join(session["session_id"])
    everyone = ["Olivia Owner", "Marcus Mentor", "Chen Colleague"]
    for watcher in (a, b, c):
        presence = watcher.wait_for("presence", lambda p: len(p["users"]) == 3)
        assert names(presence) == everyone
        assert [u["host"] for u in presence["users"]] == [True, False, False]

    marks = [(watcher, watcher.mark()) for watcher in (a, b)]  # the same two were present before c came
    c.call("leave")
    for watcher, mark in marks:
        watcher.wait_for("presence", lambda p: names(p) == ["Olivia Owner", "Marcus Mentor"], after=mark)


def test_every_control_reaches_every_participant_including_the_sender(trio, connect):
    owner, mentor, colleague, _, session = trio
    watchers = [connect(person) for person in (owner, mentor, colleague)]
    for watcher in watchers:
        watcher.join(session["session_id"])
    a, b, _ = watchers

    steps = [(a, {"action": "play", "position_ms": 1000}, {"playing": True, "position_ms": 1000, "rate": 1.0}),
             (b, {"action": "pause", "position_ms": 4200}, {"playing": False, "position_ms": 4200}),
             (b, {"action": "seek", "position_ms": 60000}, {"playing": False, "position_ms": 60000}),
             (a, {"action": "rate", "position_ms": 60000, "rate": 1.5}, {"rate": 1.5, "position_ms": 60000}),
             (a, {"action": "play", "position_ms": 60000}, {"playing": True, "rate": 1.5})]
    last_seq = 0
    for sender, control, expected in steps:
        ack = sender.call("control", control)
        assert ack["ok"], ack
        assert ack["seq"] > last_seq
        for watcher in watchers:
            state = watcher.wait_for("state", lambda s, seq=ack["seq"]: s["seq"] == seq)
            for key, value in expected.items():
                assert state[key] == value, (control, state)
            assert state["action"] == control["action"]
            assert state["by"] == {"id": sender.person.id, "name": sender.person.name}
        last_seq = ack["seq"]
    # seq only grows, for everyone
    for watcher in watchers:
        seqs = [s["seq"] for s in watcher.received("state")]
        assert seqs == sorted(seqs)


def test_a_late_joiner_starts_where_the_group_is_now(trio, connect):
    owner, mentor, _, _, session = trio
    a = connect(owner)
    a.join(session["session_id"])
    a.control("play", 5000)
    played_at = a.wait_for("state", lambda s: s["action"] == "play")["server_time_ms"]
    server_clock_passes(a, played_at + 800)  # the group has played on for (at least) 0.8 s
    b = connect(mentor)
    ack = b.join(session["session_id"])
    state = ack["state"]
    assert state["playing"] is True
    elapsed = state["server_time_ms"] - played_at
    assert elapsed >= 800
    assert state["position_ms"] == 5000 + elapsed  # at rate 1, exactly where the group is at that server time
    assert b.wait_for("state")["position_ms"] == state["position_ms"]

    # paused: the position stays put however late one comes
    a.control("pause", 7000)
    c = connect(mentor)
    assert c.join(session["session_id"])["state"] | {"server_time_ms": 0} == {
        **c.wait_for("state"), "server_time_ms": 0}
    assert c.wait_for("state")["position_ms"] == 7000 and c.wait_for("state")["playing"] is False


def test_people_who_may_not_see_the_lesson_are_refused_and_learn_nothing(trio, make_person, connect, watch_server):
    owner, _, _, _, session = trio
    stranger = make_person("Sam Stranger")
    a = connect(owner)
    a.join(session["session_id"])

    s = connect(stranger)  # a valid account may connect, but not join
    refused = s.join(session["session_id"])
    missing = s.join("no-such-session-000000000")
    assert refused == missing == {"ok": False, "error": {"code": "not_found", "message": "No such watch session."}}
    assert s.wait_for("error")["code"] == "not_found"
    a.control("play", 1234)
    a.wait_for("state", lambda st: st["action"] == "play")
    # the room's state went out before a got it; one round trip of s's own makes sure nothing is still on its way
    s.call("time", {"client_time_ms": now_ms()})
    assert s.received("state") == [] and s.received("presence") == []
    assert s.call("control", {"action": "pause", "position_ms": 0})["error"]["code"] == "not_joined"
    assert a.call("time", {"client_time_ms": now_ms()})["ok"]  # likewise for a: every presence has arrived
    assert [names(p) for p in a.received("presence")] == [["Olivia Owner"]]

    # the API and the page answer the same way
    assert stranger.api("GET", f"/api/v1/watch/{session['session_id']}").status_code == 404
    assert stranger.api("POST", f"/api/v1/lessons/{session['lesson_id']}/watch").status_code == 404
    page = stranger.cookie_session().get(session["join_url"], timeout=10)
    assert page.status_code == 404 and "Olivia" not in page.text and "Fractions" not in page.text


def test_connecting_needs_a_valid_sign_in_and_the_same_origin(trio, connect, watch_server):
    owner, _, _, _, session = trio
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(None)
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(None, headers={"Authorization": "Bearer not-a-real-token"})
    cookie = "; ".join(f"{k}={v}" for k, v in owner.cookie_session().cookies.items())
    for transports in (("websocket",), ("polling",)):  # a page on another site, with the person's cookie
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect(owner, cookie_header=cookie, origin="http://evil.example", transports=transports)
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect(owner, origin="http://evil.example", transports=transports)
        same_origin = connect(owner, cookie_header=cookie, origin=watch_server.url, transports=transports)
        assert same_origin.join(session["session_id"])["ok"]


def test_cookie_and_bearer_clients_watch_together_over_websocket_and_long_polling(trio, connect):
    owner, mentor, colleague, _, session = trio
    cookie = "; ".join(f"{k}={v}" for k, v in mentor.cookie_session().cookies.items())
    assert "obsapp_session" in cookie
    bearer = connect(owner, transports=("polling", "websocket"))  # starts polling, then upgrades
    by_cookie = connect(mentor, cookie_header=cookie)
    polling_only = connect(colleague, transports=("polling",))
    for watcher in (bearer, by_cookie, polling_only):
        assert watcher.join(session["session_id"])["ok"]
    wait_until(lambda: bearer.client.transport() == "websocket", "the polling client to upgrade to websocket")
    assert by_cookie.client.transport() == "websocket"
    assert polling_only.client.transport() == "polling"
    assert names(by_cookie.wait_for("presence", lambda p: len(p["users"]) == 3)) == [
        "Olivia Owner", "Marcus Mentor", "Chen Colleague"]

    for sender, position in ((by_cookie, 1500), (polling_only, 2500), (bearer, 3500)):
        seq = sender.control("seek", position)["seq"]
        for watcher in (bearer, by_cookie, polling_only):
            assert watcher.wait_for("state", lambda s, seq=seq: s["seq"] == seq)["position_ms"] == position


def test_the_host_can_lock_the_controls(trio, connect):
    owner, mentor, _, _, session = trio
    host, guest = connect(owner), connect(mentor)
    host.join(session["session_id"])
    guest.join(session["session_id"])

    refused = guest.call("lock", {"locked": True})
    assert refused["error"]["code"] == "not_host"
    assert host.call("lock", {"locked": True}) == {"ok": True, "locked": True}
    for watcher in (host, guest):
        assert watcher.wait_for("lock") == {"locked": True, "by": {"id": owner.id, "name": owner.name}}

    before = guest.wait_for("state")["seq"]
    mark = guest.mark()
    answer = guest.control("play", 1000)
    assert answer["ok"] is False and answer["error"]["code"] == "control_locked"
    assert guest.wait_for("error", after=mark)["code"] == "control_locked"
    assert guest.call("flag", {"position_ms": 1000})["error"]["code"] == "control_locked"
    seq = host.control("play", 2000)["seq"]
    state = guest.wait_for("state", lambda s: s["seq"] == seq)
    assert state["playing"] and state["position_ms"] == 2000 and state["locked"] is True
    assert not any(s["by"] and s["by"]["id"] == mentor.id for s in guest.received("state") if s["seq"] > before)

    host.call("lock", {"locked": False})
    guest.wait_for("lock", lambda data: data["locked"] is False)
    seq = guest.control("pause", 2500)["seq"]
    assert host.wait_for("state", lambda s: s["seq"] == seq)["locked"] is False

    # a locked session whose host has gone would be stuck: it unlocks (the host may lock it again on return)
    mark = guest.mark()
    host.call("lock", {"locked": True})
    guest.wait_for("lock", lambda data: data["locked"] is True, after=mark)
    mark = guest.mark()
    host.disconnect()
    assert guest.wait_for("lock", after=mark) == {"locked": False, "by": None, "reason": "host_left"}
    assert guest.control("play", 3000)["ok"]
    log = owner.api("GET", f"/api/v1/watch/{session['session_id']}").json()["log"]
    assert [e["payload"] for e in log if e["kind"] == "control_lock"] == [
        {"locked": True}, {"locked": False}, {"locked": True}, {"locked": False, "reason": "host_left"}]


def test_flagging_a_moment_pauses_everyone_there_and_asks_for_a_note(trio, connect):
    owner, mentor, colleague, _, session = trio
    watchers = [connect(person) for person in (owner, mentor, colleague)]
    for watcher in watchers:
        watcher.join(session["session_id"])
    watchers[0].control("play", 0)
    ack = watchers[1].call("flag", {"position_ms": 2500})
    assert ack["ok"] and ack["position_ms"] == 2500
    for watcher in watchers:
        state = watcher.wait_for("state", lambda s: s["seq"] == ack["seq"])
        assert state["playing"] is False and state["position_ms"] == 2500 and state["action"] == "flag"
        flag = watcher.wait_for("flag")
        assert flag["position_ms"] == 2500 and flag["by"] == {"id": mentor.id, "name": mentor.name}

    note = watchers[1].call("note", {"position_ms": 2500, "body": "Wait time after the question: 1 s."})
    assert note["ok"]
    for watcher in watchers:
        assert watcher.wait_for("note")["body"] == "Wait time after the question: 1 s."


def test_a_dropped_connection_reconnects_rejoins_and_gets_the_current_state(trio, connect):
    owner, mentor, _, _, session = trio
    a = connect(owner)
    a.join(session["session_id"])
    b = connect(mentor, reconnection=True)
    connects = []

    def rejoin():  # what watch.js does on every (re)connect
        connects.append(time.monotonic())
        if len(connects) > 1:
            b.client.emit("join", {"session_id": session["session_id"]}, namespace=NAMESPACE)

    b.client.on("connect", rejoin, namespace=NAMESPACE)
    b.join(session["session_id"])
    connects.append(time.monotonic())
    b.wait_for("presence", lambda p: len(p["users"]) == 2)

    mark_a = a.mark()
    b.client.eio.ws.sock.shutdown(socket.SHUT_RDWR)  # the network drops
    b.wait_for("disconnect")
    a.wait_for("presence", lambda p: names(p) == ["Olivia Owner"], after=mark_a)
    mark_a = a.mark()
    a.control("play", 8000)  # the group moves on meanwhile
    mark = b.mark()
    state = b.wait_for("state", lambda s: s["playing"] and s["position_ms"] >= 8000, after=mark)
    assert len(connects) >= 2
    # python-socketio sets `connected` only after the connect handlers ran, so the state can arrive first
    wait_until(lambda: b.client.connected, "the client to report itself reconnected")
    assert state["position_ms"] == 8000 + (state["server_time_ms"] - a.wait_for(
        "state", lambda s: s["action"] == "play")["server_time_ms"])
    a.wait_for("presence", lambda p: len(p["users"]) == 2, after=mark_a)
    seq = a.control("pause", 9000)["seq"]
    assert b.wait_for("state", lambda s: s["seq"] == seq)["position_ms"] == 9000


def test_time_answers_with_the_server_clock(trio, connect):
    owner, *_ = trio
    a = connect(owner)
    sent = time.time() * 1000
    answer = a.call("time", {"client_time_ms": sent})
    received = time.time() * 1000
    assert answer["ok"] and answer["client_time_ms"] == sent
    assert sent - 5 <= answer["server_time_ms"] <= received + 5  # same machine, same clock


def test_bad_events_are_refused_with_reasons(trio, connect):
    owner, *_, session = trio
    a = connect(owner)
    assert a.call("control", {"action": "play"})["error"]["code"] == "not_joined"
    a.join(session["session_id"])
    cases = [("control", {"action": "jump", "position_ms": 1}), ("control", {"action": "seek"}),
             ("control", {"action": "seek", "position_ms": -5}), ("control", {"action": "seek", "position_ms": "x"}),
             ("control", {"action": "rate", "rate": 99}), ("flag", {"position_ms": True}),
             ("note", {"position_ms": 10, "body": "  "}), ("lock", {"locked": "yes"})]
    for event, data in cases:
        answer = a.call(event, data)
        assert answer["ok"] is False and answer["error"]["code"] == "invalid_input", (event, data, answer)
    assert a.call("join", {"session_id": 42})["error"]["code"] == "not_found"


def test_the_session_ends_after_its_last_participant_left_and_its_log_is_kept(trio, connect):
    owner, mentor, _, lesson, session = trio
    sid = session["session_id"]
    a, b = connect(owner), connect(mentor)
    a.join(sid)
    b.join(sid)
    a.call("lock", {"locked": True})
    a.call("lock", {"locked": False})
    b.call("flag", {"position_ms": 1200})
    b.call("note", {"position_ms": 1200, "body": "Good hook."})
    before_disconnect = a.mark()  # a's own first presence (alone, before b joined) must not count
    b.disconnect()
    a.wait_for("presence", lambda p: names(p) == ["Olivia Owner"], after=before_disconnect)
    a.call("leave")
    left_at = a.call("time", {"client_time_ms": now_ms()})["server_time_ms"]
    mark = a.mark()
    rejoined = a.join(sid)  # back at once, well within the grace period: the session goes on
    assert rejoined["ok"], rejoined
    a.wait_for("state", lambda s: s["position_ms"] == 1200, after=mark)
    # the end that the leave scheduled comes due, and finds someone there
    server_clock_passes(a, left_at + EMPTY_GRACE_S * 1000 + 500)
    assert owner.api("GET", f"/api/v1/watch/{sid}").json()["active"] is True
    assert a.call("time", {"client_time_ms": now_ms()})["ok"]  # still connected and served
    a.disconnect()

    body = wait_until(lambda: (lambda b: None if b["active"] else b)(owner.api("GET", f"/api/v1/watch/{sid}").json()),
                      "the empty session to end")
    assert body["active"] is False and body["ended_at"] and body["state"] is None
    kinds = [(e["kind"], e["user"]["name"] if e["user"] else None) for e in body["log"]]
    assert kinds == [("join", "Olivia Owner"), ("join", "Marcus Mentor"), ("control_lock", "Olivia Owner"),
                     ("control_lock", "Olivia Owner"), ("flag", "Marcus Mentor"), ("note", "Marcus Mentor"),
                     ("leave", "Marcus Mentor"), ("leave", "Olivia Owner"), ("join", "Olivia Owner"),
                     ("leave", "Olivia Owner"), ("end", None)]
    assert body["log"][-1]["payload"] == {"reason": "empty"}
    assert body["log"][4]["at_ms"] == 1200 and body["log"][5]["payload"]["body"] == "Good hook."

    c = connect(mentor)
    assert c.join(sid)["error"]["code"] == "session_ended"
    history = mentor.api("GET", f"/api/v1/lessons/{lesson['id']}/watch-sessions").json()
    assert [item["session_id"] for item in history["items"]] == [sid] and history["next"] is None
    assert len(history["items"][0]["log"]) == len(body["log"])


def test_the_host_ends_the_session_for_everyone(trio, connect):
    owner, mentor, _, lesson, session = trio
    sid = session["session_id"]
    a, b = connect(owner), connect(mentor)
    a.join(sid)
    b.join(sid)
    assert b.call("end")["error"]["code"] == "not_host"
    response = mentor.api("POST", f"/api/v1/watch/{sid}/end")
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_host"

    response = owner.api("POST", f"/api/v1/watch/{sid}/end")
    assert response.status_code == 200 and response.json()["active"] is False
    for watcher in (a, b):
        assert watcher.wait_for("ended") == {"reason": "host", "by": {"id": owner.id, "name": owner.name}}
    assert b.control("play", 0)["error"]["code"] == "session_ended"
    assert owner.api("POST", f"/api/v1/watch/{sid}/end").status_code == 200  # again: no change
    log = owner.api("GET", f"/api/v1/watch/{sid}").json()["log"]
    assert [e["kind"] for e in log] == ["join", "join", "end"]

    # another session on the same lesson, ended over the socket
    second = start_session(mentor, lesson["id"])
    c = connect(mentor)
    c.join(second["session_id"])
    assert c.call("end")["ok"]
    c.wait_for("ended")
    history = owner.api("GET", f"/api/v1/lessons/{lesson['id']}/watch-sessions?per_page=1").json()
    assert len(history["items"]) == 1 and history["items"][0]["session_id"] == second["session_id"]
    assert history["next"]


@pytest.mark.database_neutral(reason="how gunicorn stops with open Socket.IO connections; no rows are read")
def test_the_server_stops_promptly_while_people_are_watching(tmp_path):
    """An open Socket.IO connection is a request that never ends: SIGTERM must not wait for it."""
    from tests.watch.conftest import start_obsapp, stop_obsapp

    server = start_obsapp(tmp_path)
    try:
        clients = []
        for transports in (["websocket"], ["polling"]):
            client = socketio.Client(reconnection=False)
            client.connect(server.url, namespaces=[NAMESPACE], transports=transports, wait_timeout=10,
                           headers={"Authorization": f"Bearer {server.admin_token}"})
            clients.append(client)
        took = stop_obsapp(server, timeout=GRACEFUL_TIMEOUT_S + 10)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    # Waiting for the open connections would take the whole graceful timeout (20 s), then a SIGKILL; a stop
    # that does not wait for them takes a fraction of that even on a busy machine.
    assert took < GRACEFUL_TIMEOUT_S - 5, f"obsapp serve took {took:.1f} s to stop"
    wait_until(lambda: not any(client.connected for client in clients), "the clients to see the server gone")
