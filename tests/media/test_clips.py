"""obsapp.media.clips (cutting, captions, reels) on real files: frame accuracy, smart cut (copied middle, fallback), audio sync,
captions, thumbnails and reels with chapters."""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from obsapp.media import clips, reels
from tests.media.conftest import decode_gray, ffprobe, top_level_boxes

FF = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
COUNTER = ("color=c=black:s=320x240:r=30:d={d},format=yuv420p,"
           "geq=lum=16+200*mod(floor(N/pow(2\\,floor(X/40)))\\,2):cb=128:cr=128")


def frame_numbers(path: Path) -> list[int]:
    """The number each frame shows in binary as eight bars (see tests/media_samples.py)."""
    return [int(sum(1 << k for k in range(8) if frame[120, 40 * k + 20] > 116)) for frame in decode_gray(path)]


@pytest.fixture(scope="module")
def rendition_like(tmp_path_factory) -> Path:
    """8 s of counter frames encoded as the ingest job encodes (x264 veryfast High with B-frames, keyframe every
    2 s), with a 440 Hz tone that has a 50 ms click at exactly 4.000 s (for audio sync)."""
    out = tmp_path_factory.mktemp("clips") / "rendition.mp4"
    audio = "sine=f=440:sample_rate=48000:d=8,volume='if(between(t,4,4.05),8,0.1)':eval=frame"
    subprocess.run([*FF, "-f", "lavfi", "-i", COUNTER.format(d=8), "-f", "lavfi", "-i", audio,
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-profile:v", "high", "-pix_fmt", "yuv420p",
                    "-r", "30", "-fps_mode", "cfr", "-force_key_frames", "expr:gte(t,n_forced*2)",
                    "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000", "-movflags", "+faststart", str(out)],
                   check=True, timeout=120)
    return out


def packet_hashes(path: Path) -> list[tuple[str, str]]:
    data = ffprobe(path, "-select_streams", "v:0", "-show_packets", "-show_data_hash", "MD5",
                   "-show_entries", "packet=flags,data_hash")
    return [(p["flags"], p["data_hash"]) for p in data["packets"]]


