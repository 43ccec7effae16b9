"""CSV import of people and mentorships: the dry run (what would change, line-numbered errors, nothing changed),
the real run (all or nothing, invitations instead of passwords, emailed through a real SMTP server), Excel files."""

import io

import pytest

from obsapp.accounts import services
from obsapp.accounts.models import AccountLink, Mentorship, User
from obsapp.extensions import db
from tests.mentoring.conftest import smtp_server  # noqa: F401 - the fixture

GOOD = """email,name,role,mentor_email
mentor@school.test,Mina Mentor,mentor,
t1@school.test,Tom One,teacher,mentor@school.test
boss@school.test,Bo Boss,admin,
old@school.test,Old Hand,teacher,mentor@school.test
"""


def _post(api, text, dry_run, name="people.csv"):
    data = {"file": (io.BytesIO(text if isinstance(text, bytes) else text.encode()), name)}
    if dry_run is not None:
        data["dry_run"] = "true" if dry_run else "false"
    return api.post("/api/v1/users/import", data=data, content_type="multipart/form-data")


def _count(model):
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar_one()


def test_dry_run_shows_changes_and_changes_nothing(app, make_user, api_as):
    admin = make_user(admin=True)
    make_user(email="old@school.test", name="Old Hand")
    users_before = _count(User)
    response = _post(api_as(admin), GOOD, True)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is True and body["errors"] == []
    assert [(c["line"], c["email"], c["role"]) for c in body["created"]] == [
        (2, "mentor@school.test", "mentor"), (3, "t1@school.test", "teacher"), (4, "boss@school.test", "admin")]
    assert [(u["line"], u["email"]) for u in body["unchanged"]] == [(5, "old@school.test")]
    assert {(m["mentor_email"], m["mentee_email"]) for m in body["mentorships_added"]} == {
        ("mentor@school.test", "t1@school.test"), ("mentor@school.test", "old@school.test")}
    assert _count(User) == users_before and _count(Mentorship) == 0


def test_real_run_invites_and_pairs(app, make_user, api_as, smtp_server):  # noqa: F811
    admin = make_user(admin=True)
    make_user(email="old@school.test", name="Old Hand")
    response = _post(api_as(admin), GOOD, False)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["invites_emailed"] == 3
    boss = services.get_user_by_email("boss@school.test")
    assert boss.is_admin and services.is_pending(boss)
    mentor = services.get_user_by_email("mentor@school.test")
    assert {m.mentee.email for m in services.list_mentorships(admin) if m.mentor_id == mentor.id} == {
        "t1@school.test", "old@school.test"}
    messages = smtp_server.wait_for(3)
    assert sorted(m["To"] for m in messages) == ["boss@school.test", "mentor@school.test", "t1@school.test"]
    assert all("/invite/" in m.get_content() for m in messages)
    again = _post(api_as(admin), GOOD, True).get_json()  # the same file again: nothing left to do
    assert again["created"] == [] and again["mentorships_added"] == [] and len(again["unchanged"]) == 4


def test_line_numbered_errors_and_the_real_run_refuses(app, make_user, api_as):
    admin = make_user(admin=True)
    bad = ("email,name,role,mentor_email\n"
           "ok@school.test,Okay,teacher,\n"
           "not-an-email,Someone,teacher,\n"
           "ok@school.test,Okay Again,teacher,\n"
           "x@school.test,Xavier,headmaster,\n"
           "y@school.test,Yan,teacher,ghost@school.test\n"
           "z@school.test,,teacher,\n")
    body = _post(api_as(admin), bad, True).get_json()
    assert [(e["line"]) for e in body["errors"]] == [3, 4, 5, 6, 7]
    messages = " | ".join(e["message"] for e in body["errors"])
    assert "not an email address" in messages and "already on line 2" in messages
    assert "not one of teacher, mentor or admin" in messages and "Unknown mentor ghost@school.test" in messages
    users_before = _count(User)
    real = _post(api_as(admin), bad, False)
    assert real.status_code == 422 and real.get_json()["error"]["code"] == "import_failed"
    assert "Line 3" in real.get_json()["error"]["message"]
    assert _count(User) == users_before and _count(AccountLink) == 0


def test_excel_files_bom_semicolons_and_cp1252(app, make_user, api_as):
    admin = make_user(admin=True)
    bom = "\ufeffEmail,Name,Role,Mentor_Email\r\nana@school.test,Ana Lima,teacher,\r\n".encode()
    assert [c["email"] for c in _post(api_as(admin), bom, True).get_json()["created"]] == ["ana@school.test"]
    semi = b"email;name;role;mentor_email\r\nbea@school.test;Bea Cruz;teacher;\r\n"
    assert [c["name"] for c in _post(api_as(admin), semi, True).get_json()["created"]] == ["Bea Cruz"]
    latin = "email,name,role,mentor_email\r\nzoe@school.test,Zoë Müller,teacher,\r\n".encode("cp1252")
    assert _post(api_as(admin), latin, False).status_code == 200
    assert services.get_user_by_email("zoe@school.test").name == "Zoë Müller"


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "empty"), (b"name,role\nA,teacher\n", "missing: email"),
    (b"email,name,role\n" + b"a" * (1024 * 1024 + 10), "larger than"),
])
def test_unreadable_files_are_422(app, make_user, api_as, content, fragment):
    response = _post(api_as(make_user(admin=True)), content, True)
    assert response.status_code == 422 and fragment in response.get_json()["error"]["message"]


def test_missing_file_and_permissions(app, make_user, api_as):
    admin, teacher = make_user(admin=True), make_user()
    no_file = api_as(admin).post("/api/v1/users/import", data={"dry_run": "true"}, content_type="multipart/form-data")
    assert no_file.status_code == 422
    assert _post(api_as(teacher), GOOD, True).status_code == 403
    assert _post(api_as(None), GOOD, True).status_code == 401


def test_import_page_dry_run_then_import(app, make_user, browser_client):
    admin = make_user(admin=True)
    client = browser_client(admin)
    page = client.post("/admin/people/import", data={
        "file": (io.BytesIO(GOOD.encode()), "people.csv"), "action": "dry_run", "csrf_token": client.csrf},
        content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "4 to create, 0 unchanged, 2 mentorships to add" in html
    assert _count(Mentorship) == 0
    done = client.post("/admin/people/import", data={"csv_text": GOOD, "action": "import",
                                                     "csrf_token": client.csrf}, follow_redirects=True)
    assert "Imported: 4 people invited (0 by email), 2 mentorships added." in done.get_data(as_text=True)
    assert _count(Mentorship) == 2
    wrong = client.post("/admin/people/import", data={
        "file": (io.BytesIO(b"email,name,role\nbad,B,teacher\n"), "x.csv"), "action": "dry_run",
        "csrf_token": client.csrf}, content_type="multipart/form-data")
    assert wrong.status_code == 422 and "Line 2:" in wrong.get_data(as_text=True)
