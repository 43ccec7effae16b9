"""Captions of a clip: a WebVTT sidecar and the same cues as a ``mov_text`` track in the MP4."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .run import Cancel, ffmpeg_cmd, ffmpeg_input, run
from .source import measure, tmp_next_to

__all__ = ["Caption", "add_captions", "caption_args", "caption_text", "shifted", "vtt_time", "write_webvtt"]


@dataclass(frozen=True)
class Caption:
    """One caption cue: ``heading`` (kind and criteria) is its first line, ``text`` follows."""

    text: str
    heading: str | None = None
    start_ms: int = 0  # relative to the clip
    end_ms: int | None = None  # None: until the end of the clip



def caption_args(captions: Sequence[Caption], work: Path, duration_ms: int, index: int) -> tuple[list, list]:
    """(input args, output args) adding a mov_text track made from ``captions`` (input number ``index``)."""
    if not captions:
        return [], ["-sn"]
    vtt = write_webvtt(captions, work / "captions.vtt", duration_ms)
    inputs = ["-protocol_whitelist", "file", "-f", "webvtt", "-i", os.path.abspath(vtt)]
    outputs = ["-map", f"{index}:0", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
               "-metadata:s:s:0", "handler_name=Feedback", "-disposition:s:0", "default"]
    return inputs, outputs



def vtt_time(ms: int) -> str:
    hours, rest = divmod(max(0, int(ms)), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def caption_text(caption: Caption) -> str:
    """The cue's text: heading then body; blank lines and ``-->`` removed (they would end the cue)."""
    lines = [caption.heading] if caption.heading else []
    lines += (caption.text or "").splitlines()
    cleaned = [re.sub(r"\s+", " ", line.replace("-->", "→")).strip() for line in lines]
    return "\n".join(line for line in cleaned if line) or " "


def write_webvtt(captions: Sequence[Caption], dst: str | os.PathLike[str], duration_ms: int) -> Path:
    """A WebVTT file with one cue per caption (``end_ms`` None = until ``duration_ms``)."""
    dst = Path(dst)
    lines = ["WEBVTT", ""]
    for n, caption in enumerate(captions, 1):
        end = caption.end_ms if caption.end_ms is not None else duration_ms
        start = max(0, min(caption.start_ms, end - 1))
        lines += [str(n), f"{vtt_time(start)} --> {vtt_time(max(end, start + 1))}", caption_text(caption), ""]
    dst.write_text("\n".join(lines), encoding="utf-8")
    return dst


def add_captions(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    captions: Sequence[Caption],
    *,
    timeout_s: float = 120.0,
    cancel: Cancel | None = None,
) -> Path:
    """Copy ``src`` into ``dst`` with ``captions`` as its (default) mov_text subtitle track."""
    src, dst = Path(src), Path(dst)
    duration = measure(src, timeout_s)[0]
    tmp = tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".captions-", dir=dst.parent))
    try:
        sub_in, sub_out = caption_args(captions, work, duration, 1)
        argv = ffmpeg_cmd(*ffmpeg_input(src), *sub_in, "-map", "0:v:0", "-map", "0:a:0?", *sub_out,
                          "-c:v", "copy", "-c:a", "copy", "-dn", "-movflags", "+faststart", "-f", "mp4",
                          os.path.abspath(tmp))
        run(argv, timeout_s=timeout_s, cancel=cancel)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return dst



def shifted(captions: Sequence[Caption], by_ms: int) -> list[Caption]:
    """``captions`` starting ``by_ms`` later (for a clip that gets something in front, like a title card)."""
    return [Caption(text=c.text, heading=c.heading, start_ms=c.start_ms + by_ms,
                    end_ms=None if c.end_ms is None else c.end_ms + by_ms) for c in captions]