def audio_click_ms(path: Path) -> float:
    raw = subprocess.run([*FF[:-1], "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    samples = np.abs(np.frombuffer(raw, "<i2").astype(np.int32))
    return float(np.argmax(samples > 0.5 * samples.max())) / 48.0


@pytest.mark.parametrize("start_ms,end_ms", [(1234, 6789), (500, 7000), (2000, 6000), (100, 1900), (4321, 8000)])
def test_accurate_clip_starts_and_ends_on_the_asked_frames(rendition_like, tmp_path, start_ms, end_ms):
    result = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", start_ms, end_ms)
    numbers = frame_numbers(result.path)
    first = start_ms * 30 // 1000  # the frame on screen at start_ms
    last = -(-end_ms * 30 // 1000) - 1  # the last frame starting before end_ms
    assert numbers == list(range(first, last + 1))
    assert result.frames == len(numbers) and result.start_ms == round(first * 1000 / 30)
    assert top_level_boxes(result.path).index("moov") < top_level_boxes(result.path).index("mdat")


def test_smart_cut_copies_the_middle_groups_of_pictures(rendition_like, tmp_path):
    result = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 1234, 6789)
    assert result.mode == "smart" and result.reason is None
    assert result.copied_frames == 120  # 2 s - 6 s: two whole groups of pictures
    source = packet_hashes(rendition_like)
    clip = packet_hashes(result.path)
    # Frames 60..179 of the source are packets 60..179 (closed GOPs) and sit after the 23 encoded frames.
    assert clip[23:143] == source[60:180]
    assert clip[23][0].startswith("K")
    assert clips.mp4_avcc(result.path) == clips.mp4_avcc(rendition_like)


def test_smart_cut_falls_back_to_encoding_when_settings_cannot_be_matched(rendition_like, tmp_path):
    # The same video without x264's settings message (SEI): its encoder settings are unknown.
    stripped = tmp_path / "no-sei.mp4"
    subprocess.run([*FF, "-i", str(rendition_like), "-c", "copy", "-bsf:v", "filter_units=remove_types=6",
                    "-movflags", "+faststart", str(stripped)], check=True, timeout=60)
    result = clips.cut_accurate(stripped, tmp_path / "clip.mp4", 1234, 6789)
    assert result.mode == "encode" and "x264" in result.reason
    assert frame_numbers(result.path) == list(range(37, 204))
    short = clips.cut_accurate(rendition_like, tmp_path / "short.mp4", 100, 1900)
    assert short.mode == "encode" and short.reason == "no keyframe inside the clip"


@pytest.mark.parametrize("audio", ["auto", "encode"])
def test_audio_stays_in_sync(rendition_like, tmp_path, audio):
    result = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 1234, 6789, audio=audio)
    streams = {s["codec_type"]: s for s in ffprobe(result.path, "-show_streams")["streams"]}
    video_s, audio_s = float(streams["video"]["duration"]), float(streams["audio"]["duration"])
    assert abs(video_s - audio_s) < 0.03 and abs(video_s - 167 / 30) < 0.01
    # The click at 4.000 s in the source is at 4.000 - 1.2333 s in the clip.
    assert abs(audio_click_ms(result.path) - (4000 - 37 * 1000 / 30)) < 15


def test_fast_clip_starts_at_the_keyframe_and_is_quick(rendition_like, tmp_path):
    result = clips.cut_fast(rendition_like, tmp_path / "fast.mp4", 3000, 5500)
    numbers = frame_numbers(result.path)
    assert result.mode == "copy" and result.start_ms == 2000 and numbers[0] == 60
    assert numbers[:10] == list(range(60, 70)) and numbers[-1] >= 164
    assert 3480 <= result.duration_ms <= 3700 and result.elapsed_s < 2  # copied packets end in decode order
    assert ffprobe(result.path, "-show_packets", "-select_streams", "v:0", "-read_intervals", "%+#1")[
        "packets"][0]["flags"].startswith("K")
    assert top_level_boxes(result.path).index("moov") < top_level_boxes(result.path).index("mdat")


def test_captions_in_the_mp4_and_the_vtt_sidecar(rendition_like, tmp_path):
    caption = clips.Caption(text="Great wait time after the question --> the pupils answered.",
                            heading="Strength · 3.2 Questioning")
    result = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 2500, 5000, captions=[caption])
    streams = ffprobe(result.path, "-show_streams")["streams"]
    sub = next(s for s in streams if s["codec_type"] == "subtitle")
    assert sub["codec_name"] == "mov_text" and sub["disposition"]["default"] == 1
    text = subprocess.run([*FF[:-1], "-i", str(result.path), "-map", "0:s:0", "-f", "webvtt", "-"], check=True,
                          capture_output=True, text=True, timeout=30).stdout
    assert "Strength · 3.2 Questioning" in text and "Great wait time after the question" in text
    vtt = clips.write_webvtt([caption], tmp_path / "captions.vtt", result.duration_ms)
    try:
        import webvtt
    except ImportError:
        body = vtt.read_text()
        assert body.startswith("WEBVTT") and "Strength · 3.2 Questioning\nGreat wait time" in body
    else:
        cues = webvtt.read(str(vtt)).captions
        assert len(cues) == 1 and cues[0].start == "00:00:00.000" and cues[0].end == "00:00:02.500"
        assert cues[0].text.splitlines() == ["Strength · 3.2 Questioning",
                                             "Great wait time after the question → the pupils answered."]
    fast = clips.cut_fast(rendition_like, tmp_path / "fast.mp4", 2500, 5000, captions=[caption])
    assert any(s["codec_name"] == "mov_text" for s in ffprobe(fast.path, "-show_streams")["streams"])
    added = clips.add_captions(tmp_path / "fast.mp4", tmp_path / "again.mp4", [caption])
    assert [s["codec_type"] for s in ffprobe(added, "-show_streams")["streams"]] == ["video", "audio", "subtitle"]


def test_thumbnail_is_the_first_frame(rendition_like, tmp_path):
    result = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 2500, 4000)
    thumb = clips.thumbnail(result.path, tmp_path / "thumb.jpg", width=160)
    from obsapp.media.frames import jpeg_size

    assert jpeg_size(thumb) == (160, 120)


