"""What cutting and joining clips needs to know about a video, read cheaply.

:class:`SourceVideo` is the first video stream of a file (codec, size, frame rate, time base, the H.264
decoder configuration ``avcC`` read from the MP4 boxes) and its sound's format; :func:`probe_cut` gets it
together with the packet headers of a few time intervals in one ffprobe run.  A clip's
:class:`SourceVideo` can be kept as JSON (:func:`source_video_to_dict`) so a reel need not probe it again.
Also the small helpers every writer here shares: ffmpeg time strings, temporary names next to the
destination, and measuring a file we wrote.
"""

from __future__ import annotations

import base64
import math
import os
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .probe import mp4_top_level_boxes
from .run import MediaError, ffprobe_json

__all__ = [
    "Packet",
    "SourceVideo",
    "ff_seconds",
    "measure",
    "mp4_avcc",
    "probe_cut",
    "seconds_up",
    "source_video",
    "source_video_from_dict",
    "source_video_to_dict",
    "tmp_next_to",
]


# --- what we need to know about the source ------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    pts: int  # in the stream's time base
    dts: int
    key: bool


@dataclass(frozen=True)
class SourceVideo:
    path: Path
    codec: str
    profile: str | None
    level: int | None
    pix_fmt: str | None
    width: int
    height: int
    time_base: Fraction
    fps: Fraction
    has_b_frames: int
    extradata: bytes
    duration_ms: int
    has_audio: bool
    field_order: str | None
    audio_codec: str | None = None
    audio_format: tuple | None = None  # (codec, sample rate, channels)

    @property
    def frame_ticks(self) -> int:
        """One frame's duration in time-base ticks (rounded)."""
        return max(1, round(1 / (self.fps * self.time_base)))

    def ms(self, ticks: int) -> float:
        return float(ticks * self.time_base * 1000)

    def ticks(self, ms: float) -> int:
        return math.floor(Fraction(ms) / 1000 / self.time_base)


def _fraction(value: str | None) -> Fraction | None:
    try:
        result = Fraction(value or "")
    except (ValueError, ZeroDivisionError):
        return None
    return result if result > 0 else None


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _children(fh, start: int, end: int):
    offset = start
    while offset + 8 <= end:
        fh.seek(offset)
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", fh.read(8))[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def mp4_avcc(path: str | os.PathLike[str]) -> bytes:
    """The H.264 decoder configuration (``avcC``: SPS and PPS) of the first video track of an MP4, or b""."""
    boxes, _ = mp4_top_level_boxes(path)
    moov = next(((offset, size) for kind, offset, size in boxes if kind == b"moov"), None)
    if moov is None:
        return b""
    with open(path, "rb") as fh:
        def walk(start: int, end: int) -> bytes:
            for kind, body, stop in _children(fh, start, end):
                if kind in _CONTAINERS:
                    found = walk(body, stop)
                    if found:
                        return found
                elif kind == b"stsd":  # version/flags, entry count, then sample entries
                    for entry, entry_body, entry_stop in _children(fh, body + 8, stop):
                        if entry in (b"avc1", b"avc3"):  # 78 bytes of visual sample entry fields
                            for child, child_body, child_stop in _children(fh, entry_body + 78, entry_stop):
                                if child == b"avcC":
                                    fh.seek(child_body)
                                    return fh.read(child_stop - child_body)
            return b""

        return walk(moov[0] + 8, moov[0] + moov[1])


