"""What #12's cycle shows around the video: the lesson page's "Self-review first" notice (what is hidden, until
when, "Mark my review done"), and the invitation to watch together emailed when the person asked for it."""

import re

from flask import g

from tests.mentoring.test_mentoring_api import pair  # noqa: F401 - the fixture


def _signed_in(browser_client, user):
    g.pop("csrf_token", None)  # another person's session (Flask-WTF caches the token in the shared g)
    return browser_client(user)


def _notice(html: str) -> str | None:
    found = re.search(r'<section class="card notice self-review-notice.*?</section>', html, re.S)
    return " ".join(found.group(0).split()) if found else None


def test_the_lesson_page_says_what_self_review_first_hides_and_marks_reviews_done(pair, browser_client):  # noqa: F811
    api, lesson = pair["api"], pair["lesson"]
    cycle = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id, "lesson_id": lesson.id,
                                                       "blind_mentor": True}).json
    assert cycle["status"] == "observed" and cycle["revealed"] is False
    page = f"/lessons/{lesson.id}"

    mentee = _signed_in(browser_client, pair["mentee"])
    notice = _notice(mentee.get(page).get_data(as_text=True))
    assert notice is not None and "Self-review first" in notice
    assert "Mentor’s annotations on it are hidden from you, and yours from Mentor," in notice
    assert "until you have both marked your reviews done" in notice
    assert "Your review: not done yet" in notice and "Mark my review done" in notice
    done = mentee.post(f"/cycles/{cycle['id']}/review-done", data={"csrf_token": mentee.csrf})
    assert done.status_code == 302 and done.headers["Location"].endswith(page)
    notice = _notice(mentee.get(page).get_data(as_text=True))
    assert "Your review: done" in notice and "Mark my review done" not in notice
    assert "Waiting for Mentor to mark their review done." in notice
    assert api["mentee"].get(f"/api/v1/cycles/{cycle['id']}").json["revealed"] is False

    mentor = _signed_in(browser_client, pair["mentor"])
    notice = _notice(mentor.get(page).get_data(as_text=True))
    assert "your annotations on it are hidden from Mentee, and Mentee’s from you," in notice
    assert "Mentee’s review: done" in notice and "Mark my review done" in notice
    assert mentor.post(f"/cycles/{cycle['id']}/review-done", data={"csrf_token": mentor.csrf}).status_code == 302
    assert api["mentor"].get(f"/api/v1/cycles/{cycle['id']}").json["revealed"] is True
    assert _notice(mentor.get(page).get_data(as_text=True)) is None  # revealed: nothing hidden, no notice
    assert _notice(_signed_in(browser_client, pair["mentee"]).get(page).get_data(as_text=True)) is None

    outsider = _signed_in(browser_client, pair["outsider"])
    assert outsider.post(f"/cycles/{cycle['id']}/review-done", data={"csrf_token": outsider.csrf}).status_code == 404


def test_no_notice_without_self_review_first_and_none_for_people_outside_the_cycle(
        pair, browser_client, make_user, share):  # noqa: F811
    api, lesson = pair["api"], pair["lesson"]
    api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id, "lesson_id": lesson.id})
    colleague = make_user(name="Colleague")
    share(lesson, colleague, "commenter")
    assert _notice(_signed_in(browser_client, colleague).get(f"/lessons/{lesson.id}").get_data(as_text=True)) is None
    plain = api["mentee"].post("/api/v1/lessons", json={"title": "No cycle"}).json
    assert _notice(_signed_in(browser_client, pair["mentee"]).get(f"/lessons/{plain['id']}")
                   .get_data(as_text=True)) is None


def test_a_watch_invitation_is_emailed_when_asked_for_with_a_link_and_no_more(pair, smtp_server, app):  # noqa: F811
    api, lesson = pair["api"], pair["lesson"]
    api["mentor"].request("PUT", "/api/v1/notifications/settings", json={"email": {"watch": "instant"}})
    session = api["mentee"].post(f"/api/v1/lessons/{lesson.id}/watch").json
    assert api["mentee"].post(f"/api/v1/watch/{session['session_id']}/invitations",
                              json={"user_ids": [pair["mentor"].id]}).status_code == 201
    [message] = smtp_server.wait_for(1)
    assert message["To"] == pair["mentor"].email
    assert message["Subject"] == "obsapp: Mentee invites you to watch “Fractions” together"
    assert f"https://obsapp.school.test/watch/{session['session_id']}/invitation" in message.get_content()
    assert message["List-Unsubscribe"]


def test_a_cycle_step_due_is_told_the_planned_day_without_a_recording_once(pair, app):  # noqa: F811
    from datetime import date, timedelta

    from obsapp import uow
    from obsapp.mentoring import services

    api = pair["api"]
    today = date.today()
    due = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id,
                                                     "planned_for": today.isoformat()}).json
    later = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id,
                                                       "planned_for": (today + timedelta(days=3)).isoformat()}).json
    api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id, "lesson_id": pair["lesson"].id,
                                               "planned_for": today.isoformat()})  # observed: nothing due
    before = {name: len(api[name].get("/api/v1/notifications").json["items"]) for name in ("mentor", "mentee")}
    with uow.transaction():
        assert services.remind_due_cycles(today) == 1
    with uow.transaction():
        assert services.remind_due_cycles(today) == 0  # once per planned date, whichever worker runs it
    for name, words in (("mentee", "the recording is due"), ("mentor", "waiting for the recording")):
        items = api[name].get("/api/v1/notifications").json["items"]
        assert len(items) == before[name] + 1
        assert (items[0]["kind"], items[0]["url"]) == ("cycle", f"/cycles/{due['id']}")
        assert items[0]["title"].startswith("Observation planned for ") and items[0]["title"].endswith(words)
    # a new date: reminded again when it comes; the later cycle when its day comes
    assert api["mentor"].patch(f"/api/v1/cycles/{due['id']}",
                               json={"planned_for": (today + timedelta(days=1)).isoformat()}).status_code == 200
    with uow.transaction():
        assert services.remind_due_cycles(today) == 0
        assert services.remind_due_cycles(today + timedelta(days=3)) == 2
    assert later["id"] != due["id"]


def test_the_mentee_is_told_their_self_review_is_due_once_the_mentor_has_reviewed(pair):  # noqa: F811
    api = pair["api"]
    cycle = api["mentor"].post("/api/v1/cycles", json={"mentee_id": pair["mentee"].id,
                                                       "lesson_id": pair["lesson"].id}).json
    assert api["mentor"].post(f"/api/v1/cycles/{cycle['id']}/review-done").status_code == 200
    titles = [n["title"] for n in api["mentee"].get("/api/v1/notifications").json["items"]]
    assert titles[0] == "Your mentor's review is done: your self-review is due"
    assert api["mentor"].post(f"/api/v1/cycles/{cycle['id']}/review-done").status_code == 200  # again: no repeat
    again = [n["title"] for n in api["mentee"].get("/api/v1/notifications").json["items"]]
    assert again == titles
