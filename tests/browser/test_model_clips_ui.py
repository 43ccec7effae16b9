"""A model clip in the browser: its teacher shares it from the clip page, tagged by a criterion; the mentee browses
models by that criterion, finds the clip beside model lessons, watches it (the clip's own video) and keeps a
private note timed within it, while the rest of the lesson stays closed to them."""

import pytest

from tests.browser.test_annotations_ui import _ready_lesson
from tests.waiting import job_settled

pytestmark = pytest.mark.browser


def test_a_model_clip_shared_from_its_page_and_browsed_by_criterion(page, new_page, live_server, sign_in,
                                                                    media_samples):
    teacher = live_server.make_user(name="Cara Coach")
    learner_user = live_server.make_user(name="Leo Learner")
    live_server.mentor(teacher["email"], learner_user["email"])
    lesson, token = _ready_lesson(live_server, media_samples, teacher["email"])
    clip = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/clips", token,
                           json={"start_ms": 0, "end_ms": 2000, "title": "Cold calling"}).json()["clip"]
    ready = job_settled(lambda: live_server.api("GET", f"/api/v1/clips/{clip['id']}", token).json())
    assert ready["status"] == "ready", ready

    sign_in(page, live_server, teacher["email"])
    page.goto(f"{live_server.url}/clips/{clip['id']}")
    page.get_by_role("link", name="Share as a model clip").click()
    assert page.get_by_label("My clip", exact=True).input_value() == str(clip["id"])
    form = page.locator("form", has=page.get_by_role("button", name="Share model clip"))
    form.get_by_label("Title", exact=True).fill("Cold calling done kindly")
    form.get_by_label("Criteria", exact=True).select_option(label="R3 Many questions")
    form.get_by_label("Leo Learner", exact=True).check()
    form.get_by_role("button", name="Share model clip").click()
    page.get_by_text("Model clip shared.").wait_for()

    learner = new_page()
    sign_in(learner, live_server, learner_user["email"])
    learner.get_by_role("link", name="Model lessons").click()
    learner.get_by_label("Criterion", exact=True).select_option(label="R3 Many questions")
    learner.get_by_role("button", name="Show").click()
    found = learner.get_by_role("list", name="Model lessons found")
    assert "Clip" in found.get_by_role("listitem").first.inner_text()
    found.get_by_role("link", name="Cold calling done kindly").click()
    learner.get_by_text("A model clip by Cara Coach").wait_for()
    video = learner.get_by_label("Model clip: Cold calling done kindly")
    learner.wait_for_function("() => document.getElementById('model-clip-video').readyState >= 1")
    assert video.evaluate("v => v.duration") > 1
    learner.get_by_label("At (seconds into the clip)", exact=True).fill("1")
    learner.get_by_label("Note", exact=True).fill("The pause before the name")
    learner.get_by_role("button", name="Save note").click()
    learner.get_by_role("list", name="My notes").get_by_text("The pause before the name").wait_for()

    # the clip, not the lesson
    response = learner.goto(f"{live_server.url}/lessons/{lesson['id']}")
    assert response.status == 404
    assert learner.goto(f"{live_server.url}/clips/{clip['id']}").status == 200
    assert page.errors == [] and learner.errors == []
