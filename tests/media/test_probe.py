"""probe(): what every sample is, and a clear MediaError for everything unusable."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import pytest

from obsapp.media import MediaError, MediaInfo, probe

from .conftest import BAD, programs

# name -> (video codec, displayed w x h, fps, audio codec or None)
EXPECTED = {
    "h264_aac_mp4": ("h264", (320, 240), Fraction(30), "aac"),
    "h264_aac_moov_end_mp4": ("h264", (320, 240), Fraction(30), "aac"),
    "hevc_aac_mp4": ("hevc", (320, 240), Fraction(30), "aac"),
    "hdr_hevc_mp4": ("hevc", (320, 240), Fraction(30), "aac"),
    "vp9_opus_webm": ("vp9", (320, 240), Fraction(30), "opus"),
    "h264_mkv": ("h264", (320, 240), Fraction(30), "ac3"),
    "mpeg4_mp3_avi": ("mpeg4", (320, 240), Fraction(30), "mp3"),
    "rotated_90_mov": ("h264", (240, 320), Fraction(30), "aac"),
    "vfr_mp4": ("h264", (320, 240), Fraction(25), "aac"),
    "no_audio_mp4": ("h264", (320, 240), Fraction(30), None),
    "silent_audio_mp4": ("h264", (320, 240), Fraction(30), "aac"),
    "counter_mp4": ("h264", (320, 240), Fraction(30), None),
    "odd_dims_mp4": ("h264", (321, 241), Fraction(25), "aac"),
    "lying_duration_mp4": ("h264", (320, 240), Fraction(30), "aac"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_probe_good_samples(media_samples, name):
    codec, shown, fps, audio = EXPECTED[name]
    info = probe(media_samples[name])
    assert isinstance(info, MediaInfo)
    assert info.video.codec == codec
    assert (info.video.display_width, info.video.display_height) == shown
    assert info.video.fps == fps and isinstance(info.video.fps, Fraction)
    assert info.has_audio is (audio is not None)
    assert (info.audio.codec if info.audio else None) == audio
    assert info.size_bytes == media_samples[name].stat().st_size
    if name != "lying_duration_mp4":
        assert 2900 <= info.duration_ms <= 3100
    assert info.video.is_vfr is (name == "vfr_mp4")


def test_rotation_from_display_matrix(media_samples):
    v = probe(media_samples["rotated_90_mov"]).video
    assert (v.width, v.height) == (320, 240)  # as stored
    assert v.rotation == 90  # clockwise, like a phone held upright
    assert (v.display_width, v.display_height) == (240, 320)


def test_details(media_samples):
    info = probe(media_samples["h264_aac_mp4"])
    assert info.format_name.startswith("mov,mp4")
    assert info.video.pix_fmt == "yuv420p"
    assert info.video.keyframe_interval_s == pytest.approx(2.0, abs=0.05)
    assert info.audio.sample_rate == 48000 and info.audio.channels == 1
    assert info.bit_rate > 0
    assert probe(media_samples["odd_dims_mp4"]).video.profile.startswith("High 4:4:4")


def test_one_ffprobe_run_reads_streams_and_keyframes(media_samples, started):
    info = probe(media_samples["h264_aac_moov_end_mp4"])
    assert info.video.keyframe_interval_s == pytest.approx(2.0, abs=0.05) and info.audio.codec == "aac"
    assert programs(started) == ["ffprobe"]
    assert "-read_intervals" in started[0]  # the first minute's packets, in the same run
    started.clear()
    assert probe(media_samples["h264_aac_mp4"], keyframes=False).video.keyframe_interval_s is None
    assert programs(started) == ["ffprobe"] and "-read_intervals" not in started[0]


def test_lying_duration_is_reported_as_claimed(media_samples):
    # probe only reports the claim; ingest measures the rendition (see test_ingest).
    assert probe(media_samples["lying_duration_mp4"]).duration_ms == 60000


def test_content_not_extension(media_samples, tmp_path):
    disguised = tmp_path / "lesson.txt"
    disguised.write_bytes(media_samples["h264_aac_mp4"].read_bytes())
    assert probe(disguised).video.codec == "h264"


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs_raise_media_error(media_samples, name):
    with pytest.raises(MediaError) as info:
        probe(media_samples[name])
    err = info.value
    assert err.code == BAD[name]
    assert err.message and err.message[0].isupper() and err.message.endswith(".")


def test_messages_are_specific(media_samples):
    def message(name):
        with pytest.raises(MediaError) as info:
            probe(media_samples[name])
        return info.value.message

    assert "still image" in message("still_png")
    assert message("audio_only_m4a") == "This file has audio but no video."
    assert "moov" in message("truncated_mp4")
    assert message("huge_dims_mp4") == "The video is too large: 16384x16 exceeds the 8192x8192 limit."
    assert message("text_as_mp4") == "This file is not a video we can read."


def test_size_limit_is_a_parameter(media_samples):
    with pytest.raises(MediaError) as info:
        probe(media_samples["h264_aac_mp4"], max_size=(200, 200))
    assert info.value.code == "too_large"
    assert "320x240 exceeds the 200x200 limit" in info.value.message
    with pytest.raises(MediaError) as info:
        probe(media_samples["h264_aac_mp4"], max_pixels=320 * 239)
    assert info.value.code == "too_large"


def test_missing_file(tmp_path):
    with pytest.raises(MediaError) as info:
        probe(tmp_path / "nope.mp4")
    assert info.value.code == "missing"


def test_truncated_faststart_file(media_samples, tmp_path):
    # moov first, then cut inside the media data: the index promises data that is not there.
    data = media_samples["h264_aac_mp4"].read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MediaError) as info:
        probe(cut)
    assert info.value.code == "truncated"


def test_random_bytes_and_garbage_after_header(media_samples, tmp_path):
    junk = tmp_path / "junk.mov"
    junk.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(MediaError) as info:
        probe(junk)
    assert info.value.code == "not_media"
    header_only = tmp_path / "header_only.mp4"
    header_only.write_bytes(media_samples["h264_aac_moov_end_mp4"].read_bytes()[:64])
    with pytest.raises(MediaError) as info:
        probe(header_only)
    assert info.value.code == "truncated"


def test_other_still_images_and_animations(tmp_path):
    def make(name, *args):
        path = tmp_path / name
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=5:d=1", *args, str(path)],
            check=True, timeout=60,
        )
        return path

    for still in (make("a.jpg", "-frames:v", "1"), make("b.gif", "-frames:v", "1"), make("c.webp", "-frames:v", "1")):
        with pytest.raises(MediaError) as info:
            probe(still)
        assert info.value.code == "not_media" and "still image" in info.value.message
    animated = probe(make("d.gif"))
    assert animated.video.codec == "gif" and not animated.has_audio


def test_trailing_junk_is_not_truncation(media_samples, tmp_path):
    padded = tmp_path / "padded.mp4"
    padded.write_bytes(media_samples["h264_aac_mp4"].read_bytes() + b"\x7f\xff\xff\xff\xde\xad\xbe\xef" + b"\0" * 100)
    assert probe(padded).video.codec == "h264"


def test_playlists_cannot_pull_in_other_files(media_samples, tmp_path):
    # An HLS playlist named .mp4 pointing at someone else's video must not be read.
    other = media_samples["h264_aac_mp4"]
    evil = tmp_path / "lesson.mp4"
    evil.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n{other}\n#EXT-X-ENDLIST\n")
    with pytest.raises(MediaError) as info:
        probe(evil)
    assert info.value.code == "not_media"
    concat = tmp_path / "list.mp4"
    concat.write_text(f"ffconcat version 1.0\nfile '{other}'\n")
    with pytest.raises(MediaError) as info:
        probe(concat)
    assert info.value.code == "not_media"


def test_awkward_file_names(media_samples, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("-i.mp4", "concat:x.mp4", "a b'c.mp4"):
        (tmp_path / name).write_bytes(media_samples["h264_aac_mp4"].read_bytes())
        assert probe(name).video.codec == "h264"
