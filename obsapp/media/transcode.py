"""The web rendition: an H.264/AAC MP4 with its index first (``+faststart``).

``plan_rendition`` decides how little work is needed; ``make_rendition``
does it and measures what it produced.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from .probe import MediaInfo, probe
from .run import Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run

__all__ = ["KEYFRAME_INTERVAL_S", "Plan", "RenditionResult", "make_rendition", "plan_rendition"]

log = logging.getLogger(__name__)

KEYFRAME_INTERVAL_S = 2
MAX_FPS = Fraction(60)
COPYABLE_PROFILES = {"High", "Main", "Baseline", "Constrained Baseline"}
# Containers whose H.264 timestamps survive a stream copy into MP4.
COPYABLE_FORMATS = ("mov", "mp4", "matroska", "webm", "mpegts")
# HDR (PQ/HLG, BT.2020) to SDR BT.709, as phones record by default.
TONEMAP = [
    "zscale=t=linear:npl=100", "format=gbrpf32le", "zscale=p=bt709", "tonemap=hable:desat=0",
    "zscale=t=bt709:m=bt709:r=tv",
]  # fmt: skip
STANDARD_RATES = [
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(50), Fraction(60000, 1001), Fraction(60), Fraction(15), Fraction(12), Fraction(10),
    Fraction(20),
]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    mode: str  # "remux" | "remux_audio" | "encode"
    reasons: tuple[str, ...]  # why the video is re-encoded (empty when copied)
    width: int  # output size as displayed
    height: int
    fps: Fraction | None  # constant output rate when encoding, None when copying
    audio: str  # "copy" | "aac" | "none"
    deinterlace: bool = False
    tonemap: bool = False  # HDR (PQ/HLG) to SDR BT.709


@dataclass(frozen=True)
class RenditionResult:
    mode: str
    path: Path
    duration_ms: int  # measured on the output
    width: int  # as displayed (after any rotation the player applies)
    height: int
    rotation: int  # display rotation left in the file (only a remux keeps one)
    fps: Fraction | None
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    size_bytes: int
    keyframe_interval_s: float | None
    elapsed_s: float


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def output_size(info: MediaInfo, max_height: int) -> tuple[int, int]:
    """Displayed size of an encoded rendition: the short side at most ``max_height``, even."""
    w, h = info.video.display_width, info.video.display_height
    short = min(w, h)
    if short > max_height:
        scale = max_height / short
        return _even(w * scale), _even(h * scale)
    return max(2, w - w % 2), max(2, h - h % 2)


def output_fps(info: MediaInfo) -> Fraction:
    """Constant output frame rate: the average rate, snapped to a standard one, at most 60."""
    fps = info.video.fps
    if fps is None or fps < 1:
        return Fraction(30)
    fps = min(fps, MAX_FPS)
    nearest = min(STANDARD_RATES, key=lambda std: abs(fps - std))
    if abs(fps - nearest) / nearest < Fraction(5, 1000):
        return nearest
    return fps.limit_denominator(1001)


def plan_rendition(info: MediaInfo, *, max_height: int = 1080) -> Plan:
    """Choose the cheapest way to a browser-safe MP4.

    ``max_height`` bounds the short side, so a 1080x1920 portrait phone clip
    counts as 1080p and is not re-encoded.
    """
    v = info.video
    reasons = []
    if v.codec != "h264":
        reasons.append(f"video codec {v.codec}")
    elif v.profile not in COPYABLE_PROFILES:
        reasons.append(f"H.264 profile {v.profile}")
    if v.pix_fmt != "yuv420p":
        reasons.append(f"pixel format {v.pix_fmt}")
    if min(v.display_width, v.display_height) > max_height:
        reasons.append(f"larger than {max_height}p")
    if v.is_vfr:
        reasons.append("variable frame rate")
    if v.interlaced:
        reasons.append("interlaced")
    if v.hdr:
        reasons.append("HDR")
    if not any(name in info.format_name.split(",") for name in COPYABLE_FORMATS):
        reasons.append(f"container {info.format_name}")
    if reasons:
        width, height = output_size(info, max_height)
        return Plan(
            mode="encode",
            reasons=tuple(reasons),
            width=width,
            height=height,
            fps=output_fps(info),
            audio="aac" if info.has_audio else "none",
            deinterlace=v.interlaced,
            tonemap=v.hdr,
        )
    audio = "none" if info.audio is None else "copy" if info.audio.codec == "aac" else "aac"
    return Plan(
        mode="remux" if audio != "aac" else "remux_audio",
        reasons=(),
        width=v.display_width,
        height=v.display_height,
        fps=None,
        audio=audio,
    )


def _fraction_arg(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def build_args(src: Path, tmp: Path, info: MediaInfo, plan: Plan, *, preset: str, crf: int) -> list[str]:
    """The ffmpeg argument list for ``plan`` (written to ``tmp``)."""
    args: list[str] = [*ffmpeg_input(src), "-map", f"0:{info.video.index}"]
    if plan.audio != "none" and info.audio is not None:
        args += ["-map", f"0:{info.audio.index}"]
    # No subtitles/data/attachments, and no container metadata (phones store GPS there).
    args += ["-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1"]
    if plan.mode == "encode":
        fps = plan.fps or Fraction(30)
        filters = ["bwdif=mode=send_frame"] if plan.deinterlace else []
        if plan.tonemap:
            filters += TONEMAP
        # ffmpeg has already turned a rotated input upright before these filters.
        filters += [f"scale={plan.width}:{plan.height}", "setsar=1", "format=yuv420p"]
        args += [
            "-vf", ",".join(filters),
            "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-fps_mode", "cfr", "-r", _fraction_arg(fps),
            "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
            "-metadata:s:v:0", "rotate=0",
        ]  # fmt: skip
    else:
        args += ["-c:v", "copy"]
    if plan.audio == "copy":
        args += ["-c:a", "copy"]
    elif plan.audio == "aac":
        args += ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
    else:
        args += ["-an"]
    args += ["-movflags", "+faststart", "-f", "mp4", os.path.abspath(tmp)]
    return ffmpeg_cmd(*args)


def default_timeout_s(info: MediaInfo, mode: str) -> float:
    seconds = (info.duration_ms or 3_600_000) / 1000.0
    return 120.0 + (4.0 if mode == "encode" else 1.0) * seconds


def make_rendition(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    info: MediaInfo,
    plan: Plan,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
    timeout_s: float | None = None,
    preset: str = "veryfast",
    crf: int = 23,
) -> RenditionResult:
    """Write the rendition to ``dst`` (atomically) and describe what was written.

    If a stream copy is refused by ffmpeg, the video is encoded instead; the
    result's ``mode`` says what was done.
    """
    src, dst = Path(src), Path(dst)
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.part")
    started = time.monotonic()
    try:
        try:
            _transcode(src, tmp, info, plan, progress, cancel, timeout_s, preset, crf)
        except MediaError as err:
            if plan.mode == "encode" or err.code != "ffmpeg_failed":
                raise
            log.warning("stream copy of %s failed, encoding instead: %s", src, err.stderr[-500:])
            width, height = output_size(info, min(plan.width, plan.height))
            plan = replace(
                plan, mode="encode", reasons=("stream copy failed",), fps=output_fps(info),
                audio="aac" if plan.audio != "none" else "none", width=width, height=height,
            )  # fmt: skip
            _transcode(src, tmp, info, plan, progress, cancel, timeout_s, preset, crf)
        out = probe(tmp, max_size=(65536, 65536), max_pixels=2**62)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    v = out.video
    return RenditionResult(
        mode=plan.mode,
        path=dst,
        duration_ms=out.duration_ms or 0,
        width=v.display_width,
        height=v.display_height,
        rotation=v.rotation,
        fps=v.fps,
        has_audio=out.has_audio,
        video_codec=v.codec,
        audio_codec=out.audio.codec if out.audio else None,
        size_bytes=dst.stat().st_size,
        keyframe_interval_s=v.keyframe_interval_s,
        elapsed_s=time.monotonic() - started,
    )


def _transcode(src, tmp, info, plan, progress, cancel, timeout_s, preset, crf) -> None:
    argv = build_args(src, tmp, info, plan, preset=preset, crf=crf)
    run(
        argv,
        timeout_s=timeout_s or default_timeout_s(info, plan.mode),
        progress=progress,
        duration_ms=info.duration_ms,
        cancel=cancel,
    )
