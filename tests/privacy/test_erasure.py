"""Erasing a person (POST /api/v1/users/{id}/erase, administrators): their lessons and personal data go, their
annotations on others' lessons are deleted or, where others replied, kept as "removed at the author's request";
a receipt lists what was removed, and the audit records it."""

from __future__ import annotations

from sqlalchemy import select

from obsapp.accounts.models import ApiToken, User
from obsapp.annotations.models import Annotation, Reply
from obsapp.extensions import db
from obsapp.lessons.models import Lesson
from obsapp.privacy.erasure import REMOVED_BODY
from obsapp.privacy.models import AuditEntry
from obsapp.storage import media_store


def annotate(api, lesson_id, body):
    response = api.post(f"/api/v1/lessons/{lesson_id}/annotations", json={"start_ms": 0, "body": body, "kind": "note"})
    assert response.status_code == 201, response.json
    return response.json


def test_erasing_a_person(api_as, admin, owner, mentor, make_lesson, make_user):
    # the person to erase: a teacher with a lesson of her own (and its files), who also mentors Olive
    teacher = make_user(name="Tess Teacher", email="tess@school.test")
    from obsapp.accounts import services as accounts

    accounts.create_mentorship(None, teacher, owner)
    db.session.commit()
    own = make_lesson(teacher, "Tess's lesson", status="ready", duration_ms=10_000)
    media_store().put_bytes(f"renditions/lessons/{own.id}/video.mp4", b"video")
    media_store().put_bytes(f"derived/lessons/{own.id}/poster.jpg", b"poster")
    others = make_lesson(owner, "Olive's lesson", status="ready", duration_ms=10_000)
    tess = api_as(teacher)
    answered = annotate(tess, others.id, "Tess: lovely questioning")
    lonely = annotate(tess, others.id, "Tess: check the pacing")
    olives = annotate(api_as(owner), others.id, "Olive's own note")
    assert api_as(owner).post(f"/api/v1/annotations/{answered['id']}/replies", json={"body": "Thanks!"}).status_code \
        == 201
    assert tess.post(f"/api/v1/annotations/{olives['id']}/replies", json={"body": "Agreed"}).status_code == 201
    token_hashes = list(db.session.execute(select(ApiToken.id).where(ApiToken.user_id == teacher.id)).scalars())
    assert token_hashes

    response = api_as(admin).post(f"/api/v1/users/{teacher.id}/erase", json={"confirm": "TESS@school.test"})
    assert response.status_code == 200, response.json
    receipt = response.json
    removed = receipt["removed"]
    assert receipt["user_id"] == teacher.id and receipt["erased_at"]
    assert removed["lessons"] == [{"id": own.id, "title": "Tess's lesson"}]
    assert (removed["annotations_deleted"], removed["annotations_anonymised"], removed["replies_deleted"]) == (1, 1, 1)
    assert removed["tokens"] >= 1 and removed["mentorships"] == 1

    db.session.expire_all()
    assert db.session.get(Lesson, own.id) is None
    assert not media_store().path(f"renditions/lessons/{own.id}/video.mp4").exists()
    assert not media_store().path(f"derived/lessons/{own.id}").exists()
    assert db.session.get(Annotation, lonely["id"]) is None
    kept = db.session.get(Annotation, answered["id"])
    assert kept.body == REMOVED_BODY and [r.body for r in kept.replies] == ["Thanks!"]
    assert db.session.execute(select(Reply).where(Reply.author_id == teacher.id)).first() is None
    assert db.session.execute(select(ApiToken).where(ApiToken.user_id == teacher.id)).first() is None
    person = db.session.get(User, teacher.id)
    assert (person.name, person.active, person.is_admin) == ("Erased person", False, False)
    assert "tess" not in person.email
    # the owner sees the placeholder where her reply depends on it; no trace of the name anywhere in the API
    listed = api_as(owner).get(f"/api/v1/lessons/{others.id}/annotations").get_data(as_text=True)
    assert REMOVED_BODY in listed and "Tess" not in listed
    assert tess.get("/api/v1/me").status_code == 401  # tokens and sign-ins end
    erase = db.session.execute(select(AuditEntry).where(AuditEntry.action == "erase")).scalar_one()
    assert erase.user_name == "Ada Admin" and f"person #{teacher.id}" in erase.detail
    deleted = db.session.execute(select(AuditEntry).where(AuditEntry.lesson_id == own.id,
                                                          AuditEntry.action == "delete")).scalar_one()
    assert "erasure" in deleted.detail
    assert api_as(admin).post(f"/api/v1/users/{teacher.id}/erase",
                              json={"confirm": person.email}).status_code == 404  # already erased


def test_erasure_errors(api_as, admin, owner, make_user):
    api = api_as(admin)
    wrong = api.post(f"/api/v1/users/{owner.id}/erase", json={"confirm": "someone@else.test"})
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "confirmation_required"
    assert api.post(f"/api/v1/users/{owner.id}/erase", json={}).status_code == 422
    assert api.post(f"/api/v1/users/{owner.id}/erase", json={"confirm": 5}).status_code == 422
    assert api.post("/api/v1/users/999999/erase", json={"confirm": "x@y.test"}).status_code == 404
    assert api_as(owner).post(f"/api/v1/users/{admin.id}/erase", json={"confirm": admin.email}).status_code == 403
    assert api_as(None).post(f"/api/v1/users/{owner.id}/erase", json={"confirm": owner.email}).status_code == 401
    assert db.session.get(User, owner.id).active


