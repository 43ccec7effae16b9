"""What is in an uploaded file: decided by content (ffprobe), never by extension."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .run import MediaError, ffprobe_json

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIZE",
    "AudioInfo",
    "MediaInfo",
    "VideoInfo",
    "mp4_top_level_boxes",
    "probe",
]

DEFAULT_MAX_SIZE = (8192, 8192)
DEFAULT_MAX_PIXELS = 8192 * 4320
KEYFRAME_SCAN_S = 60

NOT_MEDIA = "This file is not a video we can read."
STILL_IMAGE = "This file is a still image, not a video. Please upload a video recording."
NO_VIDEO = "This file has audio but no video."
TRUNCATED_MOOV = "The upload is incomplete: the file ends before its index (moov) was written."
TRUNCATED_DATA = "The upload is incomplete: the file ends before all of its video data."

IMAGE_CODECS = {
    "png", "apng", "mjpeg", "jpegls", "bmp", "gif", "webp", "tiff", "jpeg2000", "ppm", "pgm", "pgmyuv",
    "pbm", "pam", "targa", "qoi", "jpegxl", "pcx", "sgi", "sunrast", "xbm", "xwd", "dpx", "exr", "hdr",
    "photocd", "psd", "ljpeg",
}  # fmt: skip
TEXT_FORMATS = {"tty", "bin", "xbin", "adf", "idf", "srt", "ass", "webvtt", "subviewer", "microdvd"}
HDR_TRANSFERS = {"smpte2084", "arib-std-b67"}
MP4_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp", b"junk"}


@dataclass(frozen=True)
class VideoInfo:
    index: int  # absolute stream index in the file
    codec: str
    profile: str | None
    pix_fmt: str | None
    width: int  # as stored (before rotation)
    height: int
    rotation: int  # clockwise degrees a player turns the picture: 0, 90, 180 or 270
    display_width: int  # as shown: after rotation and sample aspect ratio
    display_height: int
    fps: Fraction | None
    is_vfr: bool
    keyframe_interval_s: float | None  # largest keyframe gap seen in the first minute
    interlaced: bool
    sample_aspect_ratio: Fraction
    color_transfer: str | None = None
    hdr: bool = False  # PQ or HLG transfer: needs tone mapping for SDR screens


@dataclass(frozen=True)
class AudioInfo:
    index: int
    codec: str
    profile: str | None
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    format_name: str
    duration_ms: int | None  # largest of container and stream claims; not verified
    size_bytes: int
    bit_rate: int | None
    video: VideoInfo
    audio: AudioInfo | None
    has_audio: bool


def _num(value, kind=float):
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _rate(value: str | None) -> Fraction | None:
    try:
        rate = Fraction(value or "")
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


Box = tuple[bytes, int, int]


def mp4_top_level_boxes(path: str | os.PathLike[str], limit: int = 4096) -> tuple[list[Box], bool]:
    """Top-level ISO-BMFF boxes as (type, offset, size) and whether the last one overruns EOF."""
    boxes: list[Box] = []
    size_total = os.path.getsize(path)
    with open(path, "rb") as fh:
        offset = 0
        while offset + 8 <= size_total and len(boxes) < limit:
            fh.seek(offset)
            size, kind = struct.unpack(">I4s", fh.read(8))
            if size == 1:
                raw = fh.read(8)
                if len(raw) < 8:
                    return boxes, True
                size = struct.unpack(">Q", raw)[0]
            elif size == 0:
                size = size_total - offset
            if size < 8:
                break
            boxes.append((kind, offset, size))
            if offset + size > size_total:
                return boxes, True
            offset += size
    return boxes, False


def _classify_unreadable(path: Path, err: MediaError) -> MediaError:
    boxes, _ = mp4_top_level_boxes(path, limit=64)
    kinds = [kind for kind, _, _ in boxes]
    if kinds and kinds[0] in MP4_BOXES and b"moov" not in kinds:
        return MediaError(TRUNCATED_MOOV, code="truncated", stderr=err.stderr)
    return MediaError(NOT_MEDIA, code="not_media", stderr=err.stderr)


def _rotation(stream: dict) -> int:
    degrees = 0.0
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            # ffprobe reports the display matrix angle counter-clockwise.
            degrees = -float(side["rotation"])
            break
    else:
        tag = _num((stream.get("tags") or {}).get("rotate"))
        degrees = tag or 0.0  # the legacy tag is clockwise already
    return int(round(degrees / 90.0)) * 90 % 360


def _scan_args() -> list[str]:
    """ffprobe options that add the first minute's packets (of every stream) to the probe's own run."""
    return ["-read_intervals", f"%+{KEYFRAME_SCAN_S}", "-show_entries", "packet=stream_index,pts_time,dts_time,flags"]


def _keyframe_interval(packets: list[dict], index: int) -> float | None:
    """The largest gap between keyframes of stream ``index`` among ``packets`` (ffprobe's, of the first minute)."""
    times: list[float] = []
    last_time = None
    for packet in packets:
        if packet.get("stream_index") != index:
            continue
        t = _num(packet.get("pts_time"))
        if t is None:
            t = _num(packet.get("dts_time"))
        if t is None:
            continue
        last_time = t if last_time is None else max(last_time, t)
        if "K" in (packet.get("flags") or ""):
            times.append(t)
    if not times or last_time is None:
        return None
    times.sort()
    # The stretch after the last keyframe counts too: at the end of the scan
    # window it is a lower bound for the next gap.
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)] + [last_time - times[-1]]
    interval = round(max(gaps), 3)
    return interval if interval > 0 else None


