"""An optional title card in front of a clip: ~2 s showing the clip's title (and the lesson's title and
criteria), at the clip's size, frame rate and codec settings, silent, so the clip stays one H.264/AAC MP4.

The card's text is laid out by libass (ffmpeg's ``ass`` filter: HarfBuzz shaping, FriBiDi, fontconfig), so
every script a school writes in renders correctly: English and Malay in Noto Sans, Chinese in Noto Sans CJK SC,
Tamil in Noto Sans Tamil (Debian's ``fonts-noto-core`` and ``fonts-noto-cjk``), each run of a mixed title in
the font that has it, and anything else in whatever installed font fontconfig finds for it.  A missing font
is logged and the card is drawn with what there is; with no font at all (or an ffmpeg without libass) the card
is drawn with OpenCV's built-in vector font instead (ASCII only).

When the clip was made by x264 (ours always are) the card is encoded with the settings that reproduce the
clip's parameter sets (as a smart cut does) and the clip's video is stream-copied after it: only the card's
frames are encoded.  The sound is the clip's, decoded and re-encoded once behind the card's silence, so it
stays sample-exact in sync.  Otherwise (another encoder, or parameter sets that do not match) the card and
the clip are encoded together.  Captions start after the card.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .captions import Caption, caption_args, shifted
from .encoding import AUDIO_ARGS, FALLBACK_X264, KEYFRAME_INTERVAL_S, x264_options, x264_settings
from .run import SAFE_DEMUXERS, Cancel, MediaError, ffmpeg_bin, ffmpeg_cmd, ffmpeg_input, run
from .source import SourceVideo, ff_seconds, mp4_avcc, source_video, tmp_next_to

__all__ = ["CARD_SECONDS", "BASE_FONT", "SCRIPT_FONTS", "CardFonts", "TitleCard", "TitleCardResult", "ass_text",
           "card_fonts", "prepend_title_card"]

log = logging.getLogger(__name__)

CARD_SECONDS = 2.0
BACKGROUND = (0x1F, 0x29, 0x37)  # RGB, a dark slate
BASE_FONT = "Noto Sans"  # English, Malay and other Latin text, Greek, Cyrillic (Debian: fonts-noto-core)
# script -> (font family, Debian package): the scripts of Singapore's official languages that Noto Sans lacks.
SCRIPT_FONTS = {
    "Chinese": ("Noto Sans CJK SC", "fonts-noto-cjk"),  # SC: Singapore writes Simplified Chinese
    "Tamil": ("Noto Sans Tamil", "fonts-noto-core"),
}
_PACKAGES = {BASE_FONT: "fonts-noto-core", **dict(SCRIPT_FONTS.values())}
# Code point ranges of each script of SCRIPT_FONTS (Han with its punctuation, kana and hangul, which the
# CJK font has too).
_SCRIPT_RANGES = {
    "Chinese": ((0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x2FF0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
                (0xA960, 0xA97F), (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF),
                (0x20000, 0x3FFFF)),
    "Tamil": ((0x0B80, 0x0BFF), (0x11FC0, 0x11FFF)),
}
_ASS_SCALE = 1.362  # libass sizes a font by its line height (ascent + descent): Noto Sans's em is 1/1.362 of it
_SAFE_PATH = re.compile(r"^[A-Za-z0-9/._+-]+$")  # used unquoted inside a filter graph
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\t"
_WORD_JOINER = "\u2060"  # invisible: put after a backslash of the text, it keeps "\N", "\h", "\{" literal


@dataclass(frozen=True)
class TitleCard:
    title: str
    lines: tuple[str, ...] = ()  # smaller lines under the title: the lesson, the criteria
    seconds: float = CARD_SECONDS


@dataclass(frozen=True)
class TitleCardResult:
    path: Path
    mode: str  # "copy" (only the card encoded) or "encode" (card and clip encoded together)
    card_ms: int  # how long the card shows; the clip's own first frame is at this time
    card_frames: int
    duration_ms: int  # of the whole result
    renderer: str  # "libass" or "opencv"
    elapsed_s: float
    reason: str | None = None  # why the clip was encoded again
    missing_fonts: tuple[str, ...] = ()  # font families the card's text wanted that are not installed


@dataclass(frozen=True)
class CardFonts:
    """The fonts libass draws a card with."""

    base: str  # the style's family: Latin text and everything without a font of its own
    scripts: tuple[tuple[str, str], ...]  # (script, family) for the scripts of SCRIPT_FONTS that are installed
    missing: tuple[str, ...] = ()  # wanted families that are not installed (libass falls back for them)
    fontsdir: str | None = None  # a folder of fonts to add (the one of an OBSAPP_CARD_FONT file)


@functools.lru_cache(maxsize=4)
def _filters(ffmpeg: str) -> str:
    """``ffmpeg -filters`` (kept once it answered: a failure is not remembered)."""
    return run([ffmpeg, "-hide_banner", "-nostdin", "-filters"], timeout_s=30).stdout.decode("utf-8", "replace")


def _has_libass() -> bool:
    try:
        listing = _filters(ffmpeg_bin())
    except MediaError:
        return False
    return re.search(r"^\s*\S*\s+ass\s", listing, re.MULTILINE) is not None


def _installed_families() -> set[str] | None:
    """Every font family fontconfig knows (all names of each), or None when ``fc-list`` cannot be run."""
    try:
        listing = run(["fc-list", "--format", "%{family}\n"], timeout_s=30).stdout.decode("utf-8", "replace")
    except MediaError as exc:
        log.warning("Title card: cannot list the installed fonts (%s)", exc.stderr.strip() or exc.message)
        return None
    return {name.strip() for line in listing.splitlines() for name in line.split(",") if name.strip()}


def _clean_family(name: str) -> str:
    """A family name safe inside an ASS style line and a ``\\fn`` tag."""
    return re.sub(r"[\\{},\x00-\x1f]", "", name).strip()


def _configured_font() -> tuple[str | None, str | None]:
    """(family, fonts folder) of ``OBSAPP_CARD_FONT``: a family name, or a font file (its folder is added)."""
    value = (os.environ.get("OBSAPP_CARD_FONT") or "").strip()
    if not value:
        return None, None
    if not os.path.isfile(value):
        return _clean_family(value) or None, None
    folder = os.path.dirname(os.path.abspath(value))
    try:
        names = run(["fc-query", "--format", "%{family}\n", os.path.abspath(value)],
                    timeout_s=30).stdout.decode("utf-8", "replace")
    except MediaError:
        names = ""
    family = _clean_family(names.splitlines()[0].split(",")[0]) if names.strip() else ""
    if not family or not _SAFE_PATH.match(folder):
        log.warning("Title card: OBSAPP_CARD_FONT=%s is not a font file that can be used; using %s",
                    value, BASE_FONT)
        return None, None
    return family, folder


def card_fonts() -> CardFonts | None:
    """The fonts for a card drawn by libass, or None when it cannot be (no libass in ffmpeg, no font at all)."""
    if not _has_libass():
        log.warning("Title card: this ffmpeg has no libass ('ass' filter); the card is drawn in ASCII only")
        return None
    installed = _installed_families()
    if installed is not None and not installed:
        log.warning("Title card: no font is installed (Debian: fonts-noto-core, fonts-noto-cjk); "
                    "the card is drawn in ASCII only")
        return None
    configured, fontsdir = _configured_font()
    base = configured or BASE_FONT
    missing, scripts = [], []
    if installed is not None and base not in installed and fontsdir is None:  # a file's font is added by libass
        missing.append(base)
    for script, (family, _package) in SCRIPT_FONTS.items():
        if installed is None or family in installed:
            scripts.append((script, family))
        else:
            missing.append(family)
    return CardFonts(base=base, scripts=tuple(scripts), missing=tuple(missing), fontsdir=fontsdir)


def _script(ch: str) -> str | None:
    """The script of SCRIPT_FONTS ``ch`` is written in; "" for the base font; None for a character that
    joins the run it is in (spaces, combining marks, joiners)."""
    if ch.isspace() or unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf"):
        return None
    code = ord(ch)
    for script, ranges in _SCRIPT_RANGES.items():
        if any(low <= code <= high for low, high in ranges):
            return script
    return ""


def _runs(text: str) -> list[tuple[str, str]]:
    """``text`` cut into (script, text) runs; spaces and marks stay with the run they are in."""
    runs: list[list] = []  # [script, or None while only spaces and marks were seen; text]
    for ch in text:
        script = _script(ch)
        if runs and (script is None or script == runs[-1][0]):
            runs[-1][1] += ch
        elif runs and runs[-1][0] is None:
            runs[-1] = [script, runs[-1][1] + ch]
        else:
            runs.append([script, ch])
    return [(script or "", chunk) for script, chunk in runs]


def ass_text(text: str) -> str:
    """``text`` as literal ASS dialogue text: braces escaped and backslashes made inert, so user text cannot
    open an override block or say ``\\N``/``\\h``; line breaks become spaces, control characters go."""
    out = []
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif ch == "\\":
            out.append("\\" + _WORD_JOINER)
        elif ch in "{}":
            out.append("\\" + ch)
        elif unicodedata.category(ch) != "Cc":
            out.append(ch)
    return "".join(out)


def _char_width(ch: str) -> float:
    """About how wide ``ch`` is drawn, in em of the layout's size (generous, so lines stay on the card)."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if 0x0B80 <= ord(ch) <= 0x0BFF:  # Tamil letters and vowel signs are wider than Latin ones
        return 0.8
    return 0.58


