"""frame_at, poster and the thumbnail sprite + WebVTT."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest

from obsapp.media import frame_at, poster, probe, thumbnail_sprite, waveform_peaks
from obsapp.media.audio import PCM_OUTPUT, PeakReader
from obsapp.media.frames import sprite_interval_s, vtt_timestamp

from .conftest import decode_gray, ffprobe

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$")


def image_size(path) -> tuple[int, int]:
    stream = ffprobe(path, "-show_streams")["streams"][0]
    return stream["width"], stream["height"]


def _ms(h, m, s, ms) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(ms)


def parse_vtt(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "WEBVTT"
    cues = []
    for i, line in enumerate(lines):
        match = CUE.match(line)
        if match:
            g = match.groups()
            target = lines[i + 1]
            name, xywh = re.fullmatch(r"(sprite-\d+\.jpg)#xywh=(\d+,\d+,\d+,\d+)", target).groups()
            cues.append((_ms(*g[:4]), _ms(*g[4:]), name, tuple(int(v) for v in xywh.split(","))))
    return cues


def check_vtt(result, duration_ms):
    cues = parse_vtt(result.vtt_path)
    assert len(cues) == result.tile_count
    assert cues[0][0] == 0 and cues[-1][1] == duration_ms
    sizes = {p.name: image_size(p) for p in result.images}
    for (start, end, name, (x, y, w, h)), following in zip(cues, [*cues[1:], None], strict=True):
        assert 0 < end - start <= 5000
        if following:
            assert following[0] == end  # contiguous
        width, height = sizes[name]  # must exist
        assert x + w <= width and y + h <= height
    return cues


def match_frame(jpeg, frames) -> int:
    got = decode_gray(jpeg)[0].astype(float)
    return int(np.argmin(np.abs(frames.astype(float) - got).mean(axis=(1, 2))))


@pytest.fixture(scope="module")
def counter_frames(media_samples):
    return decode_gray(media_samples["counter_mp4"])


def test_frame_at_is_the_frame_on_screen(media_samples, counter_frames, tmp_path):
    src = media_samples["counter_mp4"]
    assert len(counter_frames) == 90
    out = tmp_path / "f.jpg"
    # Frame n (30 fps) is on screen from n/30 s: 33 ms is still frame 0, 34 ms is frame 1.
    for t_ms, expected in [(0, 0), (33, 0), (34, 1), (100, 3), (999, 29), (1000, 30), (1034, 31),
                           (1999, 59), (2000, 60), (2500, 75), (2999, 89)]:  # fmt: skip
        frame_at(src, t_ms, out)
        assert match_frame(out, counter_frames) == expected, t_ms


def test_frame_at_clamps_and_scales(media_samples, counter_frames, tmp_path):
    src = media_samples["counter_mp4"]
    out = tmp_path / "f.jpg"
    frame_at(src, 50_000, out, duration_ms=3000, fps=probe(src).video.fps)
    assert match_frame(out, counter_frames) == 89
    frame_at(src, -5, out)
    assert match_frame(out, counter_frames) == 0
    frame_at(src, 1500, out, width=160)
    assert image_size(out) == (160, 120)


def test_frame_at_past_the_real_end_of_a_lying_file(media_samples, tmp_path):
    src = media_samples["lying_duration_mp4"]
    out = frame_at(src, 30_000, tmp_path / "late.jpg")  # claims 60 s, has 3 s
    assert image_size(out) == (320, 240)


def test_frame_at_rotated_is_upright(media_samples, tmp_path):
    assert image_size(frame_at(media_samples["rotated_90_mov"], 1000, tmp_path / "r.jpg")) == (240, 320)


def test_poster(renditions, tmp_path):
    _, _, result = renditions["h264_aac_mp4"]
    out = poster(result.path, tmp_path / "poster.jpg", result)
    assert image_size(out) == (320, 240)
    assert not [p for p in tmp_path.iterdir() if p.name != "poster.jpg"]


def test_poster_is_at_most_1280_wide(tmp_path):
    src = tmp_path / "wide.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=1600x900:r=10:d=1", "-c:v", "libx264",
         "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(src)],
        check=True, timeout=60,
    )  # fmt: skip
    assert image_size(poster(src, tmp_path / "p.jpg", probe(src))) == (1280, 720)


def test_sprite_of_a_short_video(renditions, tmp_path):
    _, _, result = renditions["h264_aac_mp4"]
    sprite = thumbnail_sprite(result.path, tmp_path, result.duration_ms, keyframe_interval_s=2.0)
    assert (sprite.interval_s, sprite.tile_count, sprite.keyframes_only) == (1, 3, False)
    assert (sprite.tile_width, sprite.tile_height) == (160, 120)
    cues = check_vtt(sprite, result.duration_ms)
    assert [c[3] for c in cues] == [(0, 0, 160, 120), (160, 0, 160, 120), (320, 0, 160, 120)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sprite-0.jpg", "thumbnails.vtt"]


@pytest.mark.parametrize("keyframe_interval", [0.5, None])  # keyframes only / every frame decoded
def test_sprite_run_carries_the_waveform(renditions, tmp_path, keyframe_interval):
    _, _, result = renditions["h264_aac_mp4"]
    peaks = PeakReader(10, result.duration_ms)
    sprite = thumbnail_sprite(
        result.path, tmp_path / "both", result.duration_ms, keyframe_interval_s=keyframe_interval,
        extra_output=PCM_OUTPUT, on_stdout=peaks.feed,
    )  # fmt: skip
    assert sprite.keyframes_only is (keyframe_interval is not None)
    alone = waveform_peaks(result.path, duration_ms=result.duration_ms, has_audio=True)
    assert len(alone.peaks) == 30 and peaks.waveform() == alone  # the same peaks as a run of its own
    plain = thumbnail_sprite(result.path, tmp_path / "plain", result.duration_ms, keyframe_interval_s=keyframe_interval)
    assert sprite.images[0].read_bytes() == plain.images[0].read_bytes()
    assert sprite.vtt_path.read_text() == plain.vtt_path.read_text()


def test_sprite_tiles_show_the_frame_at_their_start(media_samples, counter_frames, tmp_path):
    sprite = thumbnail_sprite(media_samples["counter_mp4"], tmp_path, 3000)
    grid = decode_gray(sprite.images[0])[0].astype(float)
    for k in range(3):
        tile = grid[0:120, k * 160 : (k + 1) * 160]
        small = counter_frames.astype(float).reshape(90, 120, 2, 160, 2).mean(axis=(2, 4))
        assert int(np.argmin(np.abs(small - tile).mean(axis=(1, 2)))) == 30 * k


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    """11 minutes at 64x48, 2 fps, keyframe every 2 s: two sprite images at 5 s per tile."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=2:d=661", "-c:v", "libx264",
         "-preset", "ultrafast", "-g", "4", "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=120,
    )  # fmt: skip
    return path


