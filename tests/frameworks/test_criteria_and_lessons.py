"""Admins edit criteria (names, colours, hotkeys) by API and page; each lesson chooses the frameworks it offers."""

import html
import re

import pytest


def _framework(api, slug):
    return next(f for f in api.get("/api/v1/frameworks").json["items"] if f["slug"] == slug)


def test_admin_edits_a_criterion_and_codes_stay(api_as, make_user):
    admin = api_as(make_user(admin=True))
    ros = _framework(admin, "rosenshine")
    models = next(c for c in ros["criteria"] if c["code"] == "R4")
    url = f"/api/v1/frameworks/{ros['id']}/criteria/{models['id']}"
    changed = admin.patch(url, json={"name": "Worked examples", "color": "#AA3300", "hotkey": "W"})
    assert changed.status_code == 200, changed.json
    assert changed.json["name"] == "Worked examples" and changed.json["color"] == "#aa3300"
    assert changed.json["hotkey"] == "w" and changed.json["code"] == "R4"
    again = admin.get(f"/api/v1/frameworks/{ros['id']}").json
    assert next(c for c in again["criteria"] if c["id"] == models["id"])["name"] == "Worked examples"
    cleared = admin.patch(url, json={"hotkey": None})
    assert cleared.status_code == 200 and cleared.json["hotkey"] is None


@pytest.mark.parametrize("body, status, field", [
    ({"hotkey": "1"}, 409, "hotkey"),          # R1 Daily review has it
    ({"hotkey": "k"}, 422, "hotkey"),          # the player's play/pause key
    ({"hotkey": "a"}, 422, "hotkey"),          # the lesson page's "add an annotation"
    ({"hotkey": "I"}, 422, "hotkey"),          # span start (keys are lowercased first)
    ({"hotkey": "o"}, 422, "hotkey"),          # span end
    ({"hotkey": "f"}, 422, "hotkey"),          # the watch page's flag
    ({"hotkey": "ab"}, 422, "hotkey"),
    ({"hotkey": "!"}, 422, "hotkey"),
    ({"color": "red"}, 422, "color"),
    ({"name": "   "}, 422, "name"),
    ({"code": "X"}, 422, "code"),              # codes are not editable
])
def test_bad_criterion_edits_are_refused_and_change_nothing(api_as, make_user, body, status, field):
    admin = api_as(make_user(admin=True))
    ros = _framework(admin, "rosenshine")
    models = next(c for c in ros["criteria"] if c["code"] == "R4")
    response = admin.patch(f"/api/v1/frameworks/{ros['id']}/criteria/{models['id']}", json=body)
    assert response.status_code == status, response.json
    assert field in response.json["error"].get("fields", {}) or field in response.json["error"]["message"].lower()
    after = next(c for c in admin.get(f"/api/v1/frameworks/{ros['id']}").json["criteria"] if c["id"] == models["id"])
    assert after == models


def test_reserved_keys_are_refused_with_a_clear_message_and_built_ins_use_none(api_as, make_user):
    admin = api_as(make_user(admin=True))
    ros = _framework(admin, "rosenshine")
    url = f"/api/v1/frameworks/{ros['id']}/criteria/{ros['criteria'][0]['id']}"
    message = admin.patch(url, json={"hotkey": "f"}).json["error"]["message"]
    assert "taken by the player" in message and "F flags a moment" in message
    reserved = set("afijklo")
    for slug in ("stp", "rosenshine"):
        keys = [c["hotkey"] for c in _framework(admin, slug)["criteria"] if c["hotkey"]]
        assert not reserved & set(keys) and len(keys) == len(set(keys)), (slug, keys)


def test_only_admins_edit_criteria(api_as, make_user):
    teacher = api_as(make_user())
    ros = _framework(teacher, "rosenshine")
    c = ros["criteria"][0]
    response = teacher.patch(f"/api/v1/frameworks/{ros['id']}/criteria/{c['id']}", json={"name": "Mine"})
    assert response.status_code == 403
    stp = teacher.get(f"/api/v1/frameworks/{_framework(teacher, 'stp')['id']}").json
    theirs = stp["criteria"][0]
    response = teacher.patch(f"/api/v1/frameworks/{stp['id']}/criteria/{theirs['id']}", json={"name": "x"})
    assert response.status_code == 403  # the framework is visible to every teacher; editing it is not theirs
    # a criterion of another framework is not in this one, for anyone: absent
    assert teacher.patch(f"/api/v1/frameworks/{stp['id']}/criteria/{c['id']}", json={"name": "x"}).status_code == 404


