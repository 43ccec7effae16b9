"""The access audit: what is recorded (and throttled), who may read it, and its CSV."""

from __future__ import annotations

import csv
import io

import pytest

from obsapp.extensions import db
from obsapp.privacy.models import AuditEntry
from obsapp.storage import media_store


@pytest.fixture
def ready_lesson(make_lesson, owner):
    """A ready lesson whose rendition is a small stand-in file (serving it needs no decoding)."""
    lesson = make_lesson(owner, "Ratios P6", status="ready", duration_ms=60_000, width=640, height=360)
    media_store().put_bytes(f"renditions/lessons/{lesson.id}/video.mp4", b"\x00" * 50_000)
    return lesson


def entries(lesson_id, action=None):
    query = db.session.query(AuditEntry).filter_by(lesson_id=lesson_id)
    if action:
        query = query.filter_by(action=action)
    return query.order_by(AuditEntry.id).all()


def test_a_playback_session_is_one_view(api_as, mentor, ready_lesson, settings):
    api = api_as(mentor)
    url = f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4"
    for start in range(0, 50_000, 10_000):
        response = api.get(url, headers={"Range": f"bytes={start}-{start + 9_999}"})
        assert response.status_code == 206
    assert api.get(f"/api/v1/lessons/{ready_lesson.id}/media/poster.jpg").status_code == 404  # not recorded
    views = entries(ready_lesson.id, "view")
    assert [(v.user_id, v.user_name, v.detail) for v in views] == [(mentor.id, "Marco Mentor", "video playback")]
    assert views[0].address == "127.0.0.1"
    settings(AUDIT_VIEW_WINDOW_S=0)  # no window: every request is a view of its own
    api.get(url, headers={"Range": "bytes=0-99"})
    assert len(entries(ready_lesson.id, "view")) == 2


def test_the_lesson_page_is_a_view(browser_client, owner, mentor, ready_lesson):
    client = browser_client(mentor)
    assert client.get(f"/lessons/{ready_lesson.id}").status_code == 200
    assert client.get(f"/lessons/{ready_lesson.id}").status_code == 200
    assert [e.detail for e in entries(ready_lesson.id, "view")] == ["lesson page"]


