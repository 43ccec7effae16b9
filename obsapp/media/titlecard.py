"""An optional title card in front of a clip: ~2 s showing the clip's title (and the lesson's title and
criteria), at the clip's size, frame rate and codec settings, silent, so the clip stays one H.264/AAC MP4.

The card is drawn by ffmpeg's ``drawtext`` with a TrueType font (DejaVu Sans, or ``OBSAPP_CARD_FONT``);
where no font is installed it is drawn with OpenCV's built-in vector font instead (ASCII only).

When the clip was made by x264 (ours always are) the card is encoded with the settings that reproduce the
clip's parameter sets (as a smart cut does) and the clip's video is stream-copied after it: only the card's
frames are encoded.  The sound is the clip's, decoded and re-encoded once behind the card's silence, so it
stays sample-exact in sync.  Otherwise (another encoder, or parameter sets that do not match) the card and
the clip are encoded together.  Captions start after the card.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import textwrap
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
from .run import SAFE_DEMUXERS, Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import SourceVideo, ff_seconds, mp4_avcc, source_video, tmp_next_to

__all__ = ["CARD_SECONDS", "TitleCard", "TitleCardResult", "card_font", "prepend_title_card"]

CARD_SECONDS = 2.0
BACKGROUND = (0x1F, 0x29, 0x37)  # RGB, a dark slate
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)
_SAFE_PATH = re.compile(r"^[A-Za-z0-9/._+-]+$")  # used unquoted inside a filter graph


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
    renderer: str  # "drawtext" or "opencv"
    elapsed_s: float
    reason: str | None = None  # why the clip was encoded again


def card_font() -> str | None:
    """A TrueType font for the card: ``OBSAPP_CARD_FONT`` or DejaVu Sans where it is usually installed."""
    configured = os.environ.get("OBSAPP_CARD_FONT")
    for path in ((configured,) if configured else FONT_CANDIDATES):
        if path and os.path.isfile(path) and _SAFE_PATH.match(path):
            return path
    return None


def _layout(card: TitleCard, width: int, height: int) -> list[tuple[str, int, int]]:
    """(text, font size in pixels, top) for every line, the block centred on the card."""
    big, small = max(12, height // 12), max(10, height // 26)
    title_chars = max(8, int(width * 0.86 / (big * 0.58)))
    line_chars = max(8, int(width * 0.86 / (small * 0.58)))
    title = textwrap.wrap(" ".join(card.title.split()), title_chars, max_lines=3, placeholder=" …") or [" "]
    rows = [(text, big) for text in title]
    extra = [text for line in card.lines for text in
             textwrap.wrap(" ".join((line or "").split()), line_chars, max_lines=2, placeholder=" …")]
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
                 index: int) -> tuple[list[str], str, str]:
    """(ffmpeg inputs, a filter chain ending in ``[card]``, renderer) that make the card's ``frames`` frames;
    ``index`` is the number the first of those inputs will have."""
    rate = f"{fps.numerator}/{fps.denominator}"
    font = card_font()
    if font is not None and _SAFE_PATH.match(str(work)):
        colour = "0x{:02x}{:02x}{:02x}".format(*BACKGROUND)
        chain = [f"color=c={colour}:s={width}x{height}:r={rate},format=yuv420p,trim=end_frame={frames}"]
        for n, (text, size, top) in enumerate(_layout(card, width, height)):
            path = work / f"card-line-{n}.txt"
            path.write_text(text, encoding="utf-8")
            chain.append(f"drawtext=fontfile={font}:textfile={path}:expansion=none:fontcolor=white:"
                         f"fontsize={size}:x=(w-text_w)/2:y={top}")
        return [], ",".join(chain) + ",setsar=1[card]", "drawtext"
    raw = work / "card.yuv"
    raw.write_bytes(_card_frame_opencv(card, width, height))
    inputs = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", rate,
              "-protocol_whitelist", "file", "-i", os.path.abspath(raw)]
    chain = f"[{index}:v:0]loop=loop={max(0, frames - 1)}:size=1:start=0,setpts=N/FRAME_RATE/TB,setsar=1[card]"
    return inputs, chain, "opencv"


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
    mode, reason = "copy", None
    try:
        settings = None
        if video.codec == "h264" and video.extradata:
            settings = _x264_settings_for(video, [clip, *settings_from])
        if settings is None:
            reason = "the clip's encoder settings cannot be reproduced"
        else:
            card_mp4 = work / "card.mp4"
            inputs, chain, renderer = _card_source(card, video.width, video.height, fps, frames, work, 0)
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
            renderer = _join_encode(card, clip, tmp, video, frames, card_s, total_s, cues, work, timeout_s, cancel)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return TitleCardResult(path=dst, mode=mode, card_ms=card_ms, card_frames=frames,
                           duration_ms=round(total_s * 1000), renderer=renderer,
                           elapsed_s=time.monotonic() - started, reason=reason)


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
                 cancel: Cancel | None) -> str:
    fps = video.fps
    inputs = ffmpeg_input(clip)
    card_in, card_chain, renderer = _card_source(card, video.width, video.height, fps, frames, work, 1)
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
    return renderer


def _quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")
