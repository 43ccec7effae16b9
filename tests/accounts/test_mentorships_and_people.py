"""Admins pair mentors with mentees (API and page); ending a mentorship ends the access; people admin."""

from obsapp.accounts import services


def test_admin_pairs_and_ends_over_the_api(api_as, make_user, make_lesson):
    admin, mentor, mentee = make_user(admin=True), make_user(), make_user()
    lesson = make_lesson(mentee, status="ready")
    admin_api, mentor_api = api_as(admin), api_as(mentor)
    assert mentor_api.get(f"/api/v1/lessons/{lesson.id}").status_code == 404

    created = admin_api.post("/api/v1/mentorships", json={"mentor_id": mentor.id, "mentee_id": mentee.id})
    assert created.status_code == 201
    assert created.json["mentor"]["id"] == mentor.id and created.json["active"] is True
    assert mentor_api.get(f"/api/v1/lessons/{lesson.id}").json["access"] == "comment"
    assert [m["id"] for m in mentor_api.get("/api/v1/me").json["mentees"]] == [mentee.id]

    again = admin_api.post("/api/v1/mentorships", json={"mentor_id": mentor.id, "mentee_id": mentee.id})
    assert again.status_code == 409

    assert admin_api.delete(f"/api/v1/mentorships/{created.json['id']}").status_code == 204
    assert mentor_api.get(f"/api/v1/lessons/{lesson.id}").status_code == 404
    assert admin_api.get("/api/v1/mentorships").json["items"] == []
    ended = admin_api.get("/api/v1/mentorships?include_ended=true").json["items"]
    assert ended[0]["active"] is False and ended[0]["ended_at"]


def test_many_mentees_and_several_mentors(make_user, make_mentorship):
    a, b, c, d = make_user(), make_user(), make_user(), make_user()
    make_mentorship(a, b)
    make_mentorship(a, c)
    make_mentorship(d, b)
    assert {u.id for u in services.mentees_of(a)} == {b.id, c.id}
    assert {u.id for u in services.mentors_of(b)} == {a.id, d.id}


def test_only_admins_pair_people(api_as, make_user):
    teacher, other = make_user(), make_user()
    response = api_as(teacher).post("/api/v1/mentorships", json={"mentor_id": teacher.id, "mentee_id": other.id})
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_cannot_mentor_oneself_or_unknown_people(api_as, make_user):
    admin = make_user(admin=True)
    api = api_as(admin)
    assert api.post("/api/v1/mentorships", json={"mentor_id": admin.id, "mentee_id": admin.id}).status_code == 422
    assert api.post("/api/v1/mentorships", json={"mentor_id": admin.id, "mentee_id": 99999}).status_code == 404
    bad = api.post("/api/v1/mentorships", json={"mentor_id": "x"})
    assert bad.status_code == 422 and "mentee_id" in bad.json["error"]["fields"]


def test_admin_pages_pair_and_end(browser_client, make_user):
    admin, mentor, mentee = make_user(admin=True), make_user(name="Ms Mentor"), make_user(name="Mr Mentee")
    client = browser_client(admin)
    client.post("/admin/mentorships", data={"mentor_id": mentor.id, "mentee_id": mentee.id, "csrf_token": client.csrf})
    page = client.get("/admin/mentorships").get_data(as_text=True)
    assert "Ms Mentor" in page and "Active" in page
    mentorship = services.list_mentorships(admin)[0]
    client.post("/admin/mentorships", data={"end": mentorship.id, "csrf_token": client.csrf})
    assert services.list_mentorships(admin) == []


def test_admin_pages_are_for_admins_only(browser_client, make_user):
    client = browser_client(make_user())
    assert client.get("/admin/people").status_code == 403
    assert client.get("/admin/mentorships").status_code == 403


def test_admin_creates_deactivates_and_resets(browser_client, app, make_user):
    admin = make_user(admin=True)
    client = browser_client(admin)
    client.post("/admin/people", data={"name": "New Teacher", "email": "new@school.test", "password": "first-pass-1",
                                       "csrf_token": client.csrf})
    user = services.get_user_by_email("new@school.test")
    assert services.authenticate("new@school.test", "first-pass-1").id == user.id
    client.post(f"/admin/people/{user.id}", data={"action": "reset_password", "password": "second-pass-2",
                                                  "csrf_token": client.csrf})
    assert services.authenticate("new@school.test", "first-pass-1") is None
    assert services.authenticate("new@school.test", "second-pass-2") is not None
    client.post(f"/admin/people/{user.id}", data={"action": "deactivate", "csrf_token": client.csrf})
    assert services.authenticate("new@school.test", "second-pass-2") is None
    duplicate = client.post("/admin/people", data={"name": "Dup", "email": "NEW@school.test", "password": "whatever-1",
                                                   "csrf_token": client.csrf}, follow_redirects=True)
    assert "already an account" in duplicate.get_data(as_text=True)


def test_user_search_and_admin_user_api(api_as, make_user):
    admin = make_user(admin=True)
    make_user(name="Siti Hawa")
    teacher = make_user(name="Kumar")
    found = api_as(teacher).get("/api/v1/users?q=siti").json["items"]
    assert [u["name"] for u in found] == ["Siti Hawa"]
    created = api_as(admin).post("/api/v1/users", json={"email": "x@school.test", "name": "X", "password": "long-enough"})
    assert created.status_code == 201 and "password" not in created.json
    assert api_as(teacher).post("/api/v1/users", json={"email": "y@school.test", "name": "Y",
                                                        "password": "long-enough"}).status_code == 403
    short = api_as(admin).post("/api/v1/users", json={"email": "z@school.test", "name": "Z", "password": "short"})
    assert short.status_code == 422
    patched = api_as(admin).patch(f"/api/v1/users/{teacher.id}", json={"active": False})
    assert patched.status_code == 200 and patched.json["active"] is False