def _text_width(text: str) -> float:
    return sum(_char_width(ch) for ch in text)


def _breaks_between(before: str, after: str) -> bool:
    """Whether a line may end between ``before`` and ``after`` inside a word: beside a wide (CJK) character,
    but not before a mark or closing punctuation, nor after opening punctuation."""
    wide = ("W", "F")
    if unicodedata.east_asian_width(before) not in wide and unicodedata.east_asian_width(after) not in wide:
        return False
    if unicodedata.category(after) in ("Mn", "Mc", "Me", "Cf", "Po", "Pe", "Pf"):
        return False
    return unicodedata.category(before) not in ("Ps", "Pi")


def _clusters(text: str) -> list[str]:
    """``text`` cut where a line may be broken inside a too-long word: never before a mark or joiner, nor
    after a virama or joiner (which would tear a Tamil syllable apart)."""
    out: list[str] = []
    for ch in text:
        if out and (unicodedata.category(ch) in ("Mn", "Mc", "Me", "Cf")
                    or unicodedata.combining(out[-1][-1]) == 9 or out[-1][-1] == "\u200d"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _wrap(text: str, limit: float, max_lines: int) -> list[str]:
    """``text`` in lines about ``limit`` em wide at most, broken at spaces or between CJK characters (a word
    longer than a line between its characters), the last of ``max_lines`` ending with "…" if it goes on."""
    lines: list[str] = []
    line, used = "", 0.0
    for word in " ".join(text.split()).split(" ") if text.strip() else []:
        pieces = [""]
        for before, after in zip(" " + word[:-1], word, strict=True):
            if before != " " and _breaks_between(before, after):
                pieces.append("")
            pieces[-1] += after
        for n, piece in enumerate(pieces):
            gap = " " if n == 0 and line else ""
            parts = _clusters(piece) if _text_width(piece) > limit else [piece]
            for part in parts:
                width = _text_width(gap + part)
                if line and used + width > limit:
                    lines.append(line)
                    line, used, gap, width = "", 0.0, "", _text_width(part)
                line, used, gap = line + gap + part, used + width, ""
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _text_width(last + " …") > limit:  # drop the last word (or character, in CJK)
            cut = last.rstrip().rfind(" ")
            last = last[:cut] if cut > 0 else "".join(_clusters(last.rstrip())[:-1])
        lines = [*lines[:max_lines - 1], (last.rstrip() + " …").lstrip()]
    return lines


def _layout(card: TitleCard, width: int, height: int) -> list[tuple[str, int, int]]:
    """(text, font size in pixels, top) for every line, the block centred on the card."""
    big, small = max(12, height // 12), max(10, height // 26)
    title = _wrap(card.title, width * 0.86 / big, 3) or [" "]
    rows = [(text, big) for text in title]
    extra = [text for line in card.lines for text in _wrap(line or "", width * 0.86 / small, 2)]
    rows += [(text, small) for text in extra[:4]]
    gaps = [int(size * 0.45) for _, size in rows]
    if extra:
        gaps[len(title) - 1] = big  # a wider gap between the title and the rest
    total = sum(size for _, size in rows) + sum(gaps[:-1])
    top, placed = (height - total) // 2, []
    for (text, size), gap in zip(rows, gaps, strict=True):
        placed.append((text, size, top))
        top += size + gap
    return placed


def _ass_script(card: TitleCard, width: int, height: int, fonts: CardFonts) -> tuple[str, set[str]]:
    """The card as an ASS script (one event per line, placed as :func:`_layout` says, each run of text in its
    script's font) and the scripts its text is written in ("" for the base font)."""
    families, used, events = dict(fonts.scripts), set(), []
    for text, size, top in _layout(card, width, height):
        body, current = [], fonts.base
        for script, chunk in _runs(text):
            used.add(script)
            family = families.get(script, fonts.base)
            if family != current:
                body.append(f"{{\\fn{family}}}")
                current = family
            body.append(ass_text(chunk))
        events.append(f"Dialogue: 0,0:00:00.00,9:59:59.99,Card,,0,0,0,,"
                      f"{{\\an5\\pos({width // 2},{top + size / 2:g})\\fs{round(size * _ASS_SCALE)}}}"
                      + "".join(body))
    script = [
        "[Script Info]", "ScriptType: v4.00+", f"PlayResX: {width}", f"PlayResY: {height}", "WrapStyle: 2",
        "ScaledBorderAndShadow: yes", "Kerning: yes", "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Card,{fonts.base},{max(12, height // 12)},&H00FFFFFF,&H00FFFFFF,&H00000000,&H00000000,"
        "0,0,0,0,100,100,0,0,1,0,0,5,0,0,0,1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        *events,
    ]
    return "\n".join(script) + "\n", used


def _card_frame_opencv(card: TitleCard, width: int, height: int) -> bytes:
    """The card as one yuv420p picture drawn with OpenCV's Hershey font (ASCII)."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = BACKGROUND[::-1]
    font = cv2.FONT_HERSHEY_SIMPLEX
    for text, size, top in _layout(card, width, height):
        ascii_text = unicodedata.normalize("NFKD", text.replace("·", "-").replace("…", "...")
                                           ).encode("ascii", "ignore").decode("ascii")
        scale = cv2.getFontScaleFromHeight(font, size, 2)
        (w, h), _ = cv2.getTextSize(ascii_text, font, scale, 2)
        cv2.putText(image, ascii_text, ((width - w) // 2, top + h), font, scale, (255, 255, 255), 2, cv2.LINE_AA)
    return cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes()


def _card_source(card: TitleCard, width: int, height: int, fps: Fraction, frames: int, work: Path,
                 index: int) -> tuple[list[str], str, str, tuple[str, ...]]:
    """(ffmpeg inputs, a filter chain ending in ``[card]``, renderer, missing fonts) that make the card's
    ``frames`` frames; ``index`` is the number the first of those inputs will have."""
    rate = f"{fps.numerator}/{fps.denominator}"
    fonts = card_fonts()
    if fonts is not None and _SAFE_PATH.match(str(work)):
        text, used = _ass_script(card, width, height, fonts)
        path = work / "card.ass"
        path.write_text(text, encoding="utf-8")
        wanted = {fonts.base if script == "" else SCRIPT_FONTS[script][0] for script in used}
        missing = tuple(family for family in fonts.missing if family in wanted)
        for family in missing:
            hint = f" (Debian: {_PACKAGES[family]})" if family in _PACKAGES else ""
            log.warning("Title card: the font %s is not installed%s; its text is drawn with another font, "
                        "or as boxes", family, hint)
        colour = "0x{:02x}{:02x}{:02x}".format(*BACKGROUND)
        options = f"filename={path}" + (f":fontsdir={fonts.fontsdir}" if fonts.fontsdir else "")
        chain = (f"color=c={colour}:s={width}x{height}:r={rate},format=yuv420p,trim=end_frame={frames},"
                 f"ass={options},setsar=1[card]")
        return [], chain, "libass", missing
    raw = work / "card.yuv"
    raw.write_bytes(_card_frame_opencv(card, width, height))
    inputs = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", rate,
              "-protocol_whitelist", "file", "-i", os.path.abspath(raw)]
    chain = f"[{index}:v:0]loop=loop={max(0, frames - 1)}:size=1:start=0,setpts=N/FRAME_RATE/TB,setsar=1[card]"
    return inputs, chain, "opencv", ()


def _x264_settings_for(video: SourceVideo, sources: Sequence[str | os.PathLike[str]]) -> list[str] | None:
    """Settings reproducing ``video``'s parameter sets, from the first of ``sources`` whose x264 message
    (SEI) can be read (a clip that starts with a copied keyframe carries none: its source does)."""
    for path in sources:
        settings = x264_settings(video, x264_options(path))
        if settings is not None:
            return settings
    return None


def prepend_title_card(
    clip: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    card: TitleCard,
    *,
    captions: Sequence[Caption] = (),
    settings_from: Sequence[str | os.PathLike[str]] = (),
    video: SourceVideo | None = None,
    timeout_s: float = 600.0,
    cancel: Cancel | None = None,
) -> TitleCardResult:
    """Write ``clip`` with ``card`` in front of it to ``dst`` (``dst`` may be ``clip``).

    ``captions`` (times relative to the clip) are added as the mov_text track, starting after the card;
    the clip's own subtitle track, if any, is not kept.  ``settings_from``: other files made with the same
    x264 settings as the clip (e.g. the lesson rendition a smart cut came from), tried when the clip's first
    frame does not say how it was encoded.  ``video``: the clip's :class:`SourceVideo` if already known.
    """
    started = time.monotonic()
    clip, dst = Path(clip), Path(dst)
    video = video or source_video(clip, timeout_s=min(timeout_s, 60))
    if video.width % 2 or video.height % 2:
        raise MediaError("A title card needs a video with even dimensions.", code="odd_size")
    fps = video.fps
    frames = max(1, round(Fraction(card.seconds) * fps))
    card_s = Fraction(frames) / fps
    card_ms = round(card_s * 1000)
    clip_s = Fraction(video.duration_ms, 1000)
    total_s = card_s + clip_s
    cues = shifted(captions, card_ms)
    tmp = tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".card-", dir=dst.parent))
    if not _SAFE_PATH.match(str(work)):  # the card's text files are named inside a filter graph
        shutil.rmtree(work, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix="obsapp-card-"))
    mode, reason, missing = "copy", None, ()
    try:
        settings = None
        if video.codec == "h264" and video.extradata:
            settings = _x264_settings_for(video, [clip, *settings_from])
        if settings is None:
            reason = "the clip's encoder settings cannot be reproduced"
        else:
            card_mp4 = work / "card.mp4"
            inputs, chain, renderer, missing = _card_source(card, video.width, video.height, fps, frames, work, 0)
            run(ffmpeg_cmd(*inputs, "-filter_complex", chain, "-map", "[card]", "-frames:v", str(frames),
                           "-r", f"{fps.numerator}/{fps.denominator}", "-fps_mode", "passthrough",
                           "-pix_fmt", "yuv420p", *settings, "-an", "-map_metadata", "-1", "-f", "mp4",
                           os.path.abspath(card_mp4)), timeout_s=timeout_s, cancel=cancel)
            if mp4_avcc(card_mp4) != video.extradata:
                reason = "the card's parameter sets (SPS/PPS) differ from the clip's"
            else:
                _join_copy(card_mp4, clip, tmp, video, card_s, total_s, cues, work, timeout_s, cancel)
        if reason is not None:
            mode = "encode"
            renderer, missing = _join_encode(card, clip, tmp, video, frames, card_s, total_s, cues, work, timeout_s,
                                             cancel)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return TitleCardResult(path=dst, mode=mode, card_ms=card_ms, card_frames=frames,
                           duration_ms=round(total_s * 1000), renderer=renderer,
                           elapsed_s=time.monotonic() - started, reason=reason, missing_fonts=missing)


def _audio_chain(index: int, card_s: Fraction) -> str:
    """Silence exactly as long as the card, then the clip's sound (48 kHz stereo) as it was."""
    return (f"anullsrc=r=48000:cl=stereo,atrim=end={ff_seconds(card_s)}[silence];"
            f"[{index}:a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[sound];"
            "[silence][sound]concat=n=2:v=0:a=1[a]")


def _join_copy(card_mp4: Path, clip: Path, out: Path, video: SourceVideo, card_s: Fraction, total_s: Fraction,
               cues: Sequence[Caption], work: Path, timeout_s: float, cancel: Cancel | None) -> None:
    listing = work / "parts.ffconcat"
    listing.write_text("ffconcat version 1.0\n"
                       f"file '{card_mp4.name}'\nduration {ff_seconds(card_s)}\n"
                       f"file '{_quote(clip.resolve())}'\n")
    inputs = ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-protocol_whitelist", "file",
              "-format_whitelist", "concat," + SAFE_DEMUXERS, "-i", os.path.abspath(listing)]
    maps, audio = ["-map", "0:v:0"], []
    if video.has_audio:
        inputs += ffmpeg_input(clip)
        audio = ["-filter_complex", _audio_chain(1, card_s), "-map", "[a]", *AUDIO_ARGS]
    sub_in, sub_out = caption_args(cues, work, round(total_s * 1000), 2 if video.has_audio else 1)
    run(ffmpeg_cmd(*inputs, *sub_in, *maps, *audio, *sub_out, "-c:v", "copy", "-dn", "-map_metadata", "-1",
                   "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4", os.path.abspath(out)),
        timeout_s=timeout_s, cancel=cancel)


def _join_encode(card: TitleCard, clip: Path, out: Path, video: SourceVideo, frames: int, card_s: Fraction,
                 total_s: Fraction, cues: Sequence[Caption], work: Path, timeout_s: float,
                 cancel: Cancel | None) -> tuple[str, tuple[str, ...]]:
    fps = video.fps
    inputs = ffmpeg_input(clip)
    card_in, card_chain, renderer, missing = _card_source(card, video.width, video.height, fps, frames, work, 1)
    inputs += card_in
    graph = [card_chain,
             "[0:v:0]setpts=PTS-STARTPTS,format=yuv420p,setsar=1[body]",
             "[card][body]concat=n=2:v=1:a=0[v]"]
    audio = ["-an"]
    if video.has_audio:
        graph.append(_audio_chain(0, card_s))
        audio = ["-map", "[a]", *AUDIO_ARGS]
    sub_in, sub_out = caption_args(cues, work, round(total_s * 1000), 1 + (1 if card_in else 0))
    run(ffmpeg_cmd(*inputs, *sub_in, "-filter_complex", ";".join(graph), "-map", "[v]", *audio, *sub_out,
                   "-c:v", "libx264", *FALLBACK_X264, "-pix_fmt", "yuv420p", "-fps_mode", "passthrough",
                   "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})", "-dn",
                   "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4",
                   os.path.abspath(out)),
        timeout_s=timeout_s, cancel=cancel, duration_ms=round(total_s * 1000))
    return renderer, missing


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")