def _check_size(width: int, height: int, max_size: tuple[int, int], max_pixels: int) -> None:
    mw, mh = max_size
    if max(width, height) > max(mw, mh) or min(width, height) > min(mw, mh):
        raise MediaError(
            f"The video is too large: {width}x{height} exceeds the {mw}x{mh} limit.", code="too_large"
        )
    if width * height > max_pixels:
        raise MediaError(
            f"The video is too large: {width}x{height} exceeds the limit of {max_pixels} pixels per frame.",
            code="too_large",
        )


def probe(
    path: str | os.PathLike[str],
    *,
    max_size: tuple[int, int] = DEFAULT_MAX_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    keyframes: bool = True,
    timeout_s: float = 30.0,
) -> MediaInfo:
    """Describe ``path`` or raise :class:`MediaError` saying why it is not a usable video."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MediaError("The uploaded file could not be found.", code="missing", stderr=str(exc)) from exc
    if size == 0:
        raise MediaError("This file is empty.", code="not_media")
    try:
        # One run: streams and format, and (for the keyframe spacing) the packets of the first minute.
        data = ffprobe_json(path, timeout_s, "-show_format", "-show_streams", *(_scan_args() if keyframes else []))
    except MediaError as err:
        if err.code != "ffmpeg_failed":
            raise
        raise _classify_unreadable(path, err) from None

    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    format_name = fmt.get("format_name") or ""
    if format_name in TEXT_FORMATS or not streams:
        raise MediaError(NOT_MEDIA, code="not_media")
    videos = [
        s for s in streams
        if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")
    ]  # fmt: skip
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    if not videos:
        raise MediaError(NO_VIDEO, code="no_video") if audios else MediaError(NOT_MEDIA, code="not_media")
    v = videos[0]
    codec = v.get("codec_name") or ""
    frames = _num(v.get("nb_frames"), int)
    durations = [_num(fmt.get("duration")), _num(v.get("duration"))]
    if audios:
        durations.append(_num(audios[0].get("duration")))
    known = [d for d in durations if d is not None and d > 0]
    duration_ms = round(max(known) * 1000) if known else None
    # image2 / png_pipe / jpeg_pipe ...: a picture; a one-frame GIF or MJPEG is a picture too.
    is_image = format_name == "image2" or format_name.endswith("_pipe")
    single_frame = duration_ms is None or (frames is not None and frames <= 1)
    is_image = is_image or (codec in IMAGE_CODECS and single_frame)
    if is_image and not audios:
        raise MediaError(STILL_IMAGE, code="not_media")
    if not codec or codec == "none":
        raise MediaError("This video uses a format we cannot decode.", code="not_media")
    width, height = _num(v.get("width"), int) or 0, _num(v.get("height"), int) or 0
    if width <= 0 or height <= 0:
        raise MediaError(NOT_MEDIA, code="not_media")
    _check_size(width, height, max_size, max_pixels)
    if "mp4" in format_name or "mov" in format_name:
        boxes, overrun = mp4_top_level_boxes(path)
        if overrun and boxes[-1][0] in MP4_BOXES:  # a real box cut short, not trailing junk
            raise MediaError(TRUNCATED_DATA, code="truncated")

    rotation = _rotation(v)
    sar = _rate(v.get("sample_aspect_ratio")) or Fraction(1)
    shown_w, shown_h = max(1, round(width * sar)), height
    if rotation in (90, 270):
        shown_w, shown_h = shown_h, shown_w
    avg, real = _rate(v.get("avg_frame_rate")), _rate(v.get("r_frame_rate"))
    fps = avg or (real if real and real <= 240 else None)
    # Timestamps far from a steady rate (or no usable rate at all).
    is_vfr = abs(real - avg) / avg > Fraction(5, 100) if avg and real else fps is None
    interlaced = (v.get("field_order") or "progressive") not in ("progressive", "unknown")
    kf = _keyframe_interval(data.get("packets") or [], int(v["index"])) if keyframes else None
    video = VideoInfo(
        index=int(v["index"]),
        codec=codec,
        profile=v.get("profile"),
        pix_fmt=v.get("pix_fmt"),
        width=width,
        height=height,
        rotation=rotation,
        display_width=shown_w,
        display_height=shown_h,
        fps=fps,
        is_vfr=is_vfr,
        keyframe_interval_s=kf,
        interlaced=interlaced,
        sample_aspect_ratio=sar,
        color_transfer=v.get("color_transfer"),
        hdr=v.get("color_transfer") in HDR_TRANSFERS,
    )
    audio = None
    if audios:
        a = audios[0]
        audio = AudioInfo(
            index=int(a["index"]),
            codec=a.get("codec_name") or "",
            profile=a.get("profile"),
            sample_rate=_num(a.get("sample_rate"), int),
            channels=_num(a.get("channels"), int),
        )
    return MediaInfo(
        path=path,
        format_name=format_name,
        duration_ms=duration_ms,
        size_bytes=size,
        bit_rate=_num(fmt.get("bit_rate"), int),
        video=video,
        audio=audio,
        has_audio=audio is not None,
    )