def test_the_last_admin_cannot_erase_themselves(api_as, make_user):
    only_admins = db.session.execute(select(User).where(User.is_admin.is_(True))).scalars().all()
    assert len(only_admins) == 0  # the test database starts without administrators
    admin = make_user(name="Solo Admin", admin=True)
    response = api_as(admin).post(f"/api/v1/users/{admin.id}/erase", json={"confirm": admin.email})
    assert response.status_code == 409 and response.json["error"]["code"] == "last_admin"
    assert "last administrator" in response.json["error"]["message"]
    second = make_user(name="Second Admin", admin=True)
    assert api_as(admin).post(f"/api/v1/users/{admin.id}/erase", json={"confirm": admin.email}).status_code == 200
    assert db.session.get(User, admin.id).active is False and db.session.get(User, second.id).is_admin


def test_the_erase_page(browser_client, admin, owner, make_lesson):
    make_lesson(owner, "Olive's only lesson")
    client = browser_client(admin)
    assert 'Erase…' in client.get("/admin/people").get_data(as_text=True)
    html = client.get(f"/admin/people/{owner.id}/erase").get_data(as_text=True)
    assert "their 0 talk-calibration submission(s)" in html
    assert "their 1 lesson(s)" in html and f"Type their email address ({owner.email})" in html
    wrong = client.post(f"/admin/people/{owner.id}/erase", data={"confirm": "nope@x.test", "csrf_token": client.csrf},
                        follow_redirects=True)
    assert "confirm with their email address" in wrong.get_data(as_text=True)
    assert db.session.get(User, owner.id).active
    done = client.post(f"/admin/people/{owner.id}/erase", data={"confirm": owner.email, "csrf_token": client.csrf})
    assert done.status_code == 200
    receipt = done.get_data(as_text=True)
    assert "Person erased" in receipt and "“Olive&#39;s only lesson”" in receipt
    db.session.expire_all()
    assert db.session.get(User, owner.id).name == "Erased person"
    assert client.get("/admin/people/999999/erase").status_code == 404


def test_the_erase_page_is_for_admins(browser_client, owner, make_user):
    assert browser_client(owner).get(f"/admin/people/{make_user().id}/erase").status_code == 403


def test_erasure_removes_talk_calibration_codes_and_submissions(api_as, admin, make_user, make_lesson, share,
                                                                make_mentorship):
    from obsapp.talk.models import CalibrationCoder, CalibrationExercise

    teacher = make_user(name="Tina Teacher")
    coach = make_user(name="Cody Coach")  # the person to erase: a mentor of Tina who leads two exercises
    other = make_user(name="Mo Mentor")  # another mentor of Tina
    peer = make_user(name="Pat Peer")  # may comment, mentors nobody
    make_mentorship(coach, teacher)
    make_mentorship(other, teacher)
    lesson = make_lesson(teacher, "Tina's lesson", status="ready", duration_ms=60_000)
    for person in (coach, other, peer):
        share(lesson, person, "commenter")
    apis = {person.id: api_as(person) for person in (coach, other, peer)}

    def exercise(lead, *coders):
        response = apis[lead.id].post(f"/api/v1/lessons/{lesson.id}/calibrations",
                                      json={"coder_ids": [c.id for c in coders], "title": "Week 3"})
        assert response.status_code == 201, response.json
        for coder in coders:
            assert apis[coder.id].post(f"/api/v1/calibrations/{response.json['id']}/submit").status_code == 200
        return response.json["id"]

    handed = exercise(coach, coach, other)  # Mo may lead it: it passes to him
    dropped = exercise(coach, coach, peer)  # nobody else may lead it: it goes
    kept = exercise(other, other, coach)  # Mo's: only Cody's submission goes
    submitted = db.session.execute(select(CalibrationCoder).where(CalibrationCoder.user_id == coach.id)).scalars()
    assert sum(1 for c in submitted if c.submitted_at) == 3

    response = api_as(admin).post(f"/api/v1/users/{coach.id}/erase", json={"confirm": coach.email})
    assert response.status_code == 200, response.json
    removed = response.json["removed"]
    assert (removed["calibration_submissions"], removed["calibrations_handed_over"],
            removed["calibrations_deleted"]) == (3, 1, 1)

    db.session.expire_all()
    assert db.session.execute(select(CalibrationCoder).where(CalibrationCoder.user_id == coach.id)).first() is None
    assert db.session.get(CalibrationExercise, dropped) is None
    assert db.session.execute(select(CalibrationCoder).where(CalibrationCoder.exercise_id == dropped)).first() is None
    passed = db.session.get(CalibrationExercise, handed)
    assert passed.lead_id == other.id and [(c.user_id, c.submitted_at is not None) for c in passed.coders] == [
        (other.id, True)]
    assert [c.user_id for c in db.session.get(CalibrationExercise, kept).coders] == [other.id]
    for exercise_id in (handed, kept):
        shown = apis[other.id].get(f"/api/v1/calibrations/{exercise_id}")
        assert shown.status_code == 200 and "Cody" not in shown.get_data(as_text=True)
    assert apis[other.id].post(f"/api/v1/calibrations/{handed}/close").status_code in (200, 409)
    erase = db.session.execute(select(AuditEntry).where(AuditEntry.action == "erase")).scalar_one()
    assert "3 calibration submission(s)" in erase.detail
