"""A whole observation cycle in the browser, mentor and mentee side by side: goal -> pre-conference -> upload ->
self-review -> mentor's feedback revealed -> reflection prompt -> journal entry shared -> reply -> post-conference
next step -> goal achieved; plus the growth page's chart and table."""

import pytest

from tests.browser.test_annotations_ui import _ready_lesson

pytestmark = pytest.mark.browser


def _annotate(page, live_server, lesson_id, comment, kind, seconds):
    page.goto(f"{live_server.url}/lessons/{lesson_id}")
    page.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'")
    page.locator("video").evaluate(f"v => {{ v.currentTime = {seconds}; }}")
    page.get_by_role("button", name="Add annotation").click()
    page.get_by_label("Comment", exact=True).fill(comment)
    page.get_by_label("Kind", exact=True).select_option(kind)
    page.get_by_label("Criteria", exact=True).fill("R4")
    page.get_by_label("Criteria", exact=True).press("Enter")  # the picker adds the first match: R4 Models
    page.get_by_role("button", name="Save").click()
    page.get_by_text(comment).first.wait_for()


def test_a_whole_observation_cycle(page, new_page, live_server, sign_in, media_samples):
    mentor = live_server.make_user(name="Maya Mentor")
    mentee = live_server.make_user(name="Ned Mentee")
    live_server.mentor(mentor["email"], mentee["email"])

    # the mentee sets a goal tied to a criterion
    learner = new_page()
    sign_in(learner, live_server, mentee["email"])
    learner.get_by_role("link", name="Mentoring").click()
    learner.get_by_label("Goal", exact=True).fill("Model new methods step by step")
    learner.get_by_label("Success looks like", exact=True).fill("Pupils can explain each step")
    learner.get_by_label("Criteria", exact=True).select_option(label="R4 Models")
    learner.get_by_role("button", name="Add goal").click()
    learner.get_by_text("Goal added.").wait_for()
    goal_url = learner.url

    # the mentor plans the cycle (pre-observation conference)
    sign_in(page, live_server, mentor["email"])
    page.get_by_role("link", name="Mentoring").click()
    page.get_by_label("Mentee", exact=True).select_option(label="Ned Mentee")
    page.get_by_label("Focus", exact=True).fill("Modelling")
    page.get_by_label("Look-fors", exact=True).fill("Worked examples before practice")
    page.get_by_role("button", name="Plan cycle").click()
    page.get_by_text("waiting for recording").wait_for()
    cycle_url = page.url

    # the mentee's bell shows the new cycle; the recording is uploaded and linked
    learner.reload()
    assert "1 unread" in learner.get_by_role("link", name="Notifications").get_attribute("aria-label")
    lesson, _ = _ready_lesson(live_server, media_samples, mentee["email"])
    learner.goto(cycle_url)
    learner.get_by_label("Lesson", exact=True).select_option(label="Annotated lesson")
    learner.get_by_role("button", name="Link lesson").click()
    learner.get_by_text("reflection due").wait_for()

    # both review; the mentor's feedback stays hidden from the mentee until both are done
    _annotate(page, live_server, lesson["id"], "Show the second step again", "growth", 2.0)
    _annotate(learner, live_server, lesson["id"], "My worked example went well", "strength", 1.0)
    learner.reload()
    learner.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'")
    assert learner.get_by_text("Show the second step again").count() == 0
    page.goto(cycle_url)
    page.get_by_role("button", name="Mark my feedback done").click()
    page.get_by_text("Review marked done.").wait_for()
    learner.goto(cycle_url)
    learner.get_by_role("button", name="Mark my self-review done").click()
    learner.get_by_text("post-conference due").first.wait_for()
    learner.get_by_role("link", name="Annotated lesson").click()
    learner.get_by_text("Show the second step again").first.wait_for()
    learner.get_by_text("My worked example went well").first.wait_for()

    # the reflection prompt, answered in the journal and shared with the mentor
    learner.goto(cycle_url)
    learner.get_by_text("What would you do differently?").wait_for()
    learner.get_by_label("Reflection", exact=True).fill("I rushed the second step; next time I will *pause* and check.")
    learner.get_by_label("Share with my mentor", exact=True).check()
    learner.get_by_role("button", name="Save reflection").click()
    learner.get_by_text("shared with mentors").wait_for()

    # the mentor follows the notification to the entry and replies
    page.goto(f"{live_server.url}/notifications")
    page.get_by_role("button", name="Ned Mentee shared a journal entry with you").click()
    page.get_by_text("I rushed the second step").wait_for()
    assert page.locator(".markdown em").first.inner_text() == "pause"
    page.get_by_label("Reply", exact=True).fill("Good catch. Try a mini-whiteboard check.")
    page.get_by_role("button", name="Post reply").click()
    page.get_by_text("Reply posted.").wait_for()

    # post-conference: a next step linked to the goal, then the cycle is closed
    page.goto(cycle_url)
    page.get_by_label("What went well", exact=True).fill("Clear worked example")
    page.get_by_role("button", name="Save post-conference notes").click()
    page.get_by_text("Cycle updated.").wait_for()
    page.get_by_label("Next step", exact=True).fill("Check understanding after each step")
    page.get_by_label("For goal", exact=True).select_option(label="Model new methods step by step")
    page.get_by_role("button", name="Add next step").click()
    page.get_by_text("Next step agreed.").wait_for()
    page.get_by_role("button", name="Close cycle").click()
    page.get_by_text("Status closed").wait_for()

    # the mentee adds the lesson as evidence and marks the goal achieved
    learner.goto(goal_url)
    learner.get_by_label("Lesson", exact=True).select_option(label="Annotated lesson")
    learner.get_by_role("button", name="Add lesson").click()
    learner.get_by_role("list", name="Evidence in time order").get_by_role("link", name="Annotated lesson").wait_for()
    learner.get_by_label("Status", exact=True).select_option("achieved")
    learner.get_by_role("button", name="Change status").click()
    learner.get_by_text("Goal updated.").wait_for()
    assert learner.locator(".status").first.inner_text() == "achieved"

    # growth: the criterion's chart (an SVG with a title) and its table
    learner.goto(f"{live_server.url}/growth")
    learner.get_by_role("img", name="Models").first.wait_for()
    table = learner.get_by_role("table", name="R4 Models by lesson")
    row = table.get_by_role("row", name="Annotated lesson")
    assert row.get_by_role("cell").all_inner_texts()[:2] == ["1", "1"]
    assert page.errors == [] and learner.errors == []


