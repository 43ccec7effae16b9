"""Model clips: a teacher shares a clip of their own lesson as a model. Its audience sees that clip (faces blurred
where the lesson's consent asks) and nothing else of the lesson; it is browsed by criterion beside model lessons and
keeps its own private notes, timed within the clip. A lesson whose faces must be blurred is shared as clips only."""

from sqlalchemy import func, select

from obsapp.extensions import db
from obsapp.mentoring.models import ModelLesson
from tests.mentoring.test_mentoring_api import criterion, pair  # noqa: F401 - the fixture


def _clip(api, lesson_id, start_ms=10_000, end_ms=20_000, title="Wait time"):
    made = api.post(f"/api/v1/lessons/{lesson_id}/clips", json={"start_ms": start_ms, "end_ms": end_ms, "title": title})
    assert made.status_code == 202, made.json
    return made.json["clip"]


def test_a_model_clip_shows_its_audience_the_clip_only(pair, make_lesson, make_user, api_as):  # noqa: F811
    api, mentor, mentee = pair["api"], pair["mentor"], pair["mentee"]
    own = make_lesson(mentor, title="Questioning, P5", status="ready", duration_ms=60_000)
    clip = _clip(api["mentor"], own.id)
    other_clip = _clip(api["mentor"], own.id, 30_000, 40_000, "Something else")
    questions = criterion("LE.8").id
    assert api["mentee"].get(f"/api/v1/clips/{clip['id']}").status_code == 404

    shared = api["mentor"].post("/api/v1/models", json={"clip_id": clip["id"], "criterion_ids": [questions],
                                                        "user_ids": [mentee.id]})
    assert shared.status_code == 201, shared.json
    model = shared.json
    assert (model["kind"], model["clip_id"], model["lesson_id"], model["title"]) == (
        "clip", clip["id"], own.id, "Wait time")
    assert model["clip"]["page_url"] == f"/clips/{clip['id']}" and model["clip"]["start_ms"] == 10_000
    [note] = api["mentee"].get("/api/v1/notifications").json["items"]
    assert (note["kind"], note["title"], note["url"]) == ("model", "Mentor shared a model clip with you",
                                                          f"/models/{model['id']}")

    # the clip, and nothing else of the lesson
    assert api["mentee"].get(f"/api/v1/clips/{clip['id']}").status_code == 200
    assert api["mentee"].get(f"/api/v1/clips/{other_clip['id']}").status_code == 404
    assert api["mentee"].get(f"/api/v1/lessons/{own.id}").status_code == 404
    assert api["mentee"].get(f"/api/v1/lessons/{own.id}/annotations").status_code == 404
    assert api["mentee"].post(f"/api/v1/clips/{clip['id']}/send", json={"user_ids": [mentor.id]}).status_code == 403
    reel = api["mentee"].post("/api/v1/reels", json={"title": "Mine", "clip_ids": [clip["id"]]})
    assert reel.status_code == 422  # a reel of it would be seen by nobody who may not see the lesson
    assert api["outsider"].get(f"/api/v1/clips/{clip['id']}").status_code == 404

    # browsed by criterion beside model lessons
    lesson_model = api["mentor"].post("/api/v1/models", json={"lesson_id": own.id, "criterion_ids": [questions],
                                                              "user_ids": [mentee.id]}).json
    found = api["mentee"].get(f"/api/v1/models?criterion_id={questions}").json["items"]
    assert [(m["id"], m["kind"]) for m in found] == [(lesson_model["id"], "lesson"), (model["id"], "clip")]
    assert api["mentor"].delete(f"/api/v1/models/{lesson_model['id']}").status_code == 204

    # private notes, timed within the clip (10 s long)
    url = f"/api/v1/models/{model['id']}/notes"
    assert api["mentee"].post(url, json={"body": "She waits", "t_ms": 4_000}).status_code == 201
    late = api["mentee"].post(url, json={"body": "late", "t_ms": 12_000})
    assert late.status_code == 422 and "within the clip" in late.json["error"]["message"]
    assert api["mentor"].get(url).json["items"] == []

    # stop sharing: the clip is the lesson's people's again
    assert api["mentor"].delete(f"/api/v1/models/{model['id']}").status_code == 204
    assert api["mentee"].get(f"/api/v1/clips/{clip['id']}").status_code == 404


