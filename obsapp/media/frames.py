"""Still frames: exact frame grabs, the poster, and the seek-bar thumbnail sprite."""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .probe import MediaInfo, probe
from .run import Cancel, MediaError, RemoteInput, ffmpeg_cmd, ffmpeg_input, ffprobe_bin, ffprobe_json, run, safe_input
from .transcode import RenditionResult

__all__ = [
    "SpriteResult",
    "frame_at",
    "jpeg_size",
    "poster",
    "sprite_interval_s",
    "thumbnail_sprite",
    "vtt_timestamp",
]

JPEG_Q = "3"
POSTER_MAX_WIDTH = 1280
TILE_WIDTH = 160
SPRITE_COLUMNS = 10
SPRITE_ROWS = 10


@dataclass(frozen=True)
class SpriteResult:
    vtt_path: Path
    images: tuple[Path, ...]  # sprite-0.jpg, sprite-1.jpg, ...
    interval_s: int
    tile_width: int
    tile_height: int
    columns: int
    rows: int
    tile_count: int
    keyframes_only: bool


def _tmp_next_to(dst: Path) -> Path:
    return dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}{dst.suffix}")


def _seconds(ms: float) -> str:
    return f"{ms / 1000.0:.6f}"


def _rate(value: object) -> Fraction | None:
    try:
        rate = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def _duration_and_fps(src: Path | RemoteInput, timeout_s: float) -> tuple[int | None, Fraction | None]:
    if isinstance(src, RemoteInput):  # a rendition we made: its container's header is enough
        data = ffprobe_json(src, timeout_s, "-select_streams", "v:0", "-show_entries",
                            "format=duration:stream=avg_frame_rate,r_frame_rate")
        streams = data.get("streams") or [{}]
        duration = None
        with contextlib.suppress(TypeError, ValueError):
            duration = round(float((data.get("format") or {}).get("duration")) * 1000)
        return duration, _rate(streams[0].get("avg_frame_rate")) or _rate(streams[0].get("r_frame_rate"))
    info = probe(src, keyframes=False, max_size=(65536, 65536), max_pixels=2**62, timeout_s=timeout_s)
    return info.duration_ms, info.video.fps


def _last_frame_ms(src: Path | RemoteInput, timeout_s: float) -> float | None:
    """Start of the last video frame, from the packets (slow-ish: reads the whole file)."""
    argv = [
        ffprobe_bin(), "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
        "-of", "csv=p=0", *safe_input(src),
    ]  # fmt: skip
    times = []
    for line in run(argv, timeout_s=timeout_s).stdout.decode("ascii", "replace").split():
        with contextlib.suppress(ValueError):
            times.append(float(line.strip(",")))
    return max(times) * 1000.0 if times else None


def _grab(src: Path | RemoteInput, out: Path, before: list[str], vf: list[str], after: list[str], timeout_s, cancel):
    out.unlink(missing_ok=True)
    argv = ffmpeg_cmd(
        *before, *ffmpeg_input(src), "-map", "0:v:0", "-an", "-sn", "-dn",
        *(["-vf", ",".join(vf)] if vf else []), *after,
        "-q:v", JPEG_Q, "-pix_fmt", "yuvj420p", "-update", "1", "-f", "image2", os.path.abspath(out),
    )  # fmt: skip
    run(argv, timeout_s=timeout_s, cancel=cancel)
    return out.exists() and out.stat().st_size > 0