def test_reel_of_matching_clips_is_copied_with_chapters(rendition_like, tmp_path):
    parts = [clips.cut_accurate(rendition_like, tmp_path / f"c{n}.mp4", a, b).path
             for n, (a, b) in enumerate([(2000, 4000), (500, 1500), (4321, 6543)])]
    result = clips.concat_reel(parts, tmp_path / "reel.mp4", ["Opening", "Wait time; questions", "Plenary = 3"])
    assert result.mode == "copy"
    chapters = ffprobe(result.path, "-show_chapters")["chapters"]
    assert [c["tags"]["title"] for c in chapters] == ["Opening", "Wait time; questions", "Plenary = 3"]
    starts = [round(float(c["start_time"]) * 1000) for c in chapters]
    # Each clip's copied AAC may run up to one audio frame (21 ms) past its video; the next chapter starts there.
    assert starts[0] == 0 and 2000 <= starts[1] <= 2025 and 3000 <= starts[2] <= 3050
    assert [round(float(c["end_time"]) * 1000) for c in chapters][:2] == starts[1:]
    numbers = frame_numbers(result.path)
    assert numbers[:60] == list(range(60, 120)) and numbers[60:90] == list(range(15, 45))
    assert top_level_boxes(result.path).index("moov") < top_level_boxes(result.path).index("mdat")


def test_reel_of_mixed_clips_is_normalised(rendition_like, media_samples, tmp_path):
    small = clips.cut_accurate(rendition_like, tmp_path / "a.mp4", 0, 1000).path
    wide = tmp_path / "wide.mp4"  # 640x360 at 25 fps without audio
    subprocess.run([*FF, "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=1.5", "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(wide)], check=True, timeout=60)
    result = clips.concat_reel([small, wide], tmp_path / "reel.mp4", ["Small", "Wide"])
    assert result.mode == "encode" and "different sizes" in result.reasons
    assert (result.width, result.height, result.fps) == (640, 360, Fraction(30))
    info = ffprobe(result.path, "-show_streams", "-show_chapters")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["width"], video["height"], video["avg_frame_rate"]) == (640, 360, "30/1")
    assert abs(float(video["duration"]) - 2.5) < 0.1 and abs(float(audio["duration"]) - 2.5) < 0.1
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Small", "Wide"]
    assert round(float(info["chapters"][1]["start_time"]), 2) == 1.0


def test_bad_spans_raise_media_errors(rendition_like, tmp_path):
    with pytest.raises(clips.MediaError):
        clips.cut_accurate(rendition_like, tmp_path / "x.mp4", 9000, 9500)
    with pytest.raises(clips.MediaError):
        clips.cut_fast(rendition_like, tmp_path / "x.mp4", 3000, 2000)
    assert not (tmp_path / "x.mp4").exists()


def test_reel_uses_formats_recorded_with_the_clips(rendition_like, tmp_path, monkeypatch):
    parts = [clips.cut_accurate(rendition_like, tmp_path / f"c{n}.mp4", a, b).path
             for n, (a, b) in enumerate([(2000, 3000), (500, 1500)])]
    saved = [json.loads(json.dumps(clips.source_video_to_dict(clips.source_video(p)))) for p in parts]
    moved = [p.rename(tmp_path / f"moved-{p.name}") for p in parts]  # a record is valid wherever the file is
    formats = [clips.source_video_from_dict(data, p) for data, p in zip(saved, moved, strict=True)]
    assert formats == [clips.source_video(p) for p in moved]
    assert clips.source_video_from_dict({"codec": "h264"}, moved[0]) is None  # unusable: the caller probes

    def no_probe(*args, **kwargs):
        raise AssertionError("probed a clip whose format was given")

    monkeypatch.setattr(reels, "source_video", no_probe)
    result = clips.concat_reel(moved, tmp_path / "reel.mp4", ["One", "Two"], formats=formats)
    assert result.mode == "copy" and [c.title for c in result.chapters] == ["One", "Two"]
    assert frame_numbers(result.path)[:30] == list(range(60, 90))
