"""Model lessons: shared by their owner with chosen people or the school, browsed by criterion, watched by their
audience, with private notes each learner keeps for themselves."""

from sqlalchemy import func, select

from obsapp import policy
from obsapp.extensions import db
from obsapp.mentoring.models import ModelLesson
from tests.mentoring.test_mentoring_api import criterion, pair  # noqa: F401 - the fixture


def test_share_browse_by_criterion_watch_and_keep_private_notes(pair, make_user, make_lesson, api_as):  # noqa: F811
    api, mentor, mentee = pair["api"], pair["mentor"], pair["mentee"]
    own = make_lesson(mentor, title="Questioning, P5", status="ready", duration_ms=60_000)
    other_mentee = make_user(name="Other mentee")
    other = api_as(other_mentee)
    questions, models = criterion("LE.8").id, criterion("LE.1").id
    lesson_url = f"/api/v1/lessons/{own.id}"
    assert api["mentee"].get(lesson_url).status_code == 404
    shared = api["mentor"].post("/api/v1/models", json={"lesson_id": own.id, "title": "Strong questioning",
                                                        "criterion_ids": [questions],
                                                        "user_ids": [mentee.id, other_mentee.id]})
    assert shared.status_code == 201, shared.json
    model = shared.json
    assert model["audience"] == "chosen" and model["criteria"][0]["id"] == questions
    # the chosen may watch the lesson (but not comment on it)
    assert api["mentee"].get(lesson_url).status_code == 200
    refused = api["mentee"].post(f"{lesson_url}/annotations", json={"start_ms": 0, "kind": "note", "body": "x"})
    assert refused.status_code == 403
    assert api["outsider"].get(lesson_url).status_code == 404
    # browsing by criterion
    assert [m["id"] for m in api["mentee"].get(f"/api/v1/models?criterion_id={questions}").json["items"]] == [model["id"]]
    assert api["mentee"].get(f"/api/v1/models?criterion_id={models}").json["items"] == []
    assert api["outsider"].get("/api/v1/models").json["items"] == []
    assert api["outsider"].get(f"/api/v1/models/{model['id']}").status_code == 404
    notes = api["mentee"].get("/api/v1/notifications").json["items"]
    assert notes[0]["kind"] == "model" and notes[0]["url"] == f"/models/{model['id']}"
    # private notes
    url = f"/api/v1/models/{model['id']}/notes"
    made = api["mentee"].post(url, json={"body": "Notice the *wait time*", "t_ms": 12_000})
    assert made.status_code == 201 and "<em>wait time</em>" in made.json["body_html"]
    assert api["mentee"].post(url, json={"body": "late", "t_ms": 61_000}).status_code == 422
    assert api["mentee"].post(url, json={"body": ""}).status_code == 422
    assert [n["body"] for n in api["mentee"].get(url).json["items"]] == ["Notice the *wait time*"]
    assert other.get(url).json["items"] == [] and api["mentor"].get(url).json["items"] == []
    assert api["outsider"].post(url, json={"body": "x"}).status_code == 404
    # only the owner stops sharing; then the lesson is theirs alone again
    assert api["mentee"].delete(f"/api/v1/models/{model['id']}").status_code == 403
    assert api["mentor"].delete(f"/api/v1/models/{model['id']}").status_code == 204
    assert api["mentee"].get(lesson_url).status_code == 404


def test_school_wide_and_refusals(pair, make_user, make_lesson, api_as):  # noqa: F811
    api, mentor = pair["api"], pair["mentor"]
    own = make_lesson(mentor, title="Routines", status="ready", duration_ms=10_000)
    everyone = api["mentor"].post("/api/v1/models", json={"lesson_id": own.id, "audience": "school"})
    assert everyone.status_code == 201 and everyone.json["title"] == "Routines"
    newcomer = api_as(make_user())
    assert newcomer.get(f"/api/v1/lessons/{own.id}").status_code == 200
    assert [m["id"] for m in newcomer.get("/api/v1/models").json["items"]] == [everyone.json["id"]]
    # seen by policy's SQL filter in lists of lessons too
    from obsapp.lessons.models import Lesson
    ids = db.session.execute(select(Lesson.id).where(policy.lesson_filter(pair["outsider"], Lesson.id,
                                                                          Lesson.owner_id))).scalars().all()
    assert own.id in ids
    before = db.session.execute(select(func.count()).select_from(ModelLesson)).scalar_one()
    mentee_lesson = pair["lesson"]
    for body, status in [({"lesson_id": mentee_lesson.id, "audience": "school"}, 403),  # the mentor's mentee's
                         ({"lesson_id": own.id}, 422),  # chosen, nobody chosen
                         ({"lesson_id": own.id, "user_ids": [999999]}, 422),
                         ({"lesson_id": own.id, "audience": "world"}, 422),
                         ({"lesson_id": own.id, "audience": "school", "criterion_ids": [999999]}, 422),
                         ({"lesson_id": 999999, "audience": "school"}, 404)]:
        response = api["mentor"].post("/api/v1/models", json=body)
        assert response.status_code == status, (body, response.json)
    assert api["outsider"].post("/api/v1/models", json={"lesson_id": own.id, "audience": "school"}).status_code == 403
    assert db.session.execute(select(func.count()).select_from(ModelLesson)).scalar_one() == before
