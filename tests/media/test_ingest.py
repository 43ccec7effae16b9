"""ingest(): the whole pipeline, its outputs, and its clean failures."""

from __future__ import annotations

import hashlib
import json
import math
import threading

import pytest

from obsapp.media import IngestResult, MediaError, ingest

from .conftest import BAD, ffprobe, programs, top_level_boxes

OUTPUTS = {"video.mp4", "poster.jpg", "thumbnails.vtt", "sprite-0.jpg", "waveform.json"}


def run_ingest(src, out_dir, **kwargs) -> tuple[IngestResult, list[float]]:
    seen: list[float] = []
    result = ingest(src, out_dir, progress=seen.append, **kwargs)
    return result, seen


@pytest.fixture(scope="module")
def remuxed(media_samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("ingest") / "lesson-1"
    return run_ingest(media_samples["h264_aac_moov_end_mp4"], out)


def test_outputs_and_result(remuxed, media_samples):
    result, seen = remuxed
    src = media_samples["h264_aac_moov_end_mp4"]
    assert {p.name for p in result.out_dir.iterdir()} == OUTPUTS  # nothing hidden left behind
    assert set(result.files) == OUTPUTS
    assert result.mode == "remux" and result.reasons == ()
    assert (result.width, result.height, result.has_audio) == (320, 240, True)
    assert result.duration_ms == 3000 and str(result.fps) == "30"
    assert (result.video_codec, result.audio_codec) == ("h264", "aac")
    assert (result.source_video_codec, result.source_audio_codec) == ("h264", "aac")
    assert result.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert result.sprite_interval_s == 1
    boxes = top_level_boxes(result.out_dir / "video.mp4")
    assert boxes.index("moov") < boxes.index("mdat")
    wave = json.loads((result.out_dir / "waveform.json").read_text())
    assert wave["peaks_per_second"] == 10 and len(wave["peaks"]) == 30
    vtt = (result.out_dir / "thumbnails.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "00:00:02.000 --> 00:00:03.000\nsprite-0.jpg#xywh=320,0,160,120" in vtt
    summary = json.loads(json.dumps(result.source_summary))
    assert summary["video"]["codec"] == "h264" and summary["claimed_duration_ms"] == 3000
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert any(0.84 < v < 0.86 for v in seen)  # the rendition takes the first 85 %


@pytest.mark.parametrize(
    ("name", "mode", "size"),
    [("hevc_aac_mp4", "encode", (320, 240)), ("rotated_90_mov", "remux", (240, 320)),
     ("no_audio_mp4", "remux", (320, 240))],
)  # fmt: skip
def test_other_sources(media_samples, tmp_path, name, mode, size):
    result, _ = run_ingest(media_samples[name], tmp_path / "out")
    assert result.mode == mode and (result.width, result.height) == size
    poster = ffprobe(tmp_path / "out" / "poster.jpg", "-show_streams")["streams"][0]
    assert (poster["width"], poster["height"]) == size  # upright
    if name == "no_audio_mp4":
        assert not result.has_audio and result.audio_codec is None
        assert json.loads((tmp_path / "out" / "waveform.json").read_text())["peaks"] == [0.0] * 30


def test_processes_of_an_encode(media_samples, tmp_path, started):
    result, _ = run_ingest(media_samples["hevc_aac_mp4"], tmp_path / "out")
    assert result.mode == "encode" and result.has_audio
    # ffprobe of the upload (streams and keyframes in one run), the encode, ffprobe of the rendition,
    # the poster, and the sprite, whose run decodes the waveform's audio too.
    assert programs(started) == ["ffprobe", "ffmpeg", "ffprobe", "ffmpeg", "ffmpeg"]  # the last two side by side
    pcm = [argv for argv in started if "s16le" in argv]
    assert len(pcm) == 1 and any(arg.startswith("tpad=") for arg in pcm[0])  # the sprite's run
    wave = json.loads((tmp_path / "out" / "waveform.json").read_text())
    assert len(wave["peaks"]) == math.ceil(result.duration_ms / 100)  # 10 per second of the rendition
    assert max(wave["peaks"]) == 1.0 and min(wave["peaks"][1:-2]) > 0.5  # the sine, from the sprite's run


def test_no_audio_gets_a_flat_waveform_without_ffmpeg(media_samples, tmp_path, started):
    result, _ = run_ingest(media_samples["no_audio_mp4"], tmp_path / "out", peaks_per_second=20)
    assert result.mode == "remux" and not result.has_audio
    assert programs(started)[:3] == ["ffprobe", "ffmpeg", "ffprobe"] and len(started) == 5  # + poster, sprite
    assert not any("s16le" in argv or "0:a:0" in argv for argv in started)
    wave = json.loads((tmp_path / "out" / "waveform.json").read_text())
    assert wave == {"peaks_per_second": 20, "peaks": [0.0] * 60}  # covers the 3-s video


def test_duration_is_measured_not_claimed(media_samples, tmp_path):
    result, _ = run_ingest(media_samples["lying_duration_mp4"], tmp_path / "out")
    assert result.source.duration_ms == 60000
    assert result.duration_ms == pytest.approx(3000, abs=50)
    assert (tmp_path / "out" / "thumbnails.vtt").read_text().count(" --> ") == 3
    assert len(json.loads((tmp_path / "out" / "waveform.json").read_text())["peaks"]) == 30


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_leaves_nothing(media_samples, tmp_path, name):
    fresh = tmp_path / "fresh"
    with pytest.raises(MediaError) as err:
        ingest(media_samples[name], fresh)
    assert err.value.code == BAD[name]
    assert not fresh.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me")
    with pytest.raises(MediaError):
        ingest(media_samples[name], existing)
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_cancel_after_the_rendition_leaves_nothing(media_samples, tmp_path):
    cancel = threading.Event()

    def progress(fraction):
        if fraction >= 0.85:
            cancel.set()

    with pytest.raises(MediaError) as err:
        ingest(media_samples["h264_aac_mp4"], tmp_path / "out", progress=progress, cancel=cancel)
    assert err.value.code == "cancelled"
    assert not (tmp_path / "out").exists()


def test_timeout_budget_leaves_nothing(media_samples, tmp_path):
    with pytest.raises(MediaError) as err:
        ingest(media_samples["vp9_opus_webm"], tmp_path / "out", timeout_s=0.3)
    assert err.value.code == "timeout"
    assert not (tmp_path / "out").exists()


def test_reingest_replaces_outputs_and_drops_stale_sprites(media_samples, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sprite-7.jpg").write_bytes(b"old")
    (out / "notes.txt").write_text("not ours")
    result, _ = run_ingest(media_samples["h264_aac_mp4"], out)
    assert {p.name for p in out.iterdir()} == OUTPUTS | {"notes.txt"}
    assert result.files[-1] == "video.mp4"  # moved last: its presence means the set is complete
