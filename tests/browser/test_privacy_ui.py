"""In Chromium: a teacher marks her lesson `some_not_consented` on its privacy page; her mentor's clip comes out
blurred without being asked; she reads the access log (the mentor's viewing and the clip), then deletes the lesson
and nothing of it is left in the media store."""

from pathlib import Path

import pytest

from tests.clips.faces import face_video, frames_with_faces
from tests.waiting import job_settled

pytestmark = pytest.mark.browser


def test_consent_blur_audit_and_delete(page, new_page, live_server, sign_in, tmp_path_factory):
    teacher = live_server.make_user(name="Priya Teacher")
    mentor = live_server.make_user(name="Marco Mentor")
    live_server.mentor(mentor["email"], teacher["email"])
    token, mentor_token = live_server.token_for(teacher["email"]), live_server.token_for(mentor["email"])
    faces = face_video(tmp_path_factory.mktemp("privacy-ui") / "faces.mp4", size="480x270", seconds=2.0)
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Science P5"}).json()
    assert lesson["consent"] == "all_consented"
    with open(faces, "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    lesson = job_settled(lambda: live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).json())
    assert lesson["status"] == "ready", lesson

    # The teacher records that some children filmed have no consent.
    sign_in(page, live_server, teacher["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.get_by_role("link", name="Privacy and access log").click()
    page.get_by_label("Consent", exact=True).select_option(label="Some people did not consent")
    page.get_by_role("button", name="Save consent").click()
    page.get_by_text("Consent saved.").wait_for()
    assert "Faces are blurred in every clip and reel" in page.locator("#consent-state").inner_text()

    # The mentor watches the lesson and makes a clip without asking for blurring: it comes out blurred.
    mentor_page = new_page()
    sign_in(mentor_page, live_server, mentor["email"])
    mentor_page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    assert "faces are blurred in clips" in mentor_page.locator("#lesson-consent").inner_text()
    made = live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/clips", mentor_token,
                           json={"start_ms": 0, "end_ms": 2000, "blur_faces": False}).json()
    assert made["clip"]["blur_faces"] is True
    clip = job_settled(lambda: live_server.api("GET", f"/api/v1/clips/{made['clip']['id']}", mentor_token).json())
    assert clip["status"] == "ready", clip
    video = tmp_path_factory.mktemp("privacy-ui-clip") / "clip.mp4"
    video.write_bytes(live_server.api("GET", clip["video_url"], mentor_token).content)
    assert frames_with_faces(video)[0] == 0

    # The teacher reads the access log: the mentor's viewing and the clip.
    page.reload()
    log = page.locator("#audit-log")
    mentor_rows = log.locator("tr", has_text="Marco Mentor")
    assert mentor_rows.filter(has_text="lesson page").count() == 1
    assert mentor_rows.filter(has_text="clip").filter(has_text="faces blurred").count() == 1
    assert log.locator("tr", has_text="consent").count() == 2  # set at creation, then changed

    # She deletes the lesson: nothing of it remains.
    page.get_by_label("I understand this cannot be undone").check()
    page.get_by_role("button", name="Delete lesson and every copy").click()
    page.wait_for_url(live_server.url + "/")
    page.get_by_text("every copy of its video were deleted").wait_for()
    media_root = Path(live_server.env["OBSAPP_MEDIA_ROOT"])
    left = [p for p in media_root.rglob("*") if f"lessons/{lesson['id']}" in p.as_posix()]
    assert left == []
    assert live_server.api("GET", f"/api/v1/lessons/{lesson['id']}", token).status_code == 404
    assert live_server.api("GET", f"/api/v1/clips/{clip['id']}", mentor_token).status_code == 404
    kept = live_server.api("GET", f"/api/v1/audit?lesson_id={lesson['id']}").json()["items"]  # the admin's view
    assert kept[0]["action"] == "delete" and kept[0]["user"]["name"] == "Priya Teacher"
    assert page.errors == [] and mentor_page.errors == []