def test_school_wide_model_clip_and_what_may_not_be_shared(pair, make_user, make_lesson, api_as):  # noqa: F811
    api, mentee_lesson = pair["api"], pair["lesson"]
    # the mentor made a clip of the mentee's lesson: only the lesson's owner shares it as a model
    mentors_clip = _clip(api["mentor"], mentee_lesson.id)
    refused = api["mentor"].post("/api/v1/models", json={"clip_id": mentors_clip["id"], "audience": "school"})
    assert refused.status_code == 403
    hidden = api["outsider"].post("/api/v1/models", json={"clip_id": mentors_clip["id"], "audience": "school"})
    missing = api["outsider"].post("/api/v1/models", json={"clip_id": 999_999, "audience": "school"})
    assert hidden.status_code == missing.status_code == 404
    for bad in ({"audience": "school"}, {"lesson_id": mentee_lesson.id, "clip_id": mentors_clip["id"],
                                         "audience": "school"}):
        response = api["mentee"].post("/api/v1/models", json=bad)
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid_input", bad
    assert db.session.execute(select(func.count()).select_from(ModelLesson)).scalar_one() == 0

    made = api["mentee"].post("/api/v1/models", json={"clip_id": mentors_clip["id"], "audience": "school",
                                                      "title": "Plenary"})
    assert made.status_code == 201, made.json
    stranger = api_as(make_user())
    assert stranger.get(f"/api/v1/clips/{mentors_clip['id']}").status_code == 200
    assert stranger.get(f"/api/v1/lessons/{mentee_lesson.id}").status_code == 404


def test_consent_a_lesson_whose_faces_must_be_blurred_is_shared_as_blurred_clips(pair, make_lesson):  # noqa: F811
    api, mentor, mentee = pair["api"], pair["mentor"], pair["mentee"]
    own = make_lesson(mentor, title="Year 3 reading", status="ready", duration_ms=60_000)
    assert api["mentor"].request("PUT", f"/api/v1/lessons/{own.id}/consent",
                                 json={"consent": "some_not_consented"}).status_code == 200
    whole = api["mentor"].post("/api/v1/models", json={"lesson_id": own.id, "user_ids": [mentee.id]})
    assert whole.status_code == 409 and whole.json["error"]["code"] == "blur_required"
    clip = _clip(api["mentor"], own.id)
    assert clip["blur_faces"] is True  # privacy forces it on every clip of the lesson
    shared = api["mentor"].post("/api/v1/models", json={"clip_id": clip["id"], "user_ids": [mentee.id]})
    assert shared.status_code == 201 and shared.json["clip"]["blur_faces"] is True
    assert api["mentee"].get(f"/api/v1/lessons/{own.id}").status_code == 404


def test_model_clip_pages_share_from_the_form_and_show_the_clip(pair, make_lesson, browser_client):  # noqa: F811
    from flask import g

    api, mentor, mentee = pair["api"], pair["mentor"], pair["mentee"]
    own = make_lesson(mentor, title="Questioning, P5", status="ready", duration_ms=60_000)
    clip = _clip(api["mentor"], own.id)
    web = browser_client(mentor)
    assert f'href="/models?clip_id={clip["id"]}#share-clip-heading"' in web.get(f"/clips/{clip['id']}").get_data(
        as_text=True)
    form = web.get(f"/models?clip_id={clip['id']}").get_data(as_text=True)
    assert "Share one of my clips as a model" in form and f'<option value="{clip["id"]}" selected>' in form
    shared = web.post("/models", data={"csrf_token": web.csrf, "clip_id": clip["id"], "title": "Waiting",
                                       "audience": "chosen", "user_ids": [mentee.id],
                                       "criterion_ids": [criterion("LE.8").id]}, follow_redirects=True)
    page = shared.get_data(as_text=True)
    assert "Model clip shared." in page and "A model clip by Mentor" in page
    assert "The clip is being made" in page and "At (seconds into the clip)" in page
    g.pop("csrf_token", None)
    learner = browser_client(mentee)
    listing = learner.get(f"/models?criterion_id={criterion('LE.8').id}").get_data(as_text=True)
    assert "Waiting</a> · <span class=\"badge\">Clip</span> · Mentor" in listing
    clip_page = learner.get(f"/clips/{clip['id']}").get_data(as_text=True)
    assert "Share as a model clip" not in clip_page
    assert "Clip from Questioning, P5" in clip_page and f'href="/lessons/{own.id}"' not in clip_page