def test_a_model_lesson_browsed_by_criterion_with_private_notes(page, new_page, live_server, sign_in):
    mentor = live_server.make_user(name="Mo Model")
    mentee = live_server.make_user(name="Lu Learner")
    live_server.mentor(mentor["email"], mentee["email"])
    token = live_server.token_for(mentor["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "My questioning lesson"}).json()

    sign_in(page, live_server, mentor["email"])
    page.get_by_role("link", name="Model lessons").click()
    page.get_by_label("My lesson", exact=True).select_option(label="My questioning lesson")
    page.get_by_label("Title", exact=True).fill("What strong questioning looks like")
    page.get_by_label("Criteria", exact=True).select_option(label="R3 Many questions")
    page.get_by_label("Lu Learner", exact=True).check()
    page.get_by_role("button", name="Share model lesson").click()
    page.get_by_text("Model lesson shared.").wait_for()

    learner = new_page()
    sign_in(learner, live_server, mentee["email"])
    learner.get_by_role("link", name="Model lessons").click()
    learner.get_by_label("Criterion", exact=True).select_option(label="R4 Models")
    learner.get_by_role("button", name="Show").click()
    learner.get_by_text("No model lessons for this criterion yet.").wait_for()
    learner.get_by_label("Criterion", exact=True).select_option(label="R3 Many questions")
    learner.get_by_role("button", name="Show").click()
    found = learner.get_by_role("list", name="Model lessons found")
    found.get_by_role("link", name="What strong questioning looks like").click()
    learner.get_by_label("At (seconds into the lesson)", exact=True).fill("12")
    learner.get_by_label("Note", exact=True).fill("She waits before taking answers")
    learner.get_by_role("button", name="Save note").click()
    notes = learner.get_by_role("list", name="My notes")
    notes.get_by_text("She waits before taking answers").wait_for()
    assert notes.get_by_role("link", name="0:12").get_attribute("href") == f"/lessons/{lesson['id']}#t=12"

    # on a phone, no mentoring page scrolls sideways
    learner.set_viewport_size({"width": 390, "height": 844})
    for path in ("/mentoring", "/journal", "/models", "/notifications", "/growth", learner.url.split(live_server.url)[1]):
        learner.goto(live_server.url + path)
        width = learner.evaluate("() => document.scrollingElement.scrollWidth")
        assert width <= 390, (path, width)

    # the notes are the learner's alone
    page.goto(learner.url)
    page.get_by_text("No notes yet.").wait_for()
    assert page.errors == [] and learner.errors == []
