"""The upload page and the lesson page in Chromium: upload, resume after a dropped connection,
playback with waveform and thumbnails, shortcuts, failure messages, sharing."""

import re

import pytest

pytestmark = pytest.mark.browser


def _upload_via_page(page, live_server, path, title):
    page.goto(live_server.url + "/lessons/new")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Video file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/lessons/\d+$"), timeout=120_000)
    return int(page.url.rsplit("/", 1)[1])


def _wait_ready(page):
    page.wait_for_function("() => { const v = document.querySelector('video#lesson-video');"
                           " return v && v.readyState >= 1 && v.poster; }", timeout=120_000)
    page.wait_for_function("() => document.getElementById('timeline').dataset.ready === 'true'", timeout=120_000)  # a hang guard, not a budget


def test_upload_then_play_with_timeline_and_shortcuts(page, live_server, sign_in, media_samples):
    user = live_server.make_user()
    sign_in(page, live_server, user["email"])
    _upload_via_page(page, live_server, media_samples["h264_aac_mp4"], "Fractions P4")
    _wait_ready(page)
    assert page.locator("video").count() == 1
    assert page.locator("video").get_attribute("playsinline") is not None
    drawn = page.evaluate("""() => { const c = document.getElementById('timeline-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert drawn > 100  # the waveform was painted
    timeline = page.locator("#timeline")
    timeline.scroll_into_view_if_needed()
    box = timeline.bounding_box()
    timeline.hover(position={"x": box["width"] * 0.5, "y": box["height"] / 2})
    preview = page.locator("#timeline-preview")
    assert preview.is_visible()
    assert "sprite-" in page.locator(".preview-image").evaluate("e => e.style.backgroundImage")
    page.locator("h1").click()  # focus outside fields
    page.keyboard.press("l")
    page.wait_for_function("() => document.querySelector('video').currentTime > 2")
    page.keyboard.press("j")
    page.wait_for_function("() => document.querySelector('video').currentTime < 1")
    page.keyboard.press("Shift+?")
    assert page.get_by_role("heading", name="Keyboard shortcuts").is_visible()
    assert page.errors == []


def test_upload_resumes_after_dropped_connection_and_reload(page, live_server, sign_in, media_samples):
    path = media_samples["hevc_aac_mp4"]
    size = path.stat().st_size
    user = live_server.make_user()
    page.add_init_script("localStorage.setItem('obsapp.uploadChunkBytes', '16384')")  # small chunks, many PATCHes
    sign_in(page, live_server, user["email"])
    state = {"patches": 0}

    def flaky(route):
        if route.request.method == "PATCH":
            state["patches"] += 1
            if state["patches"] > 2:
                return route.abort("internetdisconnected")
        return route.continue_()

    page.route("**/api/v1/uploads/**", flaky)
    page.goto(live_server.url + "/lessons/new")
    page.get_by_label("Title").fill("Resumed lesson")
    page.get_by_label("Video file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Connection lost").wait_for(timeout=120_000)  # a hang guard, not a budget
    page.unroute("**/api/v1/uploads/**")

    offsets_after = []
    page.on("request", lambda r: offsets_after.append(int(r.headers.get("upload-offset", "-1")))
            if r.method == "PATCH" and "/api/v1/uploads/" in r.url else None)
    page.reload()
    notice = page.locator("#resume-notice")
    notice.wait_for()
    assert "Resumed lesson" in notice.inner_text()
    page.get_by_label("Video file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r".*/lessons/\d+$"), timeout=120_000)
    _wait_ready(page)
    # the first chunk after the reload starts where the server had stopped, not at 0
    assert offsets_after and 0 < offsets_after[0] < size
    assert len(offsets_after) < -(-size // 16384)  # fewer chunks than the whole file
    assert page.errors == []


def test_a_file_that_is_not_a_video_fails_readably(page, live_server, sign_in, media_samples):
    user = live_server.make_user()
    sign_in(page, live_server, user["email"])
    _upload_via_page(page, live_server, media_samples["text_as_mp4"], "Oops")
    error = page.locator("#lesson-error")
    error.wait_for(timeout=120_000)
    assert "not a video" in error.inner_text().lower()
    assert page.get_by_role("button", name="Try again").is_visible()
    assert page.errors == []


def test_owner_shares_as_viewer_and_a_stranger_gets_404(page, new_page, live_server, sign_in, media_samples):
    owner = live_server.make_user(name="Owner Teacher")
    viewer = live_server.make_user(name="Vera Viewer")
    stranger = live_server.make_user(name="Stan Stranger")
    token = live_server.token_for(owner["email"])
    lesson = live_server.api("POST", "/api/v1/lessons", token, json={"title": "Shared lesson"}).json()
    with open(media_samples["h264_aac_mp4"], "rb") as handle:
        live_server.api("POST", f"/api/v1/lessons/{lesson['id']}/video", token, files={"file": handle})
    sign_in(page, live_server, owner["email"])
    page.goto(f"{live_server.url}/lessons/{lesson['id']}")
    page.get_by_role("button", name="Share").click()
    page.get_by_label("Add people").fill("Vera")
    page.get_by_role("button", name="Share with Vera Viewer as viewer").click()
    page.get_by_label("Role of Vera Viewer").wait_for()
    assert page.get_by_label("Role of Vera Viewer").input_value() == "viewer"

    other = new_page()
    sign_in(other, live_server, viewer["email"])
    other.goto(f"{live_server.url}/lessons/{lesson['id']}")
    assert other.get_by_role("heading", name="Shared lesson").is_visible()
    assert other.get_by_role("button", name="Share").count() == 0

    third = new_page()
    sign_in(third, live_server, stranger["email"])
    response = third.goto(f"{live_server.url}/lessons/{lesson['id']}")
    assert response.status == 404
    assert page.errors == [] and other.errors == [] and third.errors == []
