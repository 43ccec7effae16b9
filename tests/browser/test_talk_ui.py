"""In Chromium: the talk strip on the lesson page (its words, and a wait time that plays the lesson from the
question), and a calibration exercise's report with kappa."""

from __future__ import annotations

import subprocess

import pytest

from tests.talk.synth import lesson_audio, write_wav
from tests.waiting import job_settled

pytestmark = pytest.mark.browser
SPANS = [(0.5, 3.0, -12), (6.0, 8.0, -12), (9.0, 10.5, -12)]


@pytest.fixture(scope="module")
def talk_video(tmp_path_factory):
    d = tmp_path_factory.mktemp("talk-ui")
    wav = write_wav(d / "a.wav", lesson_audio(SPANS, 12.0))
    out = d / "talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=12", "-i", str(wav),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    str(out)], check=True)
    return out


def test_talk_strip_and_calibration_report(page, live_server, sign_in, talk_video):
    teacher = live_server.make_user(name="Talk Teacher")
    mentor = live_server.make_user(name="Talk Mentor")
    peer = live_server.make_user(name="Peer Coder")
    live_server.mentor(mentor["email"], teacher["email"])
    token = live_server.token_for(teacher["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Talk lesson"}).json()
    with open(talk_video, "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    lesson = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert lesson["status"] == "ready", lesson
    talk = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/talk", token).json())
    assert talk["status"] == "ready", talk
    question = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", token,
                               json={"start_ms": 2500, "body": "What comes next?", "kind": "question"})
    assert question.status_code == 201, question.text

    sign_in(page, live_server, teacher["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    strip = page.get_by_role("region", name="Talk and wait time")
    assert "Speech during" in strip.inner_text() and "does not know who is" in strip.inner_text()
    wait = strip.get_by_role("button", name="Question at 0:03: wait 3.0 s")
    page.wait_for_function("() => document.getElementById('lesson-video').readyState >= 1")
    wait.click()
    page.wait_for_function("() => Math.abs(document.getElementById('lesson-video').currentTime - 3.0) < 0.3")

    # calibration: the mentor and a peer code blind, submit, and the mentor reads kappa in the page
    share = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/shares", token,
                            json={"user_id": peer["id"], "role": "commenter"})
    assert share.status_code == 201, share.text
    mentor_token, peer_token = live_server.token_for(mentor["email"]), live_server.token_for(peer["email"])
    exercise = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/calibrations", mentor_token,
                               json={"coder_ids": [mentor["id"], peer["id"]], "title": "Talk calibration"}).json()
    rosenshine = next(f for f in live_server.api("GET", "/api/v1/frameworks", mentor_token).json()["items"]
                      if f["slug"] == "rosenshine")
    criterion = live_server.api("GET", f"/api/v1/frameworks/{rosenshine['id']}", mentor_token).json()["criteria"][2]
    for who, at in ((mentor_token, 2000), (peer_token, 2600), (peer_token, 9000)):
        made = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", who, json={
            "start_ms": at, "body": "coded", "kind": "strength", "criterion_ids": [criterion["id"]],
            "visibility": "private"})
        assert made.status_code == 201, made.text
    for who in (mentor_token, peer_token):
        assert live_server.api("POST", f"/api/v1/calibrations/{exercise['id']}/submit", who).status_code == 200

    page.context.clear_cookies()
    sign_in(page, live_server, mentor["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.get_by_role("region", name="Calibration").get_by_role("link", name="Talk calibration").click()
    table = page.get_by_role("table").first
    row = table.get_by_role("row", name=criterion["name"])
    assert "Cohen" in row.inner_text()
    assert "0:09" in page.get_by_role("region", name="Moments to talk through").inner_text()


def test_on_a_phone_feedback_comes_before_the_talk_strip(page, live_server, sign_in, talk_video):
    teacher = live_server.make_user(name="Phone Teacher")
    token = live_server.token_for(teacher["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Phone lesson"}).json()
    with open(talk_video, "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}/talk", token).json())
    live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", token,
                    json={"start_ms": 2500, "body": "Why?", "kind": "question"})
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, teacher["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.locator("#annotation-list li").first.wait_for()
    player = page.locator("#lesson-video").bounding_box()
    first = page.locator("#annotation-list li").first.bounding_box()
    strip = page.locator("#talk-strip").bounding_box()
    side = page.locator("#lesson-side").bounding_box()
    # the panels never stand between the player and the feedback: the side follows the player's own controls
    timeline = page.locator("#timeline").bounding_box()
    assert player["y"] < timeline["y"] < side["y"] < first["y"] < strip["y"], (player, timeline, side, first, strip)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    page.set_viewport_size({"width": 1400, "height": 900})  # two columns: the strip sits under the player
    strip = page.locator("#talk-strip").bounding_box()
    side = page.locator("#lesson-side").bounding_box()
    assert strip["x"] + strip["width"] <= side["x"] and strip["y"] > page.locator("#timeline").bounding_box()["y"]