@pytest.mark.parametrize("keyframe_interval", [2.0, None])
def test_sprite_of_a_long_video(long_video, tmp_path, keyframe_interval):
    info = probe(long_video)
    assert info.video.keyframe_interval_s == pytest.approx(2.0, abs=0.01)
    sprite = thumbnail_sprite(long_video, tmp_path, info.duration_ms, keyframe_interval_s=keyframe_interval)
    assert sprite.interval_s == 5
    assert sprite.keyframes_only is (keyframe_interval is not None)
    assert sprite.tile_count == 133  # ceil(661 / 5)
    assert [p.name for p in sprite.images] == ["sprite-0.jpg", "sprite-1.jpg"]
    assert (sprite.tile_width, sprite.tile_height) == (160, 120)
    assert image_size(sprite.images[0]) == (1600, 1200)
    cues = check_vtt(sprite, 661_000)
    assert cues[100][2:] == ("sprite-1.jpg", (0, 0, 160, 120))
    assert cues[-1][:2] == (660_000, 661_000)


def test_sprite_interval_rule():
    assert [sprite_interval_s(ms) for ms in (1, 119_999, 120_000, 599_999, 600_000, 10**9)] == [1, 1, 2, 2, 5, 5]


def test_vtt_timestamp():
    assert vtt_timestamp(0) == "00:00:00.000"
    assert vtt_timestamp(3_723_004) == "01:02:03.004"


def test_output_names_that_look_like_options(media_samples, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame_at(media_samples["counter_mp4"], 0, "-y.jpg")
    assert image_size(tmp_path / "-y.jpg") == (320, 240)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["-y.jpg"]
