"""axe-core (vendored) on every HTML page of the app, at a phone's (390x844) and a laptop's (1366x800) size: no
serious or critical violations, no uncaught JavaScript errors, nothing scrolling sideways.

The pages are the GET routes of the app's url_map. Each one needs an entry in PAGES (who opens it, and the path
with sample ids), or in NOT_PAGES with the reason it is not an HTML page: a new page with neither fails
``test_every_page_route_has_an_axe_check``."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.axe import axe_violations
from tests.browser.test_lesson_page_sizes import _ready_lesson
from tests.conftest import PASSWORD
from tests.waiting import job_settled

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}

# GET routes that are not HTML pages, and why.
NOT_PAGES = {
    "/static/<path:filename>": "the app's CSS, scripts and vendored files",
    "/healthz": "a JSON health check for load balancers",
    "/api/v1/openapi.json": "the OpenAPI document (JSON)",
    "/api/v1/docs/assets/<path:filename>": "Swagger UI's own scripts and styles",
    "/login/sso/<name>": "a redirect to the school's OpenID provider (tests/browser/test_sso_ui.py checks the "
                         "login page's buttons and a refusal page with axe, through a real provider)",
    "/login/sso/<name>/callback": "the provider's redirect back: signs in and redirects, or shows the refusal page "
                                  "tests/browser/test_sso_ui.py checks with axe",
}
JSON_API = "/api/v1/"  # every other route under it is the JSON API (docs/API.md); its docs page is a page

# Every page: who opens it (a person of the sample, or nobody signed in) and its path with sample ids.
PAGES = {
    "/": ("teacher", "/"),
    "/login": ("nobody", "/login"),
    "/forgot-password": ("nobody", "/forgot-password"),
    "/invite/<token>": ("nobody", "/invite/{invite_token}"),
    "/reset/<token>": ("nobody", "/reset/{reset_token}"),
    "/notifications/unsubscribe/<token>": ("nobody", "/notifications/unsubscribe/{unsubscribe_token}"),
    "/account/tokens": ("teacher", "/account/tokens"),
    "/account/password": ("teacher", "/account/password"),
    "/api/v1/docs": ("teacher", "/api/v1/docs"),
    "/lessons/new": ("teacher", "/lessons/new"),
    "/lessons/<int:lesson_id>": ("mentor", "/lessons/{lesson_id}"),
    "/lessons/<int:lesson_id>/feedback": ("teacher", "/lessons/{lesson_id}/feedback"),
    "/lessons/<int:lesson_id>/privacy": ("teacher", "/lessons/{lesson_id}/privacy"),
    "/watch/<string:session_id>": ("mentor", "/watch/{session_id}"),
    "/watch/<string:session_id>/invitation": ("teacher", "/watch/{session_id}/invitation"),
    "/clips": ("teacher", "/clips"),
    "/clips/<int:clip_id>": ("teacher", "/clips/{clip_id}"),
    "/reels/<int:reel_id>": ("teacher", "/reels/{reel_id}"),
    "/mentoring": ("mentor", "/mentoring"),
    "/goals/<int:goal_id>": ("teacher", "/goals/{goal_id}"),
    "/cycles/<int:cycle_id>": ("mentor", "/cycles/{cycle_id}"),
    "/journal": ("teacher", "/journal"),
    "/journal/<int:entry_id>": ("teacher", "/journal/{entry_id}"),
    "/models": ("teacher", "/models"),
    "/models/<int:model_id>": ("mentor", "/models/{model_id}"),
    "/growth": ("teacher", "/growth"),
    "/growth/<int:teacher_id>": ("mentor", "/growth/{teacher_id}"),
    "/notifications": ("teacher", "/notifications"),
    "/calibrations/<int:exercise_id>": ("mentor", "/calibrations/{calibration_id}"),
    "/analytics": ("teacher", "/analytics"),
    "/analytics/teachers/<int:teacher_id>": ("mentor", "/analytics/teachers/{teacher_id}"),
    "/analytics/school": ("leader", "/analytics/school"),
    "/analytics/leaders": ("admin", "/analytics/leaders"),
    "/admin/people": ("admin", "/admin/people"),
    "/admin/people/import": ("admin", "/admin/people/import"),
    "/admin/people/<int:user_id>/erase": ("admin", "/admin/people/{spare_user_id}/erase"),
    "/admin/mentorships": ("admin", "/admin/mentorships"),
    "/admin/reflection-prompts": ("admin", "/admin/reflection-prompts"),
    "/admin/audit": ("admin", "/admin/audit"),
    "/admin/frameworks": ("admin", "/admin/frameworks"),
    "/admin/frameworks/<int:framework_id>": ("admin", "/admin/frameworks/{framework_id}"),
    "/admin/frameworks/new": ("admin", "/admin/frameworks/new"),
    "/admin/frameworks/<int:framework_id>/build": ("admin", "/admin/frameworks/{framework_id}/build"),
}


def page_routes(app) -> set[str]:
    """The app's GET routes that answer with an HTML page (not files, not the JSON API)."""
    routes = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    return {r for r in routes if r not in NOT_PAGES and (not r.startswith(JSON_API) or r == "/api/v1/docs")}