def frame_at(
    src: str | os.PathLike[str] | RemoteInput,
    t_ms: int,
    dst: str | os.PathLike[str],
    *,
    width: int | None = None,
    duration_ms: int | None = None,
    fps: Fraction | None = None,
    timeout_s: float = 30.0,
    cancel: Cancel | None = None,
) -> Path:
    """Write the frame on screen at ``t_ms`` (the last frame starting at or before it) as a JPEG.

    Seeks on the input (``-ss`` before ``-i``) to just before ``t_ms`` and lets
    ffmpeg decode only the frames of that short window; ``-update 1`` keeps
    the last one.  ``t_ms`` is clamped to the video.  Pass ``duration_ms`` and
    ``fps`` when known to save a probe.  ``width`` scales (even height, aspect kept).
    ``src`` may be a :class:`RemoteInput`: ffmpeg then reads the index and that window by HTTP ranges.
    """
    src = src if isinstance(src, RemoteInput) else Path(src)
    dst = Path(dst)
    if duration_ms is None or fps is None:
        probed_duration, probed_fps = _duration_and_fps(src, timeout_s)
        duration_ms = duration_ms if duration_ms is not None else probed_duration
        fps = fps or probed_fps
    t = max(0, int(t_ms))
    if duration_ms:
        t = min(t, max(0, duration_ms - 1))
    # Long enough to contain the frame showing at t even if frame times wobble.
    window_ms = max(100.0, 2500.0 / float(fps)) if fps else 250.0
    start = max(0.0, t - window_ms)
    scale = [f"scale={int(width)}:-2"] if width else []
    tmp = _tmp_next_to(dst)

    def window(start: float, t: float) -> bool:
        # Frames from start up to just after t pass; the last one written stays.
        trim = [f"trim=end={(t - start + 0.1) / 1000.0:.6f}"]
        return _grab(src, tmp, ["-ss", _seconds(start)], trim + scale, [], timeout_s, cancel)

    try:
        ok = window(start, t)
        if not ok:  # nothing starts before t (first frame is late): take the next one
            ok = _grab(src, tmp, ["-ss", _seconds(t)], scale, ["-frames:v", "1"], timeout_s, cancel)
        if not ok:  # t is past the real end (the container's duration lied): take the last frame
            last = _last_frame_ms(src, timeout_s)
            ok = last is not None and window(max(0.0, last - window_ms), last)
        if not ok:
            raise MediaError("No picture could be taken from this video.", code="no_frame")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def poster(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    info: MediaInfo | RenditionResult,
    *,
    timeout_s: float = 60.0,
    cancel: Cancel | None = None,
) -> Path:
    """The poster frame: at 10 % of the video or 5 s, whichever is earlier; at most 1280 px wide."""
    if isinstance(info, MediaInfo):
        duration, fps, shown_width = info.duration_ms, info.video.fps, info.video.display_width
    else:
        duration, fps, shown_width = info.duration_ms, info.fps, info.width
    t = min((duration or 0) // 10, 5000)
    width = POSTER_MAX_WIDTH if shown_width > POSTER_MAX_WIDTH else None
    return frame_at(
        src, t, dst, width=width, duration_ms=duration, fps=fps, timeout_s=timeout_s, cancel=cancel
    )


def sprite_interval_s(duration_ms: int) -> int:
    """Seconds per thumbnail: 1 s under 2 min, 2 s under 10 min, else 5 s."""
    if duration_ms < 120_000:
        return 1
    if duration_ms < 600_000:
        return 2
    return 5


def vtt_timestamp(ms: int) -> str:
    hours, rest = divmod(int(ms), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def jpeg_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    data = Path(path).read_bytes()
    if data[:2] != b"\xff\xd8":
        raise ValueError(f"{path} is not a JPEG")
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise ValueError(f"{path}: no JPEG frame header")


def thumbnail_sprite(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    duration_ms: int,
    *,
    keyframe_interval_s: float | None = None,
    display_size: tuple[int, int] | None = None,
    timeout_s: float | None = None,
    cancel: Cancel | None = None,
    extra_output: Sequence[str] = (),
    on_stdout: Callable[[bytes], None] | None = None,
) -> SpriteResult:
    """Seek-bar previews: ``sprite-N.jpg`` grids of 10x10 tiles plus ``thumbnails.vtt``.

    ``duration_ms`` should be the measured duration (the cues cover exactly
    0..duration).  When ``keyframe_interval_s`` is at most one tile interval,
    only keyframes are decoded (``-skip_frame:v nokey``), which is several times
    faster; otherwise every frame is decoded.  ``extra_output`` (options and
    target) is one more output of the same ffmpeg run, such as the waveform's
    PCM on stdout, which goes to ``on_stdout``: the file is then read once.
    """
    src, out_dir = Path(src), Path(out_dir)
    if duration_ms <= 0:
        raise MediaError("This video has no length.", code="no_duration")
    if display_size is None:
        info = probe(src, keyframes=False, max_size=(65536, 65536), max_pixels=2**62)
        display_size = (info.video.display_width, info.video.display_height)
    shown_w, shown_h = display_size
    interval = sprite_interval_s(duration_ms)
    tile_w = TILE_WIDTH
    tile_h = max(2, int(round(TILE_WIDTH * shown_h / shown_w / 2.0)) * 2)
    count = math.ceil(duration_ms / (interval * 1000))
    keyframes_only = keyframe_interval_s is not None and keyframe_interval_s <= interval + 0.05
    per_image = SPRITE_COLUMNS * SPRITE_ROWS
    images_expected = math.ceil(count / per_image)

    stage = out_dir / f".sprite-{secrets.token_hex(4)}"
    stage.mkdir(parents=True)
    try:
        filters = [
            # Repeat the last picture so there is a frame for every tick up to the end,
            f"tpad=stop_mode=clone:stop_duration={2 * interval}",
            # take the picture showing at each tick,
            f"fps=fps=1/{interval}:round=up",
            # exactly one per cue,
            f"trim=end_frame={count}",
            f"scale={tile_w}:{tile_h}",
            f"tile={SPRITE_COLUMNS}x{SPRITE_ROWS}",
        ]
        argv = ffmpeg_cmd(
            *(["-skip_frame:v", "nokey"] if keyframes_only else []),  # the video decoder's only
            *ffmpeg_input(src), "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", ",".join(filters),
            "-q:v", "5", "-pix_fmt", "yuvj420p", "-start_number", "0", "-f", "image2",
            os.path.abspath(stage / "sprite-%d.jpg"), *extra_output,
        )  # fmt: skip
        limit = timeout_s or 120.0 + duration_ms / 1000.0
        run(argv, timeout_s=limit, cancel=cancel, on_stdout=on_stdout)
        produced = sorted(stage.glob("sprite-*.jpg"), key=lambda p: int(p.stem.split("-")[1]))
        if len(produced) != images_expected:
            raise MediaError(
                "The preview thumbnails could not be made.",
                code="ffmpeg_failed",
                stderr=f"expected {images_expected} sprite images, ffmpeg wrote {len(produced)}",
            )
        # Lay the cues out on the grid ffmpeg actually wrote.
        img_w, img_h = jpeg_size(produced[0])
        columns, rows = img_w // tile_w, img_h // tile_h
        if columns * rows < per_image or any(jpeg_size(p) != (img_w, img_h) for p in produced[1:]):
            raise MediaError(
                "The preview thumbnails could not be made.",
                code="ffmpeg_failed",
                stderr=f"unexpected sprite size {img_w}x{img_h} for {tile_w}x{tile_h} tiles",
            )
        lines = ["WEBVTT", ""]
        for k in range(count):
            image, slot = divmod(k, per_image)
            row, col = divmod(slot, SPRITE_COLUMNS)
            begin = k * interval * 1000
            end = min((k + 1) * interval * 1000, duration_ms)
            lines += [
                f"{vtt_timestamp(begin)} --> {vtt_timestamp(end)}",
                f"sprite-{image}.jpg#xywh={col * tile_w},{row * tile_h},{tile_w},{tile_h}",
                "",
            ]
        (stage / "thumbnails.vtt").write_text("\n".join(lines), encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        final = []
        for path in produced:
            os.replace(path, out_dir / path.name)
            final.append(out_dir / path.name)
        vtt = out_dir / "thumbnails.vtt"
        os.replace(stage / "thumbnails.vtt", vtt)
    finally:
        for leftover in stage.glob("*"):
            leftover.unlink(missing_ok=True)
        stage.rmdir()
    return SpriteResult(
        vtt_path=vtt,
        images=tuple(final),
        interval_s=interval,
        tile_width=tile_w,
        tile_height=tile_h,
        columns=SPRITE_COLUMNS,
        rows=SPRITE_ROWS,
        tile_count=count,
        keyframes_only=keyframes_only,
    )