def probe_cut(src: Path, intervals: Sequence[tuple[float, float]], timeout_s: float, *, avcc: bool = True
               ) -> tuple[SourceVideo, list[Packet]]:
    """The source's video stream and its packets in ``intervals`` (seconds; each read from the keyframe
    before its start), in one ffprobe run."""
    spec = ",".join(f"{max(0.0, a):.6f}%{b:.6f}" for a, b in intervals)
    fields = ("packet=stream_index,pts,dts,flags:stream=index,codec_type,codec_name,profile,level,pix_fmt,"
              "width,height,time_base,avg_frame_rate,r_frame_rate,has_b_frames,duration,field_order,sample_rate,"
              "channels:stream_disposition=attached_pic:format=duration")
    args = ["-show_entries", fields] + (["-read_intervals", spec] if intervals else [])
    data = ffprobe_json(src, timeout_s, *args)
    streams = data.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise MediaError("This file has no video to cut.", code="no_video")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format") or {}
    durations = [float(x) for x in (fmt.get("duration"), video.get("duration")) if x not in (None, "N/A")]
    fps = _fraction(video.get("avg_frame_rate")) or _fraction(video.get("r_frame_rate")) or Fraction(30)
    level = str(video.get("level", ""))
    source = SourceVideo(
        path=src,
        codec=video.get("codec_name") or "",
        profile=video.get("profile"),
        level=int(level) if level.isdigit() else None,
        pix_fmt=video.get("pix_fmt"),
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        time_base=_fraction(video.get("time_base")) or Fraction(1, 90000),
        fps=fps,
        has_b_frames=int(video.get("has_b_frames") or 0),
        extradata=mp4_avcc(src) if avcc and video.get("codec_name") == "h264" else b"",
        duration_ms=round(max(durations) * 1000) if durations else 0,
        has_audio=audio is not None,
        field_order=video.get("field_order"),
        audio_codec=audio.get("codec_name") if audio else None,
        audio_format=(audio.get("codec_name"), audio.get("sample_rate"), audio.get("channels")) if audio else None,
    )
    seen: dict[int, Packet] = {}
    for item in data.get("packets") or []:
        if item.get("stream_index") != video.get("index") or item.get("pts") is None:
            continue
        pts = int(item["pts"])
        dts = int(item["dts"]) if item.get("dts") is not None else pts
        seen[pts] = Packet(pts=pts, dts=dts, key="K" in (item.get("flags") or ""))
    return source, sorted(seen.values(), key=lambda p: p.pts)


def source_video_to_dict(video: SourceVideo) -> dict:
    """``video`` as JSON-safe data, to keep next to a clip so a reel need not probe it again."""
    data = {name: getattr(video, name) for name in SourceVideo.__dataclass_fields__ if name != "path"}
    data.update(time_base=str(video.time_base), fps=str(video.fps),
                extradata=base64.b64encode(video.extradata).decode("ascii"),
                audio_format=list(video.audio_format) if video.audio_format else None)
    return data


def source_video_from_dict(data: dict, path: str | os.PathLike[str]) -> SourceVideo | None:
    """The :class:`SourceVideo` saved by :func:`source_video_to_dict`, for the file now at ``path``;
    None when the data is not usable (then the caller probes)."""
    try:
        fields = dict(data)
        fields.update(path=Path(path), time_base=Fraction(fields["time_base"]), fps=Fraction(fields["fps"]),
                      extradata=base64.b64decode(fields["extradata"]),
                      audio_format=tuple(fields["audio_format"]) if fields.get("audio_format") else None)
        return SourceVideo(**{name: fields[name] for name in SourceVideo.__dataclass_fields__})
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


def source_video(src: str | os.PathLike[str], *, timeout_s: float = 30.0) -> SourceVideo:
    """The first video stream of ``src`` as the cutting code needs it (with its ``avcC`` when H.264 in MP4)."""
    return probe_cut(Path(src), (), timeout_s)[0]



def tmp_next_to(dst: Path) -> Path:
    return dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}{dst.suffix}")


def ff_seconds(value: Fraction | float) -> str:
    """Seconds for ffmpeg, rounded down to the microsecond (so a seek never lands past a frame)."""
    micro = math.floor(Fraction(value) * 1_000_000)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def seconds_up(value: Fraction | float) -> str:
    micro = math.ceil(Fraction(value) * 1_000_000)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"



def measure(path: Path, timeout_s: float) -> tuple[int, int, bool]:
    """(duration in ms, video frames, has audio) of a file we wrote."""
    data = ffprobe_json(path, timeout_s, "-show_entries",
                        "stream=codec_type,duration,nb_frames:format=duration")
    streams = data.get("streams") or []
    durations = [float(s["duration"]) for s in streams if s.get("duration") not in (None, "N/A")]
    fmt = (data.get("format") or {}).get("duration")
    if fmt not in (None, "N/A"):
        durations.append(float(fmt))
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    frames = str(video.get("nb_frames", "0"))
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    return (round(max(durations) * 1000) if durations else 0), int(frames) if frames.isdigit() else 0, has_audio