def test_admin_page_saves_all_criteria_at_once_and_can_swap_hotkeys(app, browser_client, make_user):
    admin = make_user(admin=True)
    client = browser_client(admin)
    page = client.get("/admin/frameworks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Singapore Teaching Practice" in html and "Principles of Instruction" in html
    from obsapp.frameworks import services

    ros = next(f for f in services.list_frameworks() if f.slug == "rosenshine")
    r1, r2 = ros.criteria[0], ros.criteria[1]
    edit = client.get(f"/admin/frameworks/{ros.id}").get_data(as_text=True)
    assert f'name="c{r1.id}-hotkey" value="1"' in edit

    def form(**over):
        data = {"csrf_token": client.csrf, "framework_name": ros.name}
        for c in ros.criteria:
            data.update({f"c{c.id}-name": c.name, f"c{c.id}-color": c.color, f"c{c.id}-hotkey": c.hotkey or "",
                         f"c{c.id}-description": c.description or ""})
        data.update(over)
        return data

    swapped = client.post(f"/admin/frameworks/{ros.id}", data=form(**{
        f"c{r1.id}-hotkey": "2", f"c{r2.id}-hotkey": "1", f"c{r1.id}-name": "Review yesterday",
        f"c{r2.id}-color": "#123456"}))
    assert swapped.status_code == 302
    from obsapp.extensions import db

    db.session.expire_all()
    assert (r1.hotkey, r2.hotkey, r1.name, r2.color) == ("2", "1", "Review yesterday", "#123456")

    clash = client.post(f"/admin/frameworks/{ros.id}", data=form(**{f"c{r1.id}-hotkey": "3",
                                                                     f"c{r2.id}-name": "Tiny steps"}))
    assert clash.status_code == 422
    text = clash.get_data(as_text=True)
    assert "Nothing was saved" in text and "also used by" in text
    assert 'value="Tiny steps"' in text  # what was typed is kept on the page
    db.session.expire_all()
    assert (r1.hotkey, r2.name) == ("2", "Small steps")


def test_teachers_cannot_open_the_admin_pages(browser_client, make_user):
    client = browser_client(make_user())
    assert client.get("/admin/frameworks").status_code == 403


def test_admin_page_import_shows_line_numbered_problems(browser_client, make_user):
    client = browser_client(make_user(admin=True))
    bad = "slug: ours\nname: Ours\ncriteria:\n  - code: A\n    name: First\n    hotkey: jj\n"
    response = client.post("/admin/frameworks", data={"csrf_token": client.csrf, "document": bad})
    assert response.status_code == 422
    assert re.search(r"line 6: hotkey .jj. must be one lowercase letter or digit", html.unescape(response.get_data(as_text=True)))
    good = bad.replace("hotkey: jj", "hotkey: x")
    ok = client.post("/admin/frameworks", data={"csrf_token": client.csrf, "document": good}, follow_redirects=True)
    assert ok.status_code == 200 and "Imported Ours" in ok.get_data(as_text=True)


def test_lesson_offers_every_active_framework_until_someone_chooses(api_as, make_user, make_lesson,
                                                                      make_mentorship, share):
    teacher_user, mentor_user, viewer_user = make_user(), make_user(), make_user()
    make_mentorship(mentor_user, teacher_user)
    lesson = make_lesson(teacher_user, status="ready", duration_ms=60_000)
    share(lesson, viewer_user, "commenter")
    teacher, mentor, viewer = api_as(teacher_user), api_as(mentor_user), api_as(viewer_user)
    url = f"/api/v1/lessons/{lesson.id}/frameworks"

    first = teacher.get(url).json
    assert first["default"] is True and first["can_change"] is True
    assert sorted(f["slug"] for f in first["items"]) == ["rosenshine", "stp"]
    ros_id = next(f["id"] for f in first["items"] if f["slug"] == "rosenshine")

    chosen = mentor.request("PUT", url, json={"framework_ids": [ros_id]})
    assert chosen.status_code == 200, chosen.json
    assert chosen.json["default"] is False and [f["slug"] for f in chosen.json["items"]] == ["rosenshine"]
    assert viewer.get(url).json["framework_ids"] == [ros_id] and viewer.get(url).json["can_change"] is False
    assert viewer.request("PUT", url, json={"framework_ids": [ros_id]}).status_code == 403
    assert api_as(make_user()).get(url).status_code == 404

    assert teacher.request("PUT", url, json={"framework_ids": []}).status_code == 422
    assert teacher.request("PUT", url, json={"framework_ids": [999999]}).status_code == 422
    assert teacher.request("PUT", url, json={}).status_code == 422
    assert teacher.get(url).json["framework_ids"] == [ros_id]  # refused changes keep the choice

    reset = teacher.request("PUT", url, json={"framework_ids": None})
    assert reset.status_code == 200 and reset.json["default"] is True


def test_a_new_version_replaces_the_chosen_one(api_as, make_user, make_lesson):
    admin, teacher_user = api_as(make_user(admin=True)), make_user()
    lesson = make_lesson(teacher_user, status="ready", duration_ms=60_000)
    teacher = api_as(teacher_user)
    ros = _framework(admin, "rosenshine")
    url = f"/api/v1/lessons/{lesson.id}/frameworks"
    teacher.request("PUT", url, json={"framework_ids": [ros["id"]]})
    document = admin.get(f"/api/v1/frameworks/{ros['id']}/export").data
    newer = admin.post("/api/v1/frameworks", data=document, headers={"Content-Type": "application/yaml"}).json
    offered = teacher.get(url).json
    assert offered["framework_ids"] == [newer["id"]] and offered["default"] is False
    admin.patch(f"/api/v1/frameworks/{newer['id']}", json={"retired": True})
    assert teacher.get(url).json["default"] is True  # nothing chosen is active any more: back to the default
