"""Renditions: browser-safe H.264/AAC MP4, index first, upright, CFR, cheap when possible."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from obsapp.media import MediaError, make_rendition, plan_rendition, probe
from obsapp.media.transcode import output_fps

from .conftest import GOOD, decode_gray, ffprobe, top_level_boxes, video_packets

ENCODED = ["hevc_aac_mp4", "hdr_hevc_mp4", "vp9_opus_webm", "mpeg4_mp3_avi", "vfr_mp4", "odd_dims_mp4"]
EXPECTED_MODE = {name: "remux" for name in GOOD} | {name: "encode" for name in ENCODED}
EXPECTED_MODE["h264_mkv"] = "remux_audio"


def blocks(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape
    return image.astype(float).reshape(h // size, size, w // size, size).mean(axis=(1, 3))


def video_md5(path) -> str:
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "md5", "-"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return out.strip()


@pytest.mark.parametrize("name", GOOD)
def test_rendition_is_browser_safe(renditions, name):
    info, plan, result = renditions[name]
    assert plan.mode == result.mode == EXPECTED_MODE[name]
    data = ffprobe(result.path, "-show_streams", "-show_format")
    kinds = [s["codec_type"] for s in data["streams"]]
    assert kinds == (["video", "audio"] if info.has_audio else ["video"])  # no extra streams
    v = data["streams"][0]
    assert v["codec_name"] == "h264" and v["pix_fmt"] == "yuv420p"
    assert v["profile"] in ("High", "Main", "Constrained Baseline", "Baseline")
    assert v["width"] % 2 == 0 and v["height"] % 2 == 0
    if info.has_audio:
        assert data["streams"][1]["codec_name"] == "aac"
        assert result.audio_codec == "aac"
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
    assert result.video_codec == "h264"
    assert result.size_bytes == result.path.stat().st_size
    assert 2900 <= result.duration_ms <= 3200
    assert not list(result.path.parent.glob(f".{result.path.name}*"))  # no temp left


def test_remux_copies_video_bit_for_bit(renditions, media_samples):
    for name in ("h264_aac_mp4", "h264_aac_moov_end_mp4", "h264_mkv"):
        info, plan, result = renditions[name]
        assert plan.mode in ("remux", "remux_audio")
        assert video_md5(result.path) == video_md5(media_samples[name])


def test_remux_audio_copies_video_and_encodes_audio(renditions):
    info, plan, result = renditions["h264_mkv"]
    assert (plan.mode, plan.audio, result.audio_codec) == ("remux_audio", "aac", "aac")
    audio = ffprobe(result.path, "-select_streams", "a:0", "-show_streams")["streams"][0]
    assert (audio["sample_rate"], audio["channels"]) == ("48000", 2)


@pytest.mark.parametrize("name", ENCODED)
def test_encoded_renditions_have_keyframes_every_two_seconds(renditions, name):
    _, _, result = renditions[name]
    keys = [float(p["pts_time"]) for p in video_packets(result.path) if "K" in p["flags"]]
    assert keys[:2] == pytest.approx([0.0, 2.0], abs=0.05)
    assert all(b - a <= 2.05 for a, b in zip(keys, keys[1:], strict=False))
    audio = ffprobe(result.path, "-select_streams", "a:0", "-show_streams")["streams"][0]
    assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == ("aac", "48000", 2)


def test_vfr_becomes_cfr(renditions):
    info, plan, result = renditions["vfr_mp4"]
    assert info.video.is_vfr and plan.mode == "encode" and "variable frame rate" in plan.reasons
    assert result.fps == Fraction(25)
    times = [float(p["pts_time"]) for p in video_packets(result.path)]
    steps = np.diff(times)
    assert np.allclose(steps, 1 / 25, atol=1e-3)
    stream = ffprobe(result.path, "-select_streams", "v:0", "-show_streams")["streams"][0]
    assert stream["r_frame_rate"] == stream["avg_frame_rate"] == "25/1"


def test_odd_dimensions_become_even(renditions):
    _, plan, result = renditions["odd_dims_mp4"]
    assert (plan.width, plan.height) == (result.width, result.height) == (320, 240)


def test_lying_duration_is_measured(renditions):
    info, _, result = renditions["lying_duration_mp4"]
    assert info.duration_ms == 60000
    assert result.duration_ms == pytest.approx(3000, abs=50)


def test_rotated_remux_keeps_matrix_and_reports_display_size(renditions, media_samples):
    _, plan, result = renditions["rotated_90_mov"]
    assert plan.mode == "remux"
    assert (result.width, result.height, result.rotation) == (240, 320, 90)
    assert video_md5(result.path) == video_md5(media_samples["rotated_90_mov"])


def test_rotated_encode_is_upright_without_stale_rotation(media_samples, tmp_path):
    src = media_samples["rotated_90_mov"]
    info = probe(src)
    plan = plan_rendition(info, max_height=180)  # forces an encode (short side 240 > 180)
    result = make_rendition(src, tmp_path / "out.mp4", info, plan)
    assert plan.mode == "encode"
    assert (result.width, result.height, result.rotation) == (180, 240, 0)
    stream = ffprobe(result.path, "-select_streams", "v:0", "-show_streams")["streams"][0]
    assert (stream["width"], stream["height"]) == (180, 240)  # coded upright
    assert not stream.get("side_data_list") and "rotate" not in stream.get("tags", {})
    # The picture is the stored one turned 90 degrees clockwise (compared on 40x30 blocks).
    stored = decode_gray(src, frames=1, noautorotate=True)[0]
    got = blocks(decode_gray(result.path, frames=1)[0], 6)
    clockwise = blocks(np.rot90(stored, k=-1), 8)
    anticlockwise = blocks(np.rot90(stored, k=1), 8)
    assert np.abs(got - clockwise).mean() < 8
    assert np.abs(got - anticlockwise).mean() > 20


def test_scaling_bounds_the_short_side(media_samples, tmp_path):
    info = probe(media_samples["h264_aac_mp4"])
    plan = plan_rendition(info, max_height=120)
    assert (plan.mode, plan.width, plan.height) == ("encode", 160, 120)
    result = make_rendition(media_samples["h264_aac_mp4"], tmp_path / "small.mp4", info, plan)
    assert (result.width, result.height) == (160, 120)


def test_output_fps_snaps_to_standard_rates(media_samples):
    info = probe(media_samples["h264_aac_mp4"])
    for claimed, expected in [
        (Fraction(2997, 100), Fraction(30000, 1001)),
        (Fraction(30), Fraction(30)),
        (Fraction(301, 10), Fraction(30)),
        (Fraction(239, 8), Fraction(30000, 1001)),
        (Fraction(240), Fraction(60)),
        (Fraction(18), Fraction(18)),
    ]:
        assert output_fps(replace(info, video=replace(info.video, fps=claimed))) == expected


def test_timeout_leaves_nothing_behind(media_samples, tmp_path):
    info = probe(media_samples["hevc_aac_mp4"])
    plan = plan_rendition(info)
    with pytest.raises(MediaError) as err:
        make_rendition(media_samples["hevc_aac_mp4"], tmp_path / "x.mp4", info, plan, timeout_s=0.05)
    assert err.value.code == "timeout"
    assert list(tmp_path.iterdir()) == []


def test_progress_reaches_one(media_samples, tmp_path):
    seen = []
    info = probe(media_samples["vp9_opus_webm"])
    plan = plan_rendition(info)
    make_rendition(media_samples["vp9_opus_webm"], tmp_path / "p.mp4", info, plan, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_refused_stream_copy_falls_back_to_encoding(tmp_path):
    # PCM audio cannot go into MP4: a (wrong) remux plan must still give a rendition.
    src = tmp_path / "pcm.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-f", "lavfi", "-i",
         "sine=d=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le",
         str(src)],
        check=True, timeout=60,
    )  # fmt: skip
    info = probe(src)
    wrong = replace(plan_rendition(info), mode="remux", audio="copy")
    result = make_rendition(src, tmp_path / "out.mp4", info, wrong)
    assert result.mode == "encode"
    assert (result.video_codec, result.audio_codec, result.width, result.height) == ("h264", "aac", 160, 120)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "pcm.mkv"]


def test_hdr_is_tone_mapped_to_sdr(renditions):
    info, plan, result = renditions["hdr_hevc_mp4"]
    assert info.video.hdr and info.video.color_transfer == "smpte2084"
    assert plan.tonemap and "HDR" in plan.reasons
    stream = ffprobe(result.path, "-select_streams", "v:0", "-show_streams")["streams"][0]
    assert (stream["pix_fmt"], stream.get("color_transfer")) == ("yuv420p", "bt709")