def test_every_page_route_has_an_axe_check(app):
    missing = sorted(page_routes(app) - set(PAGES))
    assert missing == [], f"pages with no axe check: add them to PAGES (or to NOT_PAGES, saying why): {missing}"
    gone = sorted(set(PAGES) - page_routes(app))
    assert gone == [], f"PAGES lists routes the app no longer has: {gone}"


def _ok(response, what):
    assert response.status_code < 300, f"{what}: {response.status_code} {response.text[:300]}"
    return response.json()


def _sample(live_server, media_samples) -> dict:
    """One of everything a page shows, made through the API as people would."""
    stamp = time.time_ns() % 10**8
    teacher = live_server.make_user(name="Siti Rahmah")
    mentor = live_server.make_user(name="Daniel Lim")
    spare = live_server.make_user(name="Spare Person")
    second_mentor = live_server.make_user(name="Priya Nair")
    leader = live_server.make_user(name="Ahmad Leader")
    assert live_server.api("PUT", f"/api/v1/leaders/{leader['id']}").status_code < 300
    live_server.mentor(mentor["email"], teacher["email"])
    live_server.mentor(second_mentor["email"], teacher["email"])
    lesson, teacher_token = _ready_lesson(live_server, media_samples, teacher["email"], "Fractions, lesson 2")
    mentor_token = live_server.token_for(mentor["email"])
    frameworks = _ok(live_server.api("GET", "/api/v1/frameworks"), "frameworks")["items"]
    ros = next(f for f in frameworks if f["slug"] == "rosenshine")
    note = _ok(live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", mentor_token, json={
        "start_ms": 1000, "end_ms": 2500, "body": "A clear **model**", "kind": "strength",
        "criterion_ids": [ros["criteria"][3]["id"]]}), "annotation")
    _ok(live_server.api("POST", f"/api/v1/annotations/{note['id']}/replies", teacher_token,
                        json={"body": "Thank you"}), "reply")
    clip = _ok(live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/clips", teacher_token,
                               json={"start_ms": 500, "end_ms": 2500, "title": "The model"}), "clip")["clip"]
    clip = job_settled(lambda: live_server.api("GET", f"/api/v1/clips/{clip['id']}", teacher_token).json())
    reel = _ok(live_server.api("POST", "/api/v1/reels", teacher_token,
                               json={"title": "Best moments", "clip_ids": [clip["id"]]}), "reel")["reel"]
    job_settled(lambda: live_server.api("GET", f"/api/v1/reels/{reel['id']}", teacher_token).json())
    goal = _ok(live_server.api("POST", "/api/v1/goals", teacher_token, json={
        "title": "Check understanding before moving on", "criterion_ids": [ros["criteria"][5]["id"]]}), "goal")
    cycle = _ok(live_server.api("POST", "/api/v1/cycles", mentor_token, json={
        "mentee_id": teacher["id"], "focus": "Questioning", "goal_ids": [goal["id"]]}), "cycle")
    entry = _ok(live_server.api("POST", "/api/v1/journal", teacher_token, json={
        "body": "The *model* worked.", "lesson_id": lesson["id"]}), "journal entry")
    model = _ok(live_server.api("POST", "/api/v1/models", teacher_token, json={
        "lesson_id": lesson["id"], "note": "Watch the model", "audience": "school"}), "model lesson")
    calibration = _ok(live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/calibrations", mentor_token,
                                      json={"coder_ids": [mentor["id"], second_mentor["id"]], "title": "Coding"}),
                      "calibration")
    session_id = _watch_session(live_server, lesson["id"], mentor_token, teacher["id"])
    invite = _ok(live_server.api("POST", "/api/v1/invites", json={
        "email": f"new{stamp}@school.test", "name": "New Person"}), "invite")
    reset = _ok(live_server.api("POST", f"/api/v1/users/{spare['id']}/password-reset"), "reset link")
    unsubscribe = subprocess.run([sys.executable, "-c", (
        "from obsapp import create_app\nfrom obsapp.mentoring.mail import unsubscribe_token\n"
        f"app = create_app()\nwith app.app_context(): print(unsubscribe_token({teacher['id']}, 'feedback'))")],
        env=live_server.env, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    return {"people": {"teacher": teacher["email"], "mentor": mentor["email"], "admin": "root@school.test",
                       "leader": leader["email"]},
            "lesson_id": lesson["id"], "clip_id": clip["id"], "reel_id": reel["id"], "goal_id": goal["id"],
            "cycle_id": cycle["id"], "entry_id": entry["id"], "model_id": model["id"],
            "calibration_id": calibration["id"], "session_id": session_id, "teacher_id": teacher["id"],
            "mentor_token": mentor_token,
            "spare_user_id": spare["id"], "framework_id": ros["id"],
            "invite_token": invite["url"].rstrip("/").rsplit("/", 1)[1],
            "reset_token": reset["url"].rstrip("/").rsplit("/", 1)[1], "unsubscribe_token": unsubscribe}


def _watch_session(live_server, lesson_id: int, host_token: str, guest_id: int) -> str:
    """A running watch session with an invitation for ``guest_id``. A session ends 30 s after its last viewer
    leaves, so each round of pages gets a new one: its invitation page must lead into a running session."""
    watch = _ok(live_server.api("POST", f"/api/v1/lessons/{lesson_id}/watch", host_token), "watch")
    _ok(live_server.api("POST", f"/api/v1/watch/{watch['session_id']}/invitations", host_token,
                        json={"user_ids": [guest_id]}), "watch invitation")
    return watch["session_id"]


def _signed_in(new_page, live_server, who, email):
    page = new_page()
    if who != "nobody":
        page.goto(live_server.url + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(live_server.url + "/")
    return page


def test_every_page_has_no_serious_accessibility_violations(app, new_page, live_server, media_samples):
    sample = _sample(live_server, media_samples)
    pages = {who: _signed_in(new_page, live_server, who, sample["people"].get(who))
             for who in ("nobody", "teacher", "mentor", "admin", "leader")}
    problems: list[str] = []
    checked = 0
    for viewport in (PHONE, LAPTOP):
        size = f"{viewport['width']}x{viewport['height']}"
        if viewport is LAPTOP:  # the first round's session ended 30 s after its watch page was left
            sample["session_id"] = _watch_session(live_server, sample["lesson_id"], sample["mentor_token"],
                                                  sample["teacher_id"])
        for page in pages.values():
            page.set_viewport_size(viewport)
        for route in sorted(page_routes(app)):
            who, path = PAGES[route]
            page = pages[who]
            url = live_server.url + path.format(**sample)
            response = page.goto(url)
            what = f"{path.format(**sample)} as {who} at {size}"
            if response is None or response.status >= 400:
                problems.append(f"{what}: HTTP {response.status if response else 'no answer'}")
                continue
            # the page's own requests settle; a page that keeps a connection open is checked as it is then
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("networkidle", timeout=5000)
            found = axe_violations(page, impacts=("serious", "critical"))
            for rule in dict.fromkeys(line.split(": ", 1)[0] for line in found):  # one line per rule, the first node
                nodes = [line for line in found if line.startswith(rule + ": ")]
                problems.append(f"{what}: {len(nodes)} x {nodes[0]}")
            widths = page.evaluate("() => [document.documentElement.scrollWidth, "
                                   "document.documentElement.clientWidth]")
            if widths[0] > widths[1]:
                problems.append(f"{what}: scrolls sideways ({widths[0]} px in {widths[1]} px)")
            problems += [f"{what}: JavaScript error {error}" for error in page.errors]
            page.errors.clear()
            checked += 1
    assert problems == [], f"{len(problems)} problems on {checked} page views:\n" + "\n".join(problems)
    assert checked == 2 * len(PAGES)
