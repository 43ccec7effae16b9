"""Deleting a lesson removes every copy of it: original, rendition, derived files, frame grabs, clips, reels made
only from it (reels that also hold other lessons are made again without it), its jobs and rows. Its audit entries
stay. Checked by listing the media store and every table after the deletion."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from obsapp.extensions import db
from obsapp.privacy.models import AuditEntry
from obsapp.storage import media_store


def stored_files() -> list[str]:
    root = media_store().root
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def rows_of_lesson(lesson_id: int) -> dict[str, int]:
    """Rows in any table that point at the lesson (audit entries aside: they are kept)."""
    found = {}
    for table in db.metadata.sorted_tables:
        if table.name == "audit_entries":
            continue
        column = table.c.get("lesson_id") if table.name != "lessons" else table.c.id
        if column is None:
            continue
        count = db.session.execute(select(func.count()).select_from(table).where(column == lesson_id)).scalar_one()
        if count:
            found[table.name] = count
    return found


@pytest.mark.slow
def test_deleting_a_lesson_leaves_nothing_of_it(api_as, owner, mentor, make_user, upload_lesson, media_samples,
                                                run_jobs):
    api, mentor_api = api_as(owner), api_as(mentor)
    doomed = upload_lesson(owner, media_samples["counter_mp4"], title="Doomed")
    kept = upload_lesson(owner, media_samples["counter_mp4"], title="Kept")
    a, b = doomed["id"], kept["id"]
    assert api.get(f"/api/v1/lessons/{a}/frame?t_ms=500&width=160").status_code == 200  # a cached frame grab
    api.post(f"/api/v1/lessons/{a}/shares", json={"user_id": make_user().id, "role": "viewer"})
    api.post(f"/api/v1/lessons/{a}/annotations", json={"start_ms": 100, "body": "Good hook", "kind": "strength"})
    assert api.post(f"/api/v1/lessons/{a}/watch").status_code in (200, 201)
    clip_a = mentor_api.post(f"/api/v1/lessons/{a}/clips", json={"start_ms": 0, "end_ms": 1000}).json["clip"]
    clip_b = mentor_api.post(f"/api/v1/lessons/{b}/clips", json={"start_ms": 0, "end_ms": 1000}).json["clip"]
    run_jobs()
    only_a = mentor_api.post("/api/v1/reels", json={"title": "Only A", "clip_ids": [clip_a["id"]]}).json["reel"]
    both = mentor_api.post("/api/v1/reels", json={"title": "Both", "clip_ids": [clip_a["id"], clip_b["id"]]}
                           ).json["reel"]
    run_jobs()
    before = stored_files()
    assert any(f.startswith(f"derived/lessons/{a}/frames") for f in before)
    assert f"derived/lessons/{a}/clips/{clip_a['id']}/video.mp4" in before
    assert f"derived/reels/{only_a['id']}/video.mp4" in before and f"derived/reels/{both['id']}/video.mp4" in before
    assert f"originals/lessons/{a}/original" in before or f"renditions/lessons/{a}/video.mp4" in before

    response = api.delete(f"/api/v1/lessons/{a}")
    assert response.status_code == 204
    after = stored_files()
    assert [f for f in after if f"/lessons/{a}/" in f or f"/reels/{only_a['id']}/" in f] == []
    assert f"derived/reels/{both['id']}/video.mp4" not in after  # it held the deleted lesson's footage
    assert rows_of_lesson(a) == {}
    assert api.get(f"/api/v1/reels/{only_a['id']}").status_code == 404
    assert api.get(f"/api/v1/clips/{clip_a['id']}").status_code == 404

    rebuilt = mentor_api.get(f"/api/v1/reels/{both['id']}").json
    assert rebuilt["status"] == "processing"
    run_jobs()
    rebuilt = mentor_api.get(f"/api/v1/reels/{both['id']}").json
    assert rebuilt["status"] == "ready", rebuilt.get("error")
    assert [chapter["clip_id"] for chapter in rebuilt["chapters"]] == [clip_b["id"]]
    assert f"derived/reels/{both['id']}/video.mp4" in stored_files()
    assert [f for f in stored_files() if f"/lessons/{a}/" in f] == []
    assert any(f.startswith(f"renditions/lessons/{b}/") for f in stored_files())  # the other lesson is untouched

    # the audit entries are kept: the owner's lesson is gone, an administrator still reads them
    kept_entries = db.session.execute(select(AuditEntry).where(AuditEntry.lesson_id == a)
                                      .order_by(AuditEntry.id)).scalars().all()
    actions = [entry.action for entry in kept_entries]
    assert {"frame", "share", "clip", "delete"} <= set(actions)
    delete_entry = kept_entries[-1]
    assert delete_entry.action == "delete" and delete_entry.user_name == "Olive Owner"
    assert "1 reel(s) removed, 1 made again without it" in delete_entry.detail
    assert api.get(f"/api/v1/lessons/{a}/audit").status_code == 404


def test_only_the_owner_or_an_admin_deletes(api_as, owner, mentor, admin, make_lesson):
    lesson = make_lesson(owner, "Mine")
    assert api_as(mentor).delete(f"/api/v1/lessons/{lesson.id}").status_code == 403
    assert api_as(admin).delete(f"/api/v1/lessons/{lesson.id}").status_code == 204
    [entry] = db.session.execute(select(AuditEntry).where(AuditEntry.lesson_id == lesson.id)).scalars().all()
    assert (entry.action, entry.user_name, entry.lesson_title) == ("delete", "Ada Admin", "Mine")
