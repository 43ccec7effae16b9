"""Admins import, export, version and retire frameworks; errors name the line."""

import json

import yaml

SCHOOL = """\
slug: school-focus
name: Our school's focus areas
version: 1
criteria:
  - code: Q
    name: Questioning
    color: "#3b5fc0"
    children:
      - {code: Q1, name: Wait time, hotkey: w}
      - {code: Q2, name: Cold calling, hotkey: c}
  - code: F
    name: Feedback
    color: "#1e7d43"
"""


def _post(api, text, content_type="application/yaml"):
    return api.post("/api/v1/frameworks", data=text.encode(), headers={"Content-Type": content_type})


def test_admin_imports_exports_and_round_trips(api_as, make_user):
    admin = api_as(make_user(admin=True))
    created = _post(admin, SCHOOL)
    assert created.status_code == 201, created.json
    body = created.json
    assert body["slug"] == "school-focus" and [c["code"] for c in body["criteria"]] == ["Q", "Q1", "Q2", "F"]
    q = body["criteria"][0]
    assert body["criteria"][1]["parent_id"] == q["id"] and body["criteria"][1]["color"] == "#3b5fc0"
    exported = admin.get(f"/api/v1/frameworks/{body['id']}/export")
    assert "school-focus-v1.yaml" in exported.headers["Content-Disposition"]
    document = yaml.safe_load(exported.data)
    assert document["criteria"][0]["children"][1] == {"code": "Q2", "name": "Cold calling", "color": "#3b5fc0",
                                                      "hotkey": "c"}
    as_json = admin.get(f"/api/v1/frameworks/{body['id']}/export?format=json").data.decode()
    again = _post(admin, as_json, "application/json")  # a new version of the same slug
    assert again.status_code == 201 and again.json["version"] == 2
    old = admin.get(f"/api/v1/frameworks/{body['id']}").json
    assert old["retired"] is True
    slugs = [f["slug"] for f in admin.get("/api/v1/frameworks").json["items"]]
    assert slugs.count("school-focus") == 1
    assert [c["name"] for c in again.json["criteria"]] == [c["name"] for c in body["criteria"]]
    assert json.loads(as_json)["slug"] == "school-focus"


def test_retiring_keeps_old_annotations_readable(api_as, make_user, make_lesson):
    admin_user = make_user(admin=True)
    admin, teacher_user = api_as(admin_user), make_user()
    framework = _post(admin, SCHOOL).json
    lesson = make_lesson(teacher_user, status="ready", duration_ms=60_000)
    teacher = api_as(teacher_user)
    wait = next(c["id"] for c in framework["criteria"] if c["code"] == "Q1")
    a = teacher.post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": 10, "kind": "note", "body": "x",
                                                                       "criterion_ids": [wait]}).json
    assert admin.patch(f"/api/v1/frameworks/{framework['id']}", json={"retired": True}).json["retired"] is True
    assert framework["id"] not in [f["id"] for f in teacher.get("/api/v1/frameworks").json["items"]]
    assert teacher.get(f"/api/v1/annotations/{a['id']}").json["criteria"][0]["name"] == "Wait time"
    refused = teacher.post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": 10, "kind": "note",
                                                                             "criterion_ids": [wait]})
    assert refused.status_code == 422


def test_errors_name_the_line(api_as, make_user):
    admin = api_as(make_user(admin=True))
    cases = [
        (SCHOOL.replace("      - {code: Q2, name: Cold calling, hotkey: c}", "      - {code: Q2, hotkey: c}"), "line 10"),
        (SCHOOL.replace("code: Q2", "code: Q1"), "line 10"),
        (SCHOOL.replace("hotkey: c", "hotkey: w"), "line 10"),
        (SCHOOL.replace('"#1e7d43"', '"green"'), "line 13"),
        ("slug: x\nname: [unclosed\n", "line 3"),
        ("- just\n- a list\n", "line 1"),
    ]
    for text, line in cases:
        response = _post(admin, text)
        assert response.status_code == 422, text
        assert line in response.json["error"]["message"], (line, response.json["error"]["message"])
    assert _post(api_as(make_user()), SCHOOL).status_code == 403