def test_refused_requests_are_not_recorded(api_as, make_user, ready_lesson):
    stranger = api_as(make_user())
    assert stranger.get(f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4").status_code == 404
    assert stranger.get(f"/api/v1/lessons/{ready_lesson.id}/annotations/export?format=csv").status_code == 404
    assert entries(ready_lesson.id) == []


def test_exports_shares_and_watch_joins_are_recorded(api_as, owner, mentor, make_user, ready_lesson):
    from obsapp.watch import services as watch

    api = api_as(owner)
    assert api.get(f"/api/v1/lessons/{ready_lesson.id}/annotations/export?format=vtt").status_code == 200
    colleague = make_user(name="Chen Colleague")
    assert api.post(f"/api/v1/lessons/{ready_lesson.id}/shares",
                    json={"user_id": colleague.id, "role": "viewer"}).status_code == 201
    assert api.post(f"/api/v1/lessons/{ready_lesson.id}/shares",
                    json={"user_id": colleague.id, "role": "commenter"}).status_code == 201
    assert api.delete(f"/api/v1/lessons/{ready_lesson.id}/shares/{colleague.id}").status_code == 204
    session = watch.start_session(mentor, ready_lesson)
    watch.join(mentor, session.id, "sid-1")
    db.session.commit()
    recorded = [(e.action, e.user_name, e.detail) for e in entries(ready_lesson.id)]
    assert recorded == [
        ("export", "Olive Owner", "annotations as vtt"),
        ("share", "Olive Owner", "shared with Chen Colleague as viewer"),
        ("share", "Olive Owner", "Chen Colleague is now a commenter"),
        ("share", "Olive Owner", "no longer shared with Chen Colleague"),
        ("watch_join", "Marco Mentor", "joined a watch session"),
    ]


def test_who_may_read_the_audit(api_as, owner, mentor, admin, make_user, ready_lesson):
    api_as(mentor).get(f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4")
    path = f"/api/v1/lessons/{ready_lesson.id}/audit"
    for person, status in ((owner, 200), (admin, 200), (mentor, 403), (make_user(), 404), (None, 401)):
        response = api_as(person).get(path)
        assert response.status_code == status, (person, response.json)
        if status != 200:
            assert response.json["error"]["code"]
    body = api_as(owner).get(path).json
    assert body["next"] is None
    [entry] = body["items"]
    assert entry["user"] == {"id": mentor.id, "name": "Marco Mentor"}
    assert entry["action"] == "view" and entry["detail"] == "video playback" and entry["at"]
    assert api_as(owner).get(path + "?action=clip").json["items"] == []
    assert api_as(owner).get(path + "?action=nonsense").status_code == 422
    # everyone's log is for administrators only
    assert api_as(admin).get(f"/api/v1/audit?lesson_id={ready_lesson.id}").json["items"][0]["action"] == "view"
    assert api_as(owner).get("/api/v1/audit").status_code == 403


def test_reading_the_audit_is_newest_first_and_paged(api_as, owner, make_user, ready_lesson, settings):
    settings(AUDIT_VIEW_WINDOW_S=0)
    api = api_as(owner)
    for _ in range(5):
        api.get(f"/api/v1/lessons/{ready_lesson.id}/frame?t_ms=0")  # not ready media: 4xx, not recorded
        api.get(f"/api/v1/lessons/{ready_lesson.id}/annotations/export?format=csv")
    page = api.get(f"/api/v1/lessons/{ready_lesson.id}/audit?per_page=2").json
    assert len(page["items"]) == 2 and page["next"]
    ids = [item["id"] for item in page["items"]]
    assert ids == sorted(ids, reverse=True)
    rest = api.get(page["next"]).json
    assert rest["items"][0]["id"] < ids[-1]


def test_the_audit_as_csv(api_as, owner, make_user, ready_lesson):
    viewer = make_user(name="=HYPERLINK(\"http://evil\")")  # a name a spreadsheet would run
    api_as(owner).post(f"/api/v1/lessons/{ready_lesson.id}/shares", json={"user_id": viewer.id, "role": "viewer"})
    api_as(viewer).get(f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4")
    response = api_as(owner).get(f"/api/v1/lessons/{ready_lesson.id}/audit/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["view", "share"]
    assert rows[0]["user_name"].startswith("'=")  # escaped
    assert rows[1]["detail"].startswith("shared with")
    assert set(rows[0]) >= {"at", "user_id", "user_name", "action", "detail", "address", "lesson_id"}
    assert api_as(owner).get(f"/api/v1/lessons/{ready_lesson.id}/audit/export?format=xls").status_code == 422
    assert api_as(viewer).get(f"/api/v1/lessons/{ready_lesson.id}/audit/export").status_code == 403


def test_the_privacy_page(api_as, browser_client, owner, mentor, ready_lesson):
    api_as(mentor).get(f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4")
    client = browser_client(owner)  # one signed-in client per test: the test's app context (and g) is shared
    html = client.get(f"/lessons/{ready_lesson.id}/privacy").get_data(as_text=True)
    assert "Access log" in html and "Marco Mentor" in html and "video playback" in html
    response = client.post(f"/lessons/{ready_lesson.id}/privacy",
                           data={"consent": "unknown", "csrf_token": client.csrf})
    assert response.status_code == 302
    html = client.get(f"/lessons/{ready_lesson.id}/privacy").get_data(as_text=True)
    assert "Consent not known" in html and "Consent saved." in html
    assert "Set by Olive Owner" in html
    response = client.post(f"/lessons/{ready_lesson.id}/privacy", data={"consent": "bogus", "csrf_token": client.csrf},
                           follow_redirects=True)
    assert "consent is one of" in response.get_data(as_text=True)
    assert client.get("/admin/audit").status_code == 403


def test_the_privacy_page_for_others(browser_client, mentor, ready_lesson):
    assert browser_client(mentor).get(f"/lessons/{ready_lesson.id}/privacy").status_code == 403


def test_the_admin_audit_page(api_as, browser_client, mentor, admin, ready_lesson):
    api_as(mentor).get(f"/api/v1/lessons/{ready_lesson.id}/media/video.mp4")
    client = browser_client(admin)
    html = client.get(f"/lessons/{ready_lesson.id}/privacy").get_data(as_text=True)
    assert "Marco Mentor" in html and "Save consent" not in html  # admins read the log; consent is the owner's
    assert "Ratios P6" in client.get("/admin/audit").get_data(as_text=True)
