"""The watch page in two real browsers (Playwright on Debian's chromium) against a real `obsapp serve`
(gunicorn gthread, Flask-SocketIO in threading mode), with the vendored socket.io-client: over WebSocket, and
over HTTP long-polling when the page has no WebSocket. Every page is checked for CSP violations."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.browser.csp import close_checked, new_tracked_page
from tests.watch.conftest import ready_lesson, start_session

pytestmark = pytest.mark.browser
WATCH_MODULE = "/static/js/pages/watch.js"


@pytest.fixture(name="page")
def tracked_page(browser):
    """A page that records Content-Security-Policy violations; the test fails if there are any."""
    contexts: list = []
    made = new_tracked_page(browser, contexts)
    yield made
    close_checked(contexts, [made])


@pytest.fixture(name="new_page")
def tracked_new_page(browser):
    """new_page() -> another such page in its own browser context (a second person)."""
    contexts: list = []
    pages: list = []

    def make():
        pages.append(new_tracked_page(browser, contexts))
        return pages[-1]

    yield make
    close_checked(contexts, pages)


@pytest.fixture(scope="session")
def long_video(tmp_path_factory):
    """60 s of H.264/AAC (faststart, keyframe every second): room to play, pause and seek."""
    path = tmp_path_factory.mktemp("watch-media") / "lesson-60s.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=60", "-f", "lavfi", "-i", "sine=f=440:d=60",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
                    "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(path)], check=True, timeout=120)
    return path


def player(page) -> dict:
    return page.evaluate("""() => { const v = document.querySelector('video');
        return {t: v.currentTime, paused: v.paused, rate: v.playbackRate, now: Date.now(), ready: v.readyState}; }""")


def gap(a_page, b_page) -> float:
    """|a - b| in seconds at the same moment (each reading is moved to b's moment when playing)."""
    a, b = player(a_page), player(b_page)
    a_at_b = a["t"] + (0 if a["paused"] else (b["now"] - a["now"]) / 1000 * a["rate"])
    return abs(a_at_b - b["t"])


def wait_until(page, script: str, timeout_ms: int = 120_000) -> None:  # a hang guard, not a budget
    # as a function, not a bare expression: Playwright would eval() that, which the page's CSP refuses
    page.wait_for_function(f"() => ({script})", timeout=timeout_ms)


def next_frame(page) -> None:
    page.evaluate("new Promise((resolve) => requestAnimationFrame(() => resolve()))")


def wait_in_step(a_page, b_page, limit_s: float, frames: int = 10, timeout_frames: int = 1200) -> None:
    """Wait until the two players stay within limit_s of each other for `frames` frames in a row
    (paced by the page's animation frames, about 20 s at most)."""
    in_a_row, seen = 0, []
    for _ in range(timeout_frames):
        current = gap(a_page, b_page)
        seen.append(current)
        in_a_row = in_a_row + 1 if current < limit_s else 0
        if in_a_row >= frames:
            return
        next_frame(b_page)
    raise AssertionError(f"the players did not keep within {limit_s} s; last gaps: {seen[-5:]}")


def watch_page(page, expression: str):
    """Evaluate `expression` with `page` bound to the page's WatchPage (the watch module's export; importing
    the module's own URL again gives the same instance)."""
    return page.evaluate(f"import('{WATCH_MODULE}').then(({{ page }}) => {expression})")


def sync_report(page) -> dict:
    return watch_page(page, """({group: page.sync.group, requestedPaused: page.sync.requestedPaused,
        blocked: page.sync.blocked, waiting: page.sync.waiting, pendingSeeks: page.sync.pendingSeeks,
        joined: page.joined, status: page.socket.status, transport: page.socket.transport,
        clockOffsetMs: page.clock.offsetMs, video: (({currentTime, paused, seeking, readyState, ended}) =>
        ({currentTime, paused, seeking, readyState, ended}))(document.querySelector('video'))})""")


def test_two_people_watch_in_sync_flag_a_moment_and_both_see_the_note(
        make_person, watch_server, long_video, page, new_page, sign_in):
    owner, mentor = make_person("Olivia Owner"), make_person("Marcus Mentor")
    assert watch_server.api("POST", "/api/v1/mentorships",
                            json={"mentor_id": mentor.id, "mentee_id": owner.id}).status_code == 201
    lesson = ready_lesson(owner, long_video, "Questioning, Year 8 science")
    session = start_session(owner, lesson["id"])

    a, b = page, new_page()
    sign_in(a, watch_server, owner.email)
    sign_in(b, watch_server, mentor.email)
    a.goto(session["join_url"])
    b.goto(session["join_url"])
    for p in (a, b):
        assert p.get_by_role("heading", name="Questioning, Year 8 science").is_visible()
        people = p.get_by_role("list", name="People watching")
        people.get_by_text("Olivia Owner").wait_for()
        people.get_by_text("Marcus Mentor").wait_for()
        p.get_by_role("status").filter(has_text="Connected").wait_for()
        wait_until(p, "document.querySelector('video').readyState >= 3")
        assert not p.get_by_label("Note", exact=True).is_visible()
        assert not p.get_by_role("button", name="Start watching with the group").is_visible()

    # play with the page's own button in A: B follows
    a.get_by_role("button", name="Play", exact=True).click()
    wait_until(b, "!document.querySelector('video').paused && document.querySelector('video').currentTime > 0.3")
    wait_in_step(a, b, 0.3)

    # pause and seek through the element's JavaScript API in A: B follows
    a.evaluate("document.querySelector('video').pause()")
    wait_until(b, "document.querySelector('video').paused")
    a.evaluate("document.querySelector('video').currentTime = 12")
    wait_until(b, "Math.abs(document.querySelector('video').currentTime - 12) < 0.05")
    wait_in_step(a, b, 0.05)
    assert player(a)["paused"] and player(b)["paused"]

    # B seeks and plays through the element: A follows, and they stay together
    b.evaluate("document.querySelector('video').currentTime = 20")
    wait_until(a, "Math.abs(document.querySelector('video').currentTime - 20) < 0.05")
    # B plays; its sync loop ticks before the element's "play" event is dispatched (the element already plays):
    # the loop must leave B's play alone, not pause it again and then send play and pause to everyone
    watch_page(b, "(document.querySelector('video').play(), page.sync.tick(true), page.sync.group.seq)")
    wait_until(a, "!document.querySelector('video').paused && document.querySelector('video').currentTime > 20.5")
    wait_in_step(a, b, 0.3)

    # B's player falls behind without anyone doing anything (as after a stall): its sync code brings it back,
    # by seeking when far off and by nudging playbackRate when a little off, and tells nobody
    seq = watch_page(b, "page.sync.group.seq")
    watch_page(b, "page.sync._seek(document.querySelector('video').currentTime * 1000 - 2500)")
    wait_until(b, "!document.querySelector('video').seeking")
    wait_in_step(a, b, 0.3)
    watch_page(b, "page.sync._seek(document.querySelector('video').currentTime * 1000 - 300)")
    wait_until(b, "!document.querySelector('video').seeking")
    wait_in_step(a, b, 0.1, frames=30)
    assert watch_page(b, "page.sync.group.seq") == seq  # no control was sent for the corrections

    # flag this moment in A (hotkey F): both pause there; only A gets the note form, B is told
    a.locator("body").click(position={"x": 5, "y": 5})
    a.keyboard.press("f")
    for p in (a, b):
        wait_until(p, "document.querySelector('video').paused")
    a.get_by_label("Note", exact=True).wait_for()
    assert a.get_by_role("button", name="Save note").is_visible()
    b.locator("#live-region").get_by_text("flagged the moment").wait_for()
    assert b.locator("#note-form").is_hidden()
    wait_in_step(a, b, 0.05)
    a.get_by_label("Note", exact=True).fill("Lovely **wait time** after the question.")
    a.get_by_role("button", name="Save note").click()
    for p in (a, b):  # the note appears for everyone, its Markdown rendered
        p.get_by_role("list", name="Notes").get_by_text("Lovely wait time after the question.").wait_for()
        assert p.get_by_role("list", name="Notes").locator("strong").inner_text() == "wait time"
    assert b.locator("#note-form").is_hidden()

    assert a.errors == [] and b.errors == []
    log = owner.api("GET", f"/api/v1/watch/{session['session_id']}").json()["log"]
    assert [e["kind"] for e in log if e["kind"] in ("join", "flag", "note")] == ["join", "join", "flag", "note"]


def test_people_who_may_not_see_the_lesson_get_a_404_page(make_person, lesson_of, watch_server, page, sign_in):
    owner, stranger = make_person("Olivia Owner"), make_person("Sam Stranger")
    session = start_session(owner, lesson_of(owner)["id"])
    sign_in(page, watch_server, stranger.email)
    response = page.goto(session["join_url"])
    assert response.status == 404
    assert page.get_by_role("heading", name="We can't find that page").is_visible()
    assert "Fractions" not in page.content()
    assert page.errors == []


def test_the_host_locks_controls_and_ends_the_session(make_person, lesson_of, watch_server, page, new_page, sign_in):
    owner, colleague = make_person("Olivia Owner"), make_person("Chen Colleague")
    lesson = lesson_of(owner, shared_with=(colleague,))
    session = start_session(owner, lesson["id"])
    host, guest = page, new_page()
    sign_in(host, watch_server, owner.email)
    sign_in(guest, watch_server, colleague.email)
    host.goto(session["join_url"])
    guest.goto(session["join_url"])
    guest.get_by_role("list", name="People watching").get_by_text("Olivia Owner").wait_for()
    assert guest.get_by_role("button", name="Lock controls").count() == 0
    assert guest.get_by_role("button", name="End session").count() == 0

    host.get_by_role("button", name="Copy invite link").click()
    host.get_by_role("status").filter(  # copied, or (no clipboard access) selected for copying
        has_text=re.compile("Invite link copied|copy the selected invite link")).wait_for()

    host.get_by_role("button", name="Lock controls").click()
    host.get_by_role("button", name="Unlock controls").wait_for()
    guest.get_by_text("The host has locked the controls").first.wait_for()
    assert guest.get_by_role("button", name="Flag this moment").is_disabled()

    host.once("dialog", lambda dialog: dialog.accept())
    host.get_by_role("button", name="End session").click()
    for p in (host, guest):
        p.get_by_text("ended this watch session").first.wait_for()
        p.get_by_role("status").filter(has_text="Session ended").wait_for()
    assert host.errors == [] and guest.errors == []


def shared_session(make_person, long_video, title: str):
    """Olivia's ready lesson, shared with Chen as a viewer, and a watch session on it."""
    owner, colleague = make_person("Olivia Owner"), make_person("Chen Colleague")
    lesson = ready_lesson(owner, long_video, title)
    assert owner.api("POST", f"/api/v1/lessons/{lesson['id']}/shares",
                     json={"user_id": colleague.id, "role": "viewer"}).status_code == 201
    return owner, colleague, start_session(owner, lesson["id"])


def test_a_dropped_connection_reconnects_by_itself_and_catches_up(
        make_person, watch_server, long_video, page, new_page, sign_in):
    owner, colleague, session = shared_session(make_person, long_video, "Group work, Year 3")
    a, b = page, new_page()
    sign_in(a, watch_server, owner.email)
    sign_in(b, watch_server, colleague.email)
    for p in (a, b):
        p.goto(session["join_url"])
        p.get_by_role("status").filter(has_text="Connected").wait_for()
        wait_until(p, "document.querySelector('video').readyState >= 3")

    watch_page(b, "page.socket.socket.io.engine.close()")  # the network drops
    b.get_by_role("status").filter(has_text="Reconnecting…").wait_for()
    a.get_by_role("list", name="People watching").get_by_text("Chen Colleague").wait_for(state="detached")
    a.evaluate("const v = document.querySelector('video'); v.currentTime = 30; v.play()")
    b.get_by_role("status").filter(has_text="Connected").wait_for()
    a.get_by_role("list", name="People watching").get_by_text("Chen Colleague").wait_for()
    wait_until(b, "!document.querySelector('video').paused && document.querySelector('video').currentTime > 30")
    wait_in_step(a, b, 0.3)
    assert a.errors == [] and b.errors == []


def test_without_websockets_the_page_falls_back_to_long_polling_and_keeps_in_step(
        make_person, watch_server, long_video, page, new_page, sign_in):
    """A school network that blocks WebSockets: socket.io-client stays on HTTP long-polling (served by gunicorn's
    gthread worker), and two people still follow each other's play, pause and seek."""
    owner, colleague, session = shared_session(make_person, long_video, "Plenary, Year 5")
    a, b = page, new_page()
    for p, person in ((a, owner), (b, colleague)):
        p.add_init_script("delete window.WebSocket;")  # as if the network let no WebSocket through
        sign_in(p, watch_server, person.email)
        p.goto(session["join_url"])
        assert p.evaluate("typeof WebSocket") == "undefined"
        p.get_by_role("status").filter(has_text="Connected").wait_for()
    for p in (a, b):
        p.get_by_role("list", name="People watching").get_by_text("Chen Colleague").wait_for()
        p.get_by_role("list", name="People watching").get_by_text("Olivia Owner").wait_for()
        wait_until(p, "document.querySelector('video').readyState >= 3")
        assert watch_page(p, "page.socket.transport") == "polling"

    a.get_by_role("button", name="Play", exact=True).click()  # A plays: B follows
    wait_until(b, "!document.querySelector('video').paused && document.querySelector('video').currentTime > 0.3")
    wait_in_step(a, b, 0.3)
    b.evaluate("document.querySelector('video').pause()")  # B pauses: A follows
    wait_until(a, "document.querySelector('video').paused")
    a.evaluate("document.querySelector('video').currentTime = 25")  # A seeks: B follows
    wait_until(b, "Math.abs(document.querySelector('video').currentTime - 25) < 0.05")
    # B plays right after A's seek, while B's player may still be seeking there: B's play must win. (It used to
    # lose: B's loop saw the element playing before the "play" event came and paused it, then sent both.)
    b.evaluate("document.querySelector('video').play()")
    try:
        wait_until(a, "!document.querySelector('video').paused && document.querySelector('video').currentTime > 25")
    except Exception as error:  # say where each page's sync stood, to tell a lost message from a stuck player
        raise AssertionError(f"A did not follow B's play: A {sync_report(a)}; B {sync_report(b)}") from error
    wait_in_step(a, b, 0.3)
    assert not player(b)["paused"] and watch_page(b, "page.sync.group.playing")
    for p in (a, b):  # still on long-polling: nothing upgraded behind the test's back
        assert watch_page(p, "page.socket.transport") == "polling"
    assert a.errors == [] and b.errors == []
