"""Clips made from annotations: the comment, kind and criteria become the captions (needs the annotations API)."""

from __future__ import annotations

import subprocess

import pytest

from obsapp.clips.models import Clip
from obsapp.extensions import db
from tests.clips.test_api import make_clip
from tests.conftest import stored_file


@pytest.fixture
def annotation(app, api_as, mentor, counter_lesson):
    if not any(rule.rule.endswith("/annotations/<int:annotation_id>/replies") for rule in app.url_map.iter_rules()):
        pytest.skip("the annotations API is not installed")
    response = api_as(mentor).post(f"/api/v1/lessons/{counter_lesson['id']}/annotations", json={
        "start_ms": 500, "end_ms": 2500, "body": "Lovely wait time after your question.", "kind": "strength"})
    assert response.status_code == 201, response.json
    return response.json


def test_clip_from_an_annotation_is_captioned_with_it(api_as, mentor, mentee, counter_lesson, annotation, run_jobs):
    api = api_as(mentor)
    clip = make_clip(api, counter_lesson["id"], run_jobs, start_ms=annotation["start_ms"],
                     end_ms=annotation["end_ms"], annotation_id=annotation["id"], captions=True)["clip"]
    clip = api.get(f"/api/v1/clips/{clip['id']}").json
    assert clip["status"] == "ready" and clip["annotation_id"] == annotation["id"]
    assert clip["comment"] == "Lovely wait time after your question." and clip["kind"] == "strength"
    vtt = api.get(clip["captions_vtt_url"]).get_data(as_text=True)
    assert "Strength" in vtt and "Lovely wait time after your question." in vtt
    stored = stored_file(f"{db.session.get(Clip, clip['id']).media_prefix}/video.mp4")
    track = subprocess.run(["ffmpeg", "-v", "error", "-i", str(stored), "-map", "0:s:0", "-f", "webvtt", "-"],
                           check=True, capture_output=True, text=True).stdout
    assert "Lovely wait time after your question." in track

    api.post(f"/api/v1/clips/{clip['id']}/send", json={"user_ids": [mentee.id]})
    reply = api_as(mentee).post(f"/api/v1/annotations/{annotation['id']}/replies", json={"body": "I will try it."})
    assert reply.status_code == 201
    assert api.get(f"/api/v1/clips/{clip['id']}/deliveries").json["items"][0]["reflections"] == 1


def test_annotation_of_another_lesson_is_refused(api_as, mentor, counter_lesson, annotation, upload_lesson, mentee,
                                                 media_samples):
    other = upload_lesson(mentee, media_samples["h264_aac_mp4"], title="Other")
    response = api_as(mentor).post(f"/api/v1/lessons/{other['id']}/clips",
                                   json={"start_ms": 0, "end_ms": 1000, "annotation_id": annotation["id"]})
    assert response.status_code == 422
