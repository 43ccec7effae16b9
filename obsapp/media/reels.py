"""Reels: clips joined in order into one MP4 with a chapter per clip.

When every clip has the same codec configuration, size, frame rate and audio format (the usual case for
clips of one lesson) they are stream-copied with the concat demuxer in one ffmpeg run that also writes the
chapters and puts the ``moov`` first; otherwise every clip is scaled and padded to one size, converted to
one frame rate and to 48 kHz stereo AAC, and encoded.  The clips' formats can be passed in (as recorded
when each clip was made), which saves probing every clip.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .encoding import AUDIO_ARGS, FALLBACK_X264, KEYFRAME_INTERVAL_S
from .run import SAFE_DEMUXERS, Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import SourceVideo, ff_seconds, source_video, tmp_next_to

__all__ = ["ReelChapter", "ReelResult", "concat_reel"]


@dataclass(frozen=True)
class ReelChapter:
    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class ReelResult:
    path: Path
    mode: str  # "copy" or "encode"
    chapters: tuple[ReelChapter, ...]
    duration_ms: int
    width: int
    height: int
    fps: Fraction
    elapsed_s: float
    reasons: tuple[str, ...] = field(default_factory=tuple)  # why the clips were normalised


def _ffmetadata_escape(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def _write_chapters(chapters: Sequence[ReelChapter], dst: Path) -> Path:
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter.start_ms}", f"END={chapter.end_ms}",
                  f"title={_ffmetadata_escape(chapter.title)}"]
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def concat_reel(
    clips: Sequence[str | os.PathLike[str]],
    dst: str | os.PathLike[str],
    titles: Sequence[str],
    *,
    max_height: int = 1080,
    timeout_s: float = 3600.0,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
    formats: Sequence[SourceVideo | None] | None = None,
) -> ReelResult:
    """Join ``clips`` in order into ``dst`` with a chapter per clip titled by ``titles``.

    Stream copy (concat demuxer) when every clip has the same codec parameters, size, frame rate and
    audio format; otherwise each is scaled and padded to the largest size (short side at most
    ``max_height``), converted to the highest frame rate and to 48 kHz stereo AAC, and encoded.
    ``formats`` may give each clip's :class:`SourceVideo` as recorded when it was made (see
    :func:`source_video_to_dict`), which saves probing them again; ``None`` entries are probed.
    """
    started = time.monotonic()
    paths = [Path(c) for c in clips]
    if not paths:
        raise MediaError("A reel needs at least one clip.", code="empty_reel")
    if len(titles) != len(paths):
        raise ValueError("one title per clip")
    dst = Path(dst)
    known = list(formats) if formats is not None else [None] * len(paths)
    if len(known) != len(paths):
        raise ValueError("one format (or None) per clip")
    missing = [n for n, f in enumerate(known) if f is None]
    if missing:
        with ThreadPoolExecutor(max_workers=min(4, len(missing)), thread_name_prefix="reel-probe") as pool:
            for n, found in zip(missing, pool.map(source_video, [paths[n] for n in missing]), strict=True):
                known[n] = found  # one ffprobe per clip not described, side by side
    formats = known
    durations = [f.duration_ms for f in formats]
    reasons = _copy_blockers(formats)
    chapters, at = [], 0
    for title, duration in zip(titles, durations, strict=True):
        chapters.append(ReelChapter(title=title, start_ms=at, end_ms=at + duration))
        at += duration
    tmp = tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".reel-", dir=dst.parent))
    try:
        meta = _write_chapters(chapters, work / "chapters.txt")
        meta_in = ["-protocol_whitelist", "file", "-f", "ffmetadata", "-i", os.path.abspath(meta)]
        first = formats[0]
        if not reasons:
            listing = work / "clips.ffconcat"
            lines = ["ffconcat version 1.0"]
            for path, duration in zip(paths, durations, strict=True):
                lines += [f"file '{_concat_quote(path.resolve())}'", f"duration {duration / 1000:.3f}"]
            listing.write_text("\n".join(lines) + "\n")
            # -copyts: keep each clip's own (edit-listed) timing; without it ffmpeg shifts the video by the
            # B-frame delay when the concatenated files also carry audio.
            argv = ffmpeg_cmd(
                "-copyts", "-f", "concat", "-safe", "0", "-auto_convert", "0", "-protocol_whitelist", "file",
                "-format_whitelist", "concat," + SAFE_DEMUXERS, "-i", os.path.abspath(listing), *meta_in,
                "-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", "-sn", "-dn",
                "-map_metadata", "1", "-map_chapters", "1", "-movflags", "+faststart", "-f", "mp4",
                os.path.abspath(tmp),
            )  # fmt: skip
            run(argv, timeout_s=timeout_s, cancel=cancel)
            width, height, fps, mode = first.width, first.height, first.fps, "copy"
        else:
            width, height, fps = _reel_format(formats, max_height)
            argv = _normalise_args(paths, formats, durations, width, height, fps, meta, tmp)
            run(argv, timeout_s=timeout_s, cancel=cancel, progress=progress, duration_ms=at)
            mode = "encode"
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return ReelResult(path=dst, mode=mode, chapters=tuple(chapters), duration_ms=at, width=width,
                      height=height, fps=fps, elapsed_s=time.monotonic() - started, reasons=tuple(reasons))


def _concat_quote(path: Path) -> str:
    return str(path).replace("'", "'\\''")


def _copy_blockers(formats: list[SourceVideo]) -> list[str]:
    first = formats[0]
    reasons = []
    for video in formats:
        if video.codec != "h264" or video.pix_fmt != "yuv420p":
            reasons.append(f"{video.codec}/{video.pix_fmt} video")
        if (video.width, video.height) != (first.width, first.height):
            reasons.append("different sizes")
        if video.fps != first.fps:
            reasons.append("different frame rates")
        if video.extradata != first.extradata:
            reasons.append("different encoder settings")
        if video.audio_format != first.audio_format or (video.has_audio and video.audio_codec != "aac"):
            reasons.append("different audio formats")
    return sorted(set(reasons))


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _reel_format(formats, max_height: int) -> tuple[int, int, Fraction]:
    width = max(v.width for v in formats)
    height = max(v.height for v in formats)
    if min(width, height) > max_height:
        scale = max_height / min(width, height)
        width, height = width * scale, height * scale
    fps = max(v.fps for v in formats)
    fps = min(fps, Fraction(60))
    return _even(width), _even(height), fps


def _normalise_args(paths, formats, durations, width, height, fps, meta: Path, out: Path) -> list[str]:
    inputs: list[str] = []
    chains: list[str] = []
    joined: list[str] = []
    rate = f"{fps.numerator}/{fps.denominator}"
    for n, (path, video, duration) in enumerate(zip(paths, formats, durations, strict=True)):
        inputs += ffmpeg_input(path)
        seconds = ff_seconds(Fraction(duration, 1000))
        chains.append(
            f"[{n}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={rate},format=yuv420p,"
            f"trim=duration={seconds},setpts=PTS-STARTPTS[v{n}]"
        )
        if video.has_audio:
            chains.append(f"[{n}:a:0]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                          f"apad,atrim=duration={seconds},asetpts=PTS-STARTPTS[a{n}]")
        else:
            chains.append(f"anullsrc=r=48000:cl=stereo,atrim=duration={seconds}[a{n}]")
        joined.append(f"[v{n}][a{n}]")
    graph = ";".join(chains) + ";" + "".join(joined) + f"concat=n={len(paths)}:v=1:a=1[v][a]"
    meta_index = len(paths)
    return ffmpeg_cmd(
        *inputs, "-protocol_whitelist", "file", "-f", "ffmetadata", "-i", os.path.abspath(meta),
        "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", *FALLBACK_X264,
        "-pix_fmt", "yuv420p", "-r", rate, "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
        *AUDIO_ARGS, "-map_metadata", str(meta_index), "-map_chapters", str(meta_index),
        "-movflags", "+faststart", "-f", "mp4", os.path.abspath(out),
    )  # fmt: skip
