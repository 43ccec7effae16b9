"""The optional title card: ~2 s in front of the clip, same stream parameters, sound in sync, captions after it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from obsapp.media import clips, titlecard
from tests.media.conftest import decode_gray, ffprobe, top_level_boxes
from tests.media.test_clips import audio_click_ms, frame_numbers, rendition_like  # noqa: F401 - a fixture

CARD = titlecard.TitleCard(title="Wait time after questions — a long title that has to wrap onto two lines",
                           lines=("Fractions P4", "Strength · 3.2 Questioning"))


def streams(path: Path) -> dict[str, dict]:
    return {s["codec_type"]: s for s in ffprobe(path, "-show_streams")["streams"]}


def check_card(clip: Path, result: titlecard.TitleCardResult) -> None:
    before, after = streams(clip), streams(result.path)
    clip_frames = int(before["video"]["nb_frames"])
    keys = ("codec_name", "profile", "width", "height", "pix_fmt", "avg_frame_rate", "level")
    assert {k: after["video"][k] for k in keys} == {k: before["video"][k] for k in keys}
    assert (after["audio"]["codec_name"], after["audio"]["sample_rate"], after["audio"]["channels"]) == \
        ("aac", "48000", 2)
    assert result.card_frames == 60 and result.card_ms == 2000
    assert abs(float(after["video"]["duration"]) - float(before["video"]["duration"]) - 2.0) < 0.01
    lag = float(before["audio"]["duration"]) - float(before["video"]["duration"])  # as the clip had it
    assert abs(float(after["audio"]["duration"]) - float(after["video"]["duration"]) - lag) < 0.03
    assert int(after["video"]["nb_frames"]) == clip_frames + 60
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat")
    frames = decode_gray(result.path)
    source = decode_gray(clip)
    assert np.abs(frames[0].astype(int) - source[0].astype(int)).mean() > 20  # the card, not the clip
    assert frames[0].std() > 5  # with text on it
    assert np.array_equal(frames[0], frames[59]) or np.abs(frames[0].astype(int) - frames[59]).mean() < 1


def test_card_in_front_of_a_smart_cut_copies_the_clip(rendition_like, tmp_path):  # noqa: F811
    cut = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 1234, 6789)
    caption = clips.Caption(text="Good wait time", heading="Strength")
    result = titlecard.prepend_title_card(cut.path, tmp_path / "card.mp4", CARD, captions=[caption],
                                          settings_from=[rendition_like])
    assert result.mode == "copy" and result.reason is None
    check_card(cut.path, result)
    assert frame_numbers(result.path)[60:] == list(range(37, 204))  # the clip's own frames follow, all of them
    assert clips.mp4_avcc(result.path) == clips.mp4_avcc(rendition_like)
    # The click at 4.000 s of the source: 4.000 - 1.2333 s into the clip, 2 s later with the card.
    assert abs(audio_click_ms(result.path) - (2000 + 4000 - 37 * 1000 / 30)) < 15
    text = subprocess.run(["ffmpeg", "-v", "error", "-i", str(result.path), "-map", "0:s:0", "-f", "webvtt", "-"],
                          check=True, capture_output=True, text=True, timeout=30).stdout
    assert "00:02.000 -->" in text and "Good wait time" in text


def test_card_when_the_clip_cannot_be_copied_encodes_it(rendition_like, tmp_path):  # noqa: F811
    stripped = tmp_path / "no-sei.mp4"  # no x264 settings message anywhere: the clip is encoded with its card
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(rendition_like), "-t", "3", "-c", "copy",
                    "-bsf:v", "filter_units=remove_types=6", "-movflags", "+faststart", str(stripped)],
                   check=True, timeout=60)
    result = titlecard.prepend_title_card(stripped, tmp_path / "card.mp4", CARD)
    assert result.mode == "encode" and "settings" in result.reason
    check_card(stripped, result)
    assert frame_numbers(result.path)[60:] == frame_numbers(stripped)


def test_card_without_a_font_is_drawn_with_opencv(rendition_like, tmp_path, monkeypatch):  # noqa: F811
    conf = tmp_path / "fonts.conf"  # fontconfig that knows no font at all
    conf.write_text(f"<?xml version='1.0'?>\n<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    cut = clips.cut_accurate(rendition_like, tmp_path / "clip.mp4", 2000, 4000)
    result = titlecard.prepend_title_card(cut.path, tmp_path / "clip.mp4", CARD, settings_from=[rendition_like])
    assert result.renderer == "opencv" and result.path == tmp_path / "clip.mp4"
    assert frame_numbers(result.path)[60:] == list(range(60, 120))
    assert decode_gray(result.path)[0].std() > 5


def test_card_is_drawn_by_libass(rendition_like, tmp_path):  # noqa: F811
    cut = clips.cut_fast(rendition_like, tmp_path / "clip.mp4", 2000, 4000)
    result = titlecard.prepend_title_card(cut.path, tmp_path / "card.mp4", titlecard.TitleCard("Plenary"),
                                          settings_from=[rendition_like])
    assert result.renderer == "libass" and result.mode == "copy" and result.missing_fonts == ()
    # Its text where the layout puts it: the title centred, the rest of the card plain background.
    card = decode_gray(result.path, frames=1)[0].astype(int)
    background = int(np.median(card))
    rows = np.flatnonzero((card > background + 60).any(axis=1))
    cols = np.flatnonzero((card > background + 60).any(axis=0))
    (text, size, top), = titlecard._layout(titlecard.TitleCard("Plenary"), card.shape[1], card.shape[0])
    assert abs((rows[0] + rows[-1]) / 2 - (top + size / 2)) < size / 3
    assert abs((cols[0] + cols[-1]) / 2 - card.shape[1] / 2) < 3


def test_card_layout_wraps_every_script_and_keeps_clusters_whole():
    wrap = titlecard._wrap
    assert wrap("Wait time after questions", 5.8, 3) == ["Wait time", "after", "questions"]  # 0.58 em a letter
    assert wrap("课堂观察与反馈课堂观察与反馈", 8, 3) == ["课堂观察与反馈课", "堂观察与反馈"]
    assert wrap("课堂观察与反馈。课堂", 7, 3) == ["课堂观察与反", "馈。课堂"]  # no line starts with "。"
    assert wrap("一二三四五六七八九十" * 3, 4, 2) == ["一二三四", "五六 …"]
    assert wrap("one two three four five six", 4.7, 2) == ["one two", "three …"]
    tamil = wrap("கற்பித்தல்கற்பித்தல்கற்பித்தல்", 4, 5)
    assert "".join(tamil) == "கற்பித்தல்" * 3
    assert not any(line[0] in "\u0bcd\u0bbf" for line in tamil)  # no line starts with a pulli or vowel sign
    assert wrap("   ", 10, 3) == []
