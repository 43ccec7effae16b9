"""Title cards in Singapore's four official languages: the card's text is shaped and drawn in a font that has it.

OCR-free: the card's text is cut out of the decoded first frame and compared with the same text drawn by
Pillow with Raqm layout (HarfBuzz shaping) in the font fontconfig has for the script, sized as libass sizes
it; a render with unshaped layout, or with a font that lacks the glyphs (tofu boxes), must match worse.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

from obsapp.media import titlecard
from obsapp.media.captions import Caption, add_captions, write_webvtt
from tests.media.conftest import decode_gray

TAMIL = "கற்பித்தல் பயிற்சி"  # teaching practice
CHINESE = "课堂观察与反馈"  # classroom observation and feedback
MALAY = "Pemerhatian bilik darjah"  # classroom observation
FAMILIES = {"Tamil": "Noto Sans Tamil", "Chinese": "Noto Sans CJK SC", "Latin": "Noto Sans"}
LANGUAGES = {"Tamil": "ta", "Chinese": "zh-sg", "Latin": "ms"}
DEJAVU = "DejaVu Sans"  # the card's font before: no Tamil, no Chinese
WIDTH, HEIGHT = 1280, 720


def font_file(pattern: str) -> tuple[str, int, str]:
    """(file, face index, family) fontconfig picks for ``pattern``."""
    out = subprocess.run(["fc-match", "--format", "%{file}\n%{index}\n%{family[0]}", pattern],
                         check=True, capture_output=True, text=True, timeout=30).stdout.split("\n")
    return out[0], int(out[1]), out[2]


def installed(family: str) -> tuple[str, int]:
    path, index, found = font_file(family)
    assert found == family, f"{family} is not installed (scripts/ensure-system-deps.sh installs it)"
    return path, index


def covers(path: str, index: int, text: str) -> bool:
    cmap = TTFont(path, fontNumber=index, lazy=True).getBestCmap()
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


def libass_em(path: str, index: int, size: int) -> float:
    """The em size libass gives a font at ``\\fs size``: the line height (Windows ascent + descent) is ``size``."""
    font = TTFont(path, fontNumber=index, lazy=True)
    os2 = font["OS/2"]
    return size * font["head"].unitsPerEm / (os2.usWinAscent + os2.usWinDescent)


def draw(runs: list[tuple[str, str, int]], size: int, layout: ImageFont.Layout) -> np.ndarray:
    """``runs`` of (text, font file, face index) drawn one after the other in white on black, as libass sizes
    them at ``\\fs size``; the picture is cropped to the ink."""
    image = Image.new("L", (WIDTH * 2, HEIGHT), 0)
    pen = ImageDraw.Draw(image)
    x = 20.0
    for text, path, index in runs:
        font = ImageFont.truetype(path, round(libass_em(path, index, size)), index=index, layout_engine=layout)
        pen.text((x, HEIGHT / 2), text, font=font, fill=255, anchor="ls")
        x += font.getlength(text)
    return ink(np.asarray(image), 0)


def ink(frame: np.ndarray, background: int) -> np.ndarray:
    """The part of ``frame`` with text on it (brighter than the background), as 0..1."""
    mask = frame.astype(float) > background + 60
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    assert rows.size and cols.size, "no text"
    crop = frame[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(float)
    return np.clip((crop - background) / (255 - background), 0, 1)


def mismatch(card: np.ndarray, other: np.ndarray) -> float:
    """How unlike two crops of text are: their mean difference once ``other`` is scaled to ``card``'s size and
    both are softened a little (video coding and subpixel placement aside), relative to the card's ink."""
    h, w = card.shape
    soft = ImageFilter.GaussianBlur(1.5)
    scaled = Image.fromarray((other * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR).filter(soft)
    mine = np.asarray(Image.fromarray((card * 255).astype(np.uint8)).filter(soft)).astype(float)
    return float(np.abs(mine - np.asarray(scaled)).mean() / mine.mean())


def same_size(card: np.ndarray, other: np.ndarray) -> bool:
    return all(abs(a - b) <= max(3, a // 50) for a, b in zip(card.shape, other.shape, strict=True))


@pytest.fixture(scope="module")
def clip720(tmp_path_factory) -> Path:
    """1 s of 720p video with sound, encoded by x264 as the ingest job does (so the card is stream-joined)."""
    out = tmp_path_factory.mktemp("scripts") / "clip.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=s={WIDTH}x{HEIGHT}:r=30:d=1",
                    "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=1",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-ac", "2", "-movflags", "+faststart", str(out)], check=True, timeout=120)
    return out


def card_text(clip: Path, title: str, dst: Path) -> tuple[np.ndarray, titlecard.TitleCardResult]:
    """The ink of the title on the card that the real card function puts in front of ``clip``."""
    result = titlecard.prepend_title_card(clip, dst, titlecard.TitleCard(title), settings_from=[clip])
    frame = decode_gray(result.path, frames=1)[0]
    background = int(np.median(frame))
    return ink(frame, background), result


SIZE = round(HEIGHT // 12 * 1.362)  # the title's \fs on a 720p card


def test_fontconfig_has_a_font_for_every_official_language():
    for script, family in FAMILIES.items():
        path, index = installed(family)
        text = {"Tamil": TAMIL, "Chinese": CHINESE, "Latin": MALAY}[script]
        assert covers(path, index, text), family
        # fontconfig picks a font that covers the language too (a card's fallback for what has no font set).
        lang_path, lang_index, _ = font_file(f"sans-serif:lang={LANGUAGES[script]}")
        assert covers(lang_path, lang_index, text), (script, lang_path)
    dejavu = installed(DEJAVU)
    assert not covers(*dejavu, TAMIL) and not covers(*dejavu, CHINESE)  # what the tofu render below draws


@pytest.mark.parametrize(("script", "title"), [("Tamil", TAMIL), ("Chinese", CHINESE), ("Latin", MALAY)])
def test_title_is_drawn_shaped_in_its_scripts_font(clip720, tmp_path, script, title):
    assert features.check("raqm"), "Pillow without Raqm cannot shape the reference (Debian: libraqm0)"
    card, result = card_text(clip720, title, tmp_path / "card.mp4")
    font = installed(FAMILIES[script])
    reference = draw([(title, *font)], SIZE, ImageFont.Layout.RAQM)
    shaped = mismatch(card, reference)
    tofu = mismatch(card, draw([(title, *installed(DEJAVU))], SIZE, ImageFont.Layout.RAQM))
    assert same_size(card, reference) and shaped < 0.35, (card.shape, reference.shape, shaped)
    assert tofu > 2 * shaped, (shaped, tofu)
    if script == "Tamil":  # unshaped Tamil: vowel signs and pulli neither placed nor reordered
        unshaped = mismatch(card, draw([(title, *font)], SIZE, ImageFont.Layout.BASIC))
        assert unshaped > 1.6 * shaped, (shaped, unshaped)
    assert result.renderer == "libass" and result.mode == "copy" and result.missing_fonts == ()


def test_a_title_mixing_scripts_draws_each_run_in_a_font_that_has_it(clip720, tmp_path):
    runs = [("课堂反馈 ", "Chinese"), ("கற்பித்தல் ", "Tamil"), ("P4", "Latin")]  # on one line
    card, result = card_text(clip720, "".join(text for text, _ in runs), tmp_path / "card.mp4")
    reference = draw([(text, *installed(FAMILIES[script])) for text, script in runs], SIZE, ImageFont.Layout.RAQM)
    right = mismatch(card, reference)
    one_font = mismatch(card, draw([("".join(text for text, _ in runs), *installed(FAMILIES["Latin"]))], SIZE,
                                   ImageFont.Layout.RAQM))
    assert same_size(card, reference) and right < 0.35, (card.shape, reference.shape, right)
    assert one_font > 2 * right, (right, one_font)
    assert result.renderer == "libass"


def test_user_text_cannot_inject_ass_tags(clip720, tmp_path):
    title = r"{\fs9}Tag\N{\b1}x\h}"  # on one line
    card, _ = card_text(clip720, title, tmp_path / "card.mp4")
    latin = installed(FAMILIES["Latin"])
    reference = draw([(title, *latin)], SIZE, ImageFont.Layout.RAQM)
    literal = mismatch(card, reference)
    as_tags = mismatch(card, draw([("Tag", *latin)], SIZE, ImageFont.Layout.RAQM))
    assert same_size(card, reference) and literal < 0.35, (card.shape, reference.shape, literal)
    assert as_tags > 2 * literal, (literal, as_tags)
    assert titlecard.ass_text("a{b}\\N\nc\x00") == "a\\{b\\}\\\u2060N c"


def test_a_missing_font_is_logged_and_the_card_still_rendered(clip720, tmp_path, monkeypatch, caplog):
    dejavu = Path(installed(DEJAVU)[0]).parent  # fontconfig that knows DejaVu only: no Noto at all
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"<?xml version='1.0'?>\n<fontconfig><dir>{dejavu}</dir>"
                    f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    with caplog.at_level(logging.WARNING, logger="obsapp.media.titlecard"):
        card, result = card_text(clip720, TAMIL + " P4", tmp_path / "card.mp4")
    assert result.renderer == "libass" and result.mode == "copy"
    assert set(result.missing_fonts) == {"Noto Sans Tamil", "Noto Sans"}
    assert "Noto Sans Tamil" in caplog.text and "fonts-noto-core" in caplog.text
    assert card.shape[1] > 100  # drawn, in what there is (DejaVu: boxes for the Tamil)
    assert "Noto Sans CJK SC" not in caplog.text  # no Chinese on this card: nothing to say about its font


def test_with_no_font_at_all_the_card_is_drawn_in_ascii(clip720, tmp_path, monkeypatch, caplog):
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"<?xml version='1.0'?>\n<fontconfig><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    with caplog.at_level(logging.WARNING, logger="obsapp.media.titlecard"):
        card, result = card_text(clip720, MALAY, tmp_path / "card.mp4")
    assert result.renderer == "opencv" and result.mode == "copy"
    assert "no font" in caplog.text
    assert card.shape[1] > 300  # the Malay title, in OpenCV's font


def test_obsapp_card_font_sets_the_font_of_latin_text(clip720, tmp_path, monkeypatch):
    path, index = installed(DEJAVU)
    for value in (path, DEJAVU):  # a font file (its folder is added for libass) or a family name
        monkeypatch.setenv("OBSAPP_CARD_FONT", value)
        assert titlecard.card_fonts().base == DEJAVU
        card, result = card_text(clip720, MALAY, tmp_path / "card.mp4")
        reference = draw([(MALAY, path, index)], SIZE, ImageFont.Layout.RAQM)
        noto = mismatch(card, draw([(MALAY, *installed(FAMILIES["Latin"]))], SIZE, ImageFont.Layout.RAQM))
        assert same_size(card, reference) and mismatch(card, reference) < 0.35 < noto, value
        assert result.renderer == "libass" and result.missing_fonts == ()
    monkeypatch.setenv("OBSAPP_CARD_FONT", "No Such Family")  # named but not installed: said, and drawn anyway
    card, result = card_text(clip720, MALAY, tmp_path / "card.mp4")
    assert result.missing_fonts == ("No Such Family",) and card.shape[1] > 300


def test_captions_in_every_script_survive_the_track_and_the_sidecar(clip720, tmp_path):
    # Captions are not burned in: the player draws the mov_text track or the WebVTT sidecar with its own fonts,
    # so what matters is that the text reaches both unchanged (UTF-8, Tamil's joiners and marks kept).
    cues = [Caption(text=TAMIL + "\u200c", heading="Strength", start_ms=0, end_ms=400),
            Caption(text=CHINESE, start_ms=400, end_ms=700), Caption(text=MALAY, start_ms=700)]
    out = add_captions(clip720, tmp_path / "captioned.mp4", cues)
    track = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-map", "0:s:0", "-f", "webvtt", "-"],
                           check=True, capture_output=True, timeout=30).stdout.decode("utf-8")
    sidecar = write_webvtt(cues, tmp_path / "captions.vtt", 1000).read_text(encoding="utf-8")
    for text in (TAMIL + "\u200c", CHINESE, MALAY):
        assert text in track and text in sidecar
