"""Attaching evidence to a goal from where it is, not only through the API: the lesson page's "Add to a goal",
an annotation's "Add to goal" in the feedback panel, and the clip page's "Add to a goal"; then the goal page lists
the three in time order. A second attempt says it is already there."""

import pytest

from tests.browser.test_annotations_ui import _ready_lesson
from tests.waiting import job_settled

pytestmark = pytest.mark.browser


def _pick_goal(page, goal_label):
    dialog = page.get_by_role("dialog", name="Add to a goal")
    dialog.get_by_label("Goal", exact=True).select_option(label=goal_label)
    dialog.get_by_role("button", name="Add to goal").click()


def test_a_lesson_an_annotation_and_a_clip_are_added_to_a_goal_from_their_pages(
        page, live_server, sign_in, media_samples):
    mentor = live_server.make_user(name="Gina Mentor")
    mentee = live_server.make_user(name="Theo Mentee")
    live_server.mentor(mentor["email"], mentee["email"])
    lesson, mentee_token = _ready_lesson(live_server, media_samples, mentee["email"])
    mentor_token = live_server.token_for(mentor["email"])
    goal = live_server.api("POST", "/api/v1/goals", mentor_token,
                           json={"teacher_id": mentee["id"], "title": "Check understanding often"}).json()
    other = live_server.api("POST", "/api/v1/goals", mentee_token, json={"title": "Dropped goal"}).json()
    live_server.api("PATCH", f"/api/v1/goals/{other['id']}", mentee_token, json={"status": "dropped"})
    note = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/annotations", mentor_token,
                           json={"start_ms": 1000, "kind": "growth", "body": "Ask a hinge question here"}).json()
    clip = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/clips", mentee_token,
                           json={"start_ms": 0, "end_ms": 2000, "title": "The hinge moment"}).json()["clip"]
    job_settled(lambda: live_server.api("GET", f"/api/v1/clips/{clip['id']}", mentee_token).json())

    sign_in(page, live_server, mentee["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'")
    page.get_by_role("button", name="Add to a goal").click()
    dialog = page.get_by_role("dialog", name="Add to a goal")
    dialog.get_by_text("The lesson “Annotated lesson”").wait_for()
    dialog.get_by_role("option", name="Check understanding often").wait_for(state="attached")
    assert dialog.get_by_role("option").all_inner_texts() == ["Check understanding often"]  # active goals only
    _pick_goal(page, "Check understanding often")
    page.get_by_text("Added to the goal “Check understanding often”.").wait_for()

    page.get_by_role("button", name="Add to goal: 0:01 Growth area").click()
    _pick_goal(page, "Check understanding often")
    page.get_by_text("Added to the goal “Check understanding often”.").last.wait_for()
    page.get_by_role("button", name="Add to goal: 0:01 Growth area").click()  # again: refused, in words
    _pick_goal(page, "Check understanding often")
    page.get_by_role("dialog", name="Add to a goal").get_by_text("That is already evidence for this goal.").wait_for()
    page.get_by_role("dialog", name="Add to a goal").get_by_role("button", name="Cancel").click()

    page.goto(f"{live_server.url}/clips/{clip['id']}")
    page.get_by_role("button", name="Add to a goal").click()
    _pick_goal(page, "Check understanding often")
    page.get_by_text("Added to the goal “Check understanding often”.").wait_for()

    page.goto(f"{live_server.url}/goals/{goal['id']}")
    evidence = page.get_by_role("list", name="Evidence in time order")
    evidence.get_by_role("link", name="Annotated lesson").first.wait_for()
    kinds = [" ".join(t.split()) for t in evidence.get_by_role("listitem").all_inner_texts()]
    assert sorted(k.split(" · ")[1].split(" ")[0] for k in kinds) == ["annotation", "clip", "lesson"], kinds
    goal_evidence = live_server.api("GET", f"/api/v1/goals/{goal['id']}", mentor_token).json()["evidence"]
    assert sorted((e["kind"], e["annotation_id"] or e["clip_id"] or e["lesson_id"]) for e in goal_evidence) == [
        ("annotation", note["id"]), ("clip", clip["id"]), ("lesson", lesson["id"])]
    assert page.errors == []
