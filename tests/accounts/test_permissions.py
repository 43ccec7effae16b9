"""The permission rules as a table of roles x actions, checked in the module and through the API."""

import pytest

from obsapp.accounts import permissions

ACTIONS = ["view", "comment", "manage", "delete"]
# role -> what they may do with the owner's lesson
TABLE = {
    "owner": {"view", "comment", "manage", "delete"},
    "active mentor": {"view", "comment"},
    "ended mentor": set(),
    "mentor of someone else": set(),
    "viewer share": {"view"},
    "commenter share": {"view", "comment"},
    "admin (not shared)": {"delete"},
    "admin shared as viewer": {"view", "delete"},
    "stranger": set(),
    "deactivated commenter": set(),
    "anonymous": set(),
}


@pytest.fixture
def world(make_user, make_lesson, make_mentorship, share):
    from obsapp.accounts import services

    owner = make_user(name="Owner")
    lesson = make_lesson(owner, status="ready")
    people = {"owner": owner}
    people["active mentor"] = make_user()
    make_mentorship(people["active mentor"], owner)
    people["ended mentor"] = make_user()
    services.end_mentorship(None, make_mentorship(people["ended mentor"], owner))
    people["mentor of someone else"] = make_user()
    make_mentorship(people["mentor of someone else"], make_user())
    people["viewer share"] = make_user()
    share(lesson, people["viewer share"], "viewer")
    people["commenter share"] = make_user()
    share(lesson, people["commenter share"], "commenter")
    people["admin (not shared)"] = make_user(admin=True)
    people["admin shared as viewer"] = make_user(admin=True)
    share(lesson, people["admin shared as viewer"], "viewer")
    people["stranger"] = make_user()
    people["deactivated commenter"] = make_user()
    share(lesson, people["deactivated commenter"], "commenter")
    services.update_user(None, people["deactivated commenter"], active=False)
    people["anonymous"] = None
    return lesson, people


@pytest.mark.parametrize("role", list(TABLE))
@pytest.mark.parametrize("action", ACTIONS)
def test_permission_table(world, role, action):
    lesson, people = world
    actor = people[role]
    if actor is not None:
        actor.is_authenticated  # noqa: B018 - Flask-Login's property, True for a loaded user
    assert permissions.can(actor, action, lesson) is (action in TABLE[role])


@pytest.mark.parametrize("role", [r for r in TABLE if r not in ("anonymous", "deactivated commenter")])
def test_api_follows_the_table(world, api_as, role):
    lesson, people = world
    api = api_as(people[role])
    response = api.get(f"/api/v1/lessons/{lesson.id}")
    if "view" in TABLE[role]:
        assert response.status_code == 200
        assert response.json["can_delete"] is ("delete" in TABLE[role])
    else:
        assert response.status_code == 404  # never a hint that it exists
        assert response.json["error"]["code"] == "not_found"
    patched = api.patch(f"/api/v1/lessons/{lesson.id}", json={"title": "Renamed"})
    expected = 200 if "manage" in TABLE[role] else (403 if "view" in TABLE[role] else 404)
    assert patched.status_code == expected
    listed = {item["id"] for item in api.get("/api/v1/lessons").json["items"]}
    assert (lesson.id in listed) is ("view" in TABLE[role])


def test_require_hides_invisible_lessons(world):
    from obsapp.errors import NotFound

    lesson, people = world
    with pytest.raises(NotFound):
        permissions.require(people["stranger"], "view", lesson)
