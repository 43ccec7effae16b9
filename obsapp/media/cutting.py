"""Cutting a clip out of a lesson rendition: fast (stream copy from a keyframe) or frame-accurate.

* :func:`cut_fast` copies the streams from the keyframe at or before the start (no decoding at all).
* :func:`cut_accurate` starts and ends on the asked frames with a "smart cut": only the partial group
  of pictures at the start (up to the next keyframe) and at the end (from the last keyframe) are
  re-encoded, with the x264 settings the source was made with (read from the encoder's SEI message),
  and the whole groups between them are stream-copied; the three parts are joined with the concat
  demuxer.  When the re-encoded parts' parameter sets (SPS/PPS, the MP4 ``avcC``) do not equal the
  source's byte for byte, the span is re-encoded instead.  The span's AAC packets are copied and trimmed
  to it exactly by the MP4 edit list (or re-encoded), so sound stays in sync.

Every MP4 written here has its ``moov`` first (``+faststart``).  Times are integer milliseconds on the
source's timeline unless said otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .captions import Caption, caption_args
from .encoding import AUDIO_ARGS, FALLBACK_X264, x264_options, x264_settings
from .frames import frame_at
from .run import SAFE_DEMUXERS, Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import Packet, SourceVideo, ff_seconds, measure, mp4_avcc, probe_cut, seconds_up, tmp_next_to

__all__ = ["ClipResult", "FrameSpan", "concat_input", "cut_accurate", "cut_fast", "encode_span", "frame_span",
           "thumbnail"]

PROBE_WINDOW_S = 12.0
REORDER_MARGIN_S = 1.0  # read past the end: with B-frames the last frames come after later ones in the file


@dataclass(frozen=True)
class ClipResult:
    path: Path
    mode: str  # "copy" (fast), "smart" (partial GOPs encoded, middle copied) or "encode" (the whole span)
    start_ms: int  # where the clip starts on the source's timeline (a fast clip starts at a keyframe)
    end_ms: int
    duration_ms: int  # measured on the output
    frames: int  # video frames in the clip
    copied_frames: int  # of those, stream-copied from the source
    has_audio: bool
    reason: str | None  # why a smart cut re-encoded the whole span
    elapsed_s: float
    vtt_path: Path | None = None



def _check_span(source: SourceVideo, start_ms: int, end_ms: int) -> tuple[int, int]:
    start_ms, end_ms = int(start_ms), int(end_ms)
    if start_ms < 0 or end_ms <= start_ms:
        raise MediaError("A clip needs a start before its end.", code="bad_span")
    if source.duration_ms and start_ms >= source.duration_ms:
        raise MediaError("The clip starts after the end of the video.", code="bad_span")
    return start_ms, min(end_ms, source.duration_ms or end_ms)



# --- fast cut ----------------------------------------------------------------------------------


def cut_fast(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    start_ms: int,
    end_ms: int,
    *,
    captions: Sequence[Caption] = (),
    timeout_s: float = 120.0,
    cancel: Cancel | None = None,
) -> ClipResult:
    """Stream-copy from the keyframe at or before ``start_ms`` to ``end_ms`` into ``dst``: no decoding,
    any position of a long lesson in well under a second.  ``result.start_ms`` is where it really starts."""
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    at = start_ms / 1000
    source, packets = probe_cut(src, [(at, at + 0.001)], timeout_s, avcc=False)
    start_ms, end_ms = _check_span(source, start_ms, end_ms)
    keys = [p for p in packets if p.key and p.pts <= source.ticks(start_ms)]
    key_ticks = keys[-1].pts if keys else 0
    begin = Fraction(key_ticks) * source.time_base
    length = Fraction(end_ms, 1000) - begin
    tmp = tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".clip-", dir=dst.parent))
    try:
        sub_in, sub_out = caption_args(captions, work, int(length * 1000), 1)
        # Seeking to the keyframe itself keeps every timestamp >= 0: the clip starts at 0 with no edit list.
        argv = ffmpeg_cmd(
            "-ss", seconds_up(begin), *ffmpeg_input(src), *sub_in, "-t", ff_seconds(length),
            "-map", "0:v:0", "-map", "0:a:0?", *sub_out, "-c:v", "copy", "-c:a", "copy", "-dn",
            "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4",
            os.path.abspath(tmp),
        )  # fmt: skip
        run(argv, timeout_s=timeout_s, cancel=cancel)
        duration, frames, has_audio = measure(tmp, timeout_s)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return ClipResult(path=dst, mode="copy", start_ms=round(source.ms(key_ticks)), end_ms=end_ms,
                      duration_ms=duration, frames=frames, copied_frames=frames, has_audio=has_audio,
                      reason=None, elapsed_s=time.monotonic() - started)


# --- frame-accurate cut ------------------------------------------------------------------------


@dataclass
class _Plan:
    first: Packet  # the first frame of the clip (on screen at start_ms)
    total: int  # frames in the clip
    head: int = 0  # frames to encode before the first copied keyframe
    middle: int = 0  # frames to copy
    tail: int = 0  # frames to encode from the last keyframe
    k1: Packet | None = None  # first copied keyframe
    k2: Packet | None = None  # the keyframe where the encoded tail starts, if any
    reason: str | None = None  # why the whole span must be encoded


def _plan_cut(src: Path, start_ms: int, end_ms: int, timeout_s: float) -> tuple[SourceVideo, _Plan]:
    s, e = start_ms / 1000, end_ms / 1000
    if e - s <= 2 * PROBE_WINDOW_S:
        intervals = [(s, e + REORDER_MARGIN_S)]
    else:
        intervals = [(s, s + PROBE_WINDOW_S), (e - PROBE_WINDOW_S, e + REORDER_MARGIN_S)]
    source, packets = probe_cut(src, intervals, timeout_s)
    start_ms, end_ms = _check_span(source, start_ms, end_ms)
    start_t, end_t = source.ticks(start_ms), source.ticks(end_ms)
    # The frame on screen at start_ms; then every frame that starts before end_ms.
    before = [p for p in packets if p.pts <= start_t]
    first = before[-1] if before else next((p for p in packets if p.pts >= start_t), None)
    if first is None:
        raise MediaError("The clip starts after the end of the video.", code="bad_span")
    inside = [p for p in packets if first.pts <= p.pts < end_t]
    if not inside:
        raise MediaError("The clip holds no video frames.", code="bad_span")
    ticks = source.frame_ticks
    plan = _Plan(first=first, total=round((inside[-1].pts - first.pts) / ticks) + 1)
    keys = [p for p in inside if p.key]
    k1 = keys[0] if keys else None
    if k1 is None:
        plan.reason = "no keyframe inside the clip"
        return source, plan
    # Open GOP: a frame decoded after k1 but shown before it depends on the previous group.
    if any(p.dts > k1.dts and p.pts < k1.pts for p in packets):
        plan.reason = "open groups of pictures"
        return source, plan
    plan.k1, plan.head = k1, round((k1.pts - first.pts) / ticks)
    following = next((p for p in packets if p.pts > inside[-1].pts), None)
    if end_ms >= source.duration_ms or (following is not None and following.key):
        plan.middle = plan.total - plan.head  # the clip ends where a group of pictures ends: copy to there
    elif keys[-1].pts > k1.pts:
        plan.k2 = keys[-1]
        plan.middle = round((plan.k2.pts - k1.pts) / ticks)
        plan.tail = plan.total - plan.head - plan.middle
    else:
        plan.reason = "no whole group of pictures inside the clip"
    return source, plan


@dataclass(frozen=True)
class FrameSpan:
    """The frames of ``[start_ms, end_ms)``: ``frames`` of them from the one at ``begin`` seconds."""

    source: SourceVideo
    begin: Fraction
    frames: int
    duration: Fraction  # seconds

    @property
    def start_ms(self) -> int:
        return round(self.begin * 1000)


def frame_span(src: str | os.PathLike[str], start_ms: int, end_ms: int, *, timeout_s: float = 120.0) -> FrameSpan:
    """Which frames a frame-accurate clip of ``[start_ms, end_ms)`` holds (reads only packet headers)."""
    source, plan = _plan_cut(Path(src), start_ms, end_ms, timeout_s)
    begin = Fraction(plan.first.pts) * source.time_base
    return FrameSpan(source=source, begin=begin, frames=plan.total,
                     duration=Fraction(plan.total * source.frame_ticks) * source.time_base)


def encode_span(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    begin: Fraction,
    frames: int,
    *,
    video_args: Sequence[str],
    audio: bool,
    duration: Fraction | None = None,
    fps: Fraction | None = None,
    extra_inputs: Sequence[str] = (),
    extra_outputs: Sequence[str] = (),
    timeout_s: float = 600.0,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> Path:
    """Encode ``frames`` frames starting with the one at ``begin`` seconds (frame-accurate input seek),
    and with ``audio`` the sound of exactly ``duration`` seconds from ``begin`` (AAC)."""
    dst = Path(dst)
    rate = ["-r", f"{fps.numerator}/{fps.denominator}"] if fps else []
    audio_args = ["-map", "0:a:0?", *AUDIO_ARGS] if audio else ["-an"]
    if audio and duration is not None:
        audio_args += ["-af", f"apad,atrim=end={ff_seconds(duration)}"]
    argv = ffmpeg_cmd(
        "-ss", ff_seconds(begin), *ffmpeg_input(src), *extra_inputs, "-map", "0:v:0", *audio_args,
        "-frames:v", str(frames), *rate, "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", *video_args,
        "-dn", "-map_metadata", "-1", "-map_chapters", "-1", *extra_outputs,
        "-movflags", "+faststart", "-f", "mp4", os.path.abspath(dst),
    )  # fmt: skip
    run(argv, timeout_s=timeout_s, cancel=cancel, progress=progress,
        duration_ms=int(duration * 1000) if duration else None)
    return dst


def cut_accurate(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    start_ms: int,
    end_ms: int,
    *,
    captions: Sequence[Caption] = (),
    smart: bool = True,
    audio: str = "auto",
    timeout_s: float = 1800.0,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> ClipResult:
    """Write the frames from the one on screen at ``start_ms`` to the last one starting before ``end_ms``.

    With ``smart`` (the default) only the partial groups of pictures at both ends are encoded and the
    rest is stream-copied; ``result.mode`` says what was done and ``result.reason`` why not "smart".
    ``audio``: "encode" re-encodes the span's sound (AAC); "copy" copies its AAC packets and trims the
    first and last few milliseconds with the MP4 edit list (sample-accurate, far cheaper); "auto" copies
    AAC in a smart cut and encodes otherwise.
    """
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    report = progress or (lambda _f: None)
    source, plan = _plan_cut(src, start_ms, end_ms, min(timeout_s, 120))
    tb, ticks = source.time_base, source.frame_ticks
    begin = Fraction(plan.first.pts) * tb
    duration = Fraction(plan.total * ticks) * tb
    report(0.05)
    settings = None
    reason = plan.reason if smart else "smart cut not asked for"
    if smart and plan.reason is None:
        settings = x264_settings(source, x264_options(src, timeout_s=30))
        if settings is None:
            reason = "the source was not made by x264 with settings that can be reproduced"
    tmp = tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".clip-", dir=dst.parent))
    mode = "encode"
    try:
        if settings is not None:
            try:
                _smart_cut(source, plan, settings, work, tmp, begin, duration, captions, audio, timeout_s, cancel,
                           report)
                mode = "smart"
            except _NotCompatible as exc:
                reason = str(exc)
        if mode == "encode":
            video_args = ["-c:v", "libx264", *FALLBACK_X264]
            sub_in, sub_out = caption_args(captions, work, int(duration * 1000), 1)
            encode_span(src, tmp, begin, plan.total, video_args=video_args, audio=source.has_audio,
                        duration=duration, fps=source.fps, extra_inputs=sub_in, extra_outputs=sub_out,
                        timeout_s=timeout_s, cancel=cancel, progress=lambda f: report(0.1 + 0.85 * f))
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    report(1.0)
    # Exact by construction (the tests measure it), so no probe of the output is needed.
    return ClipResult(path=dst, mode=mode, start_ms=round(source.ms(plan.first.pts)), end_ms=end_ms,
                      duration_ms=round(duration * 1000), frames=plan.total, has_audio=source.has_audio,
                      copied_frames=plan.middle if mode == "smart" else 0,
                      reason=None if mode == "smart" else reason, elapsed_s=time.monotonic() - started)


class _NotCompatible(Exception):
    pass


def _smart_cut(source, plan, settings, work, out, begin, duration, captions, audio, timeout_s, cancel, report):
    tb, fps, src = source.time_base, source.fps, source.path
    parts: list[tuple[Path, int]] = []
    jobs = []
    copy_audio = source.has_audio and audio != "encode" and source.audio_codec == "aac"
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="clip") as pool:
        if plan.head:
            head = work / "head.mp4"
            jobs.append(pool.submit(encode_span, src, head, begin, plan.head, video_args=settings, audio=False,
                                    fps=fps, timeout_s=timeout_s, cancel=cancel))
            parts.append((head, plan.head))
        middle = work / "middle.mp4"
        jobs.append(pool.submit(_copy_gops, src, middle, Fraction(plan.k1.pts) * tb, plan.middle, timeout_s, cancel))
        parts.append((middle, plan.middle))
        if plan.tail:
            tail = work / "tail.mp4"
            jobs.append(pool.submit(encode_span, src, tail, Fraction(plan.k2.pts) * tb, plan.tail,
                                    video_args=settings, audio=False, fps=fps, timeout_s=timeout_s, cancel=cancel))
            parts.append((tail, plan.tail))
        if source.has_audio and not copy_audio:
            jobs.append(pool.submit(_encode_audio, src, work / "audio.m4a", begin, duration, timeout_s, cancel))
        for done, job in enumerate(jobs, 1):
            job.result()
            report(0.1 + 0.7 * done / len(jobs))
    encoded = [part for part, _ in parts if part.name != "middle.mp4"]
    if encoded and mp4_avcc(encoded[0]) != source.extradata:
        raise _NotCompatible("the re-encoded frames' parameter sets (SPS/PPS) differ from the source's")
    inputs = concat_input(work / "parts.ffconcat", parts, Fraction(source.frame_ticks) * tb)
    maps = ["-map", "0:v:0"]
    if copy_audio:  # the AAC packets around the span; the edit list trims them to it exactly
        inputs += ["-ss", ff_seconds(begin), "-t", ff_seconds(duration), *ffmpeg_input(src)]
        maps += ["-map", "1:a:0"]
    elif source.has_audio:
        inputs += ffmpeg_input(work / "audio.m4a")
        maps += ["-map", "1:a:0"]
    sub_in, sub_out = caption_args(captions, work, int(duration * 1000), 2 if source.has_audio else 1)
    argv = ffmpeg_cmd(*inputs, *sub_in, *maps, *sub_out, "-c:v", "copy", "-c:a", "copy", "-dn",
                      "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4",
                      os.path.abspath(out))
    run(argv, timeout_s=timeout_s, cancel=cancel)


def concat_input(listing: Path, parts: Sequence[tuple[Path, int]], frame: Fraction) -> list[str]:
    """ffmpeg input arguments that play ``parts`` (files in ``listing``'s folder, each with its number of frames of
    ``frame`` seconds) one after the other, as one stream, timed exactly by their frame counts."""
    lines = ["ffconcat version 1.0"]
    for part, count in parts:
        lines += [f"file '{part.name}'", f"duration {ff_seconds(count * frame)}"]
    listing.write_text("\n".join(lines) + "\n")
    return ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-protocol_whitelist", "file",
            "-format_whitelist", "concat," + SAFE_DEMUXERS, "-i", os.path.abspath(listing)]


def _copy_gops(src: Path, dst: Path, begin: Fraction, frames: int, timeout_s: float, cancel) -> Path:
    argv = ffmpeg_cmd("-ss", seconds_up(begin), *ffmpeg_input(src), "-map", "0:v:0", "-c", "copy",
                      "-frames:v", str(frames), "-an", "-sn", "-dn", "-map_metadata", "-1",
                      "-f", "mp4", os.path.abspath(dst))
    run(argv, timeout_s=timeout_s, cancel=cancel)
    return dst


def _encode_audio(src: Path, dst: Path, begin: Fraction, duration: Fraction, timeout_s: float, cancel) -> Path:
    argv = ffmpeg_cmd("-ss", ff_seconds(begin), *ffmpeg_input(src), "-map", "0:a:0", "-vn", "-sn", "-dn",
                      "-af", f"apad,atrim=end={ff_seconds(duration)}", *AUDIO_ARGS, "-map_metadata", "-1",
                      "-f", "mp4", os.path.abspath(dst))
    run(argv, timeout_s=timeout_s, cancel=cancel)
    return dst


def thumbnail(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, t_ms: int = 0, width: int = 320,
              timeout_s: float = 30.0) -> Path:
    """A JPEG of the clip's frame at ``t_ms`` (default: its first frame), ``width`` pixels wide."""
    return frame_at(src, t_ms, dst, width=width, timeout_s=timeout_s)

