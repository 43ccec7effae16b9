"""Clips of a lesson rendition: fast and frame-accurate cuts, captions, thumbnails, reels with chapters.

* :func:`cut_fast` copies the streams from the keyframe at or before the start (no decoding at all).
* :func:`cut_accurate` starts and ends on the asked frames with a "smart cut": only the partial group
  of pictures at the start (up to the next keyframe) and at the end (from the last keyframe) are
  re-encoded, with the x264 settings the source was made with (read from the encoder's SEI message),
  and the whole groups between them are stream-copied; the three parts are joined with the concat
  demuxer.  When the re-encoded parts' parameter sets (SPS/PPS, the MP4 ``avcC``) do not equal the
  source's byte for byte, the span is re-encoded instead.  Audio is always re-encoded (AAC) for the
  exact span, so it stays in sync.
* :func:`add_captions` / :func:`write_webvtt`: a ``mov_text`` subtitle track and a WebVTT sidecar.
* :func:`concat_reel`: clips joined in order with one chapter per clip; stream copy when every clip has
  the same format, otherwise normalised to one size, frame rate and audio format.

Every MP4 written here has its ``moov`` first (``+faststart``).  Times are integer milliseconds on the
source's timeline unless said otherwise.
"""

from __future__ import annotations

import base64
import math
import os
import re
import secrets
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from .frames import frame_at
from .probe import mp4_top_level_boxes
from .run import SAFE_DEMUXERS, Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, ffprobe_json, run

__all__ = [
    "Caption",
    "ClipResult",
    "FrameSpan",
    "ReelChapter",
    "ReelResult",
    "SourceVideo",
    "add_captions",
    "caption_text",
    "concat_reel",
    "cut_accurate",
    "cut_fast",
    "encode_span",
    "frame_span",
    "source_video",
    "thumbnail",
    "write_webvtt",
    "x264_settings",
]

AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ac", "2", "-ar", "48000"]
FALLBACK_X264 = ["-preset", "veryfast", "-crf", "23", "-profile:v", "high"]  # the rendition's own settings
KEYFRAME_INTERVAL_S = 2
SEI_MARKER = b"x264 - core "
PROBE_WINDOW_S = 12.0
REORDER_MARGIN_S = 1.0  # read past the end: with B-frames the last frames come after later ones in the file


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


def _cut_probe(src: Path, intervals: Sequence[tuple[float, float]], timeout_s: float, *, avcc: bool = True
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
    return _cut_probe(Path(src), (), timeout_s)[0]


# --- the x264 settings a source was made with ---------------------------------------------------

# x264 option (as printed in its SEI) -> x264 parameter name; only what shapes the bitstream's
# headers and structure.  Speed-only options (me, subme, trellis...) are chosen by us, see below.
_STRUCTURAL = {
    "cabac": "cabac", "ref": "ref", "8x8dct": "8x8dct", "bframes": "bframes", "weightb": "weightb",
    "weightp": "weightp", "open_gop": "open-gop", "constrained_intra": "constrained-intra",
    "bluray_compat": "bluray-compat", "chroma_qp_offset": "chroma-qp-offset", "keyint_min": "min-keyint",
    "stitchable": "stitchable",
}  # fmt: skip
_PYRAMID = {"0": "none", "1": "strict", "2": "normal"}


def _sei_options(blob: bytes) -> dict[str, str] | None:
    at = blob.find(SEI_MARKER)
    if at < 0:
        return None
    text = blob[at:at + 4096].split(b"\x00")[0].split(b"\x80")[0].decode("ascii", "replace")
    _, _, options = text.partition("options: ")
    pairs = {}
    for item in options.split():
        key, sep, value = item.partition("=")
        if sep:
            pairs[key] = value
    return pairs or None


def x264_options(src: str | os.PathLike[str], *, timeout_s: float = 30.0) -> dict[str, str] | None:
    """The options x264 printed into the first frame of ``src`` (its SEI message), or None if not x264.

    In an MP4 the first frame sits near the start of ``mdat``, so its first megabyte is searched; other
    files have their first video packet extracted by ffmpeg.
    """
    boxes, _ = mp4_top_level_boxes(src)
    mdat = next(((offset, size) for kind, offset, size in boxes if kind == b"mdat"), None)
    if mdat is not None:
        with open(src, "rb") as fh:
            fh.seek(mdat[0])
            found = _sei_options(fh.read(min(mdat[1], 1 << 20)))
        if found:
            return found
    argv = ffmpeg_cmd(*ffmpeg_input(src), "-map", "0:v:0", "-c", "copy", "-frames:v", "1",
                      "-bsf:v", "h264_mp4toannexb", "-f", "h264", "-")
    try:
        return _sei_options(run(argv, timeout_s=timeout_s).stdout)
    except MediaError:
        return None


def x264_settings(source: SourceVideo, options: dict[str, str] | None) -> list[str] | None:
    """libx264 arguments that reproduce the source's parameter sets, or None when that is impossible.

    Speed-only settings are fast ones (subme <= 5 and no trellis, so x264 does not shift the chroma QP
    offset for psychovisual tuning: the printed offset is then exactly what we ask for).
    """
    if not options or source.codec != "h264" or source.pix_fmt != "yuv420p":
        return None
    if options.get("interlaced", "0") != "0" or options.get("cqm", "0") != "0":
        return None
    if options.get("intra_refresh", "0") != "0" or options.get("fake_interlaced", "0") != "0":
        return None
    params = {name: options[key] for key, name in _STRUCTURAL.items() if key in options}
    deblock = options.get("deblock", "1:0:0").split(":")
    if deblock[0] == "1" and len(deblock) == 3:
        params["deblock"] = f"{deblock[1]},{deblock[2]}"
    else:
        params["no-deblock"] = "1"
    if "b_pyramid" in options:
        params["b-pyramid"] = _PYRAMID.get(options["b_pyramid"], "normal")
    if options.get("keyint"):
        params["keyint"] = options["keyint"]
    rc = options.get("rc", "crf")
    if rc == "crf" and "crf" in options:
        params["crf"] = options["crf"]
    elif rc in ("abr", "cbr") and "bitrate" in options:
        params["bitrate"] = options["bitrate"]
    elif rc == "cqp" and "qp" in options:
        params["qp"] = options["qp"]
    else:
        return None
    for key, name in (("vbv_maxrate", "vbv-maxrate"), ("vbv_bufsize", "vbv-bufsize"), ("nal_hrd", "nal-hrd")):
        if key in options:
            params[name] = options[key]
    if source.level:
        params["level"] = f"{source.level // 10}.{source.level % 10}"
    # Few frames are encoded at a time: no lookahead and slice threads keep the latency low.
    params.update({"subme": str(min(5, int(options.get("subme", "2") or 2))), "trellis": "0", "me": "dia",
                   "b-adapt": "0" if options.get("bframes", "0") == "0" else "1", "rc-lookahead": "0",
                   "sync-lookahead": "0", "sliced-threads": "1", "mbtree": "0",
                   "scenecut": options.get("scenecut", "40")})
    return ["-c:v", "libx264", "-preset", "ultrafast",
            "-x264-params", ":".join(f"{k}={v}" for k, v in params.items())]


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caption:
    """One caption cue: ``heading`` (kind and criteria) is its first line, ``text`` follows."""

    text: str
    heading: str | None = None
    start_ms: int = 0  # relative to the clip
    end_ms: int | None = None  # None: until the end of the clip


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


def _tmp_next_to(dst: Path) -> Path:
    return dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}{dst.suffix}")


def ff_seconds(value: Fraction | float) -> str:
    """Seconds for ffmpeg, rounded down to the microsecond (so a seek never lands past a frame)."""
    micro = math.floor(Fraction(value) * 1_000_000)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def _seconds_up(value: Fraction | float) -> str:
    micro = math.ceil(Fraction(value) * 1_000_000)
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def _check_span(source: SourceVideo, start_ms: int, end_ms: int) -> tuple[int, int]:
    start_ms, end_ms = int(start_ms), int(end_ms)
    if start_ms < 0 or end_ms <= start_ms:
        raise MediaError("A clip needs a start before its end.", code="bad_span")
    if source.duration_ms and start_ms >= source.duration_ms:
        raise MediaError("The clip starts after the end of the video.", code="bad_span")
    return start_ms, min(end_ms, source.duration_ms or end_ms)


def _measure(path: Path, timeout_s: float) -> tuple[int, int, bool]:
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


def caption_args(captions: Sequence[Caption], work: Path, duration_ms: int, index: int) -> tuple[list, list]:
    """(input args, output args) adding a mov_text track made from ``captions`` (input number ``index``)."""
    if not captions:
        return [], ["-sn"]
    vtt = write_webvtt(captions, work / "captions.vtt", duration_ms)
    inputs = ["-protocol_whitelist", "file", "-f", "webvtt", "-i", os.path.abspath(vtt)]
    outputs = ["-map", f"{index}:0", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
               "-metadata:s:s:0", "handler_name=Feedback", "-disposition:s:0", "default"]
    return inputs, outputs


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
    source, packets = _cut_probe(src, [(at, at + 0.001)], timeout_s, avcc=False)
    start_ms, end_ms = _check_span(source, start_ms, end_ms)
    keys = [p for p in packets if p.key and p.pts <= source.ticks(start_ms)]
    key_ticks = keys[-1].pts if keys else 0
    begin = Fraction(key_ticks) * source.time_base
    length = Fraction(end_ms, 1000) - begin
    tmp = _tmp_next_to(dst)
    work = Path(tempfile.mkdtemp(prefix=".clip-", dir=dst.parent))
    try:
        sub_in, sub_out = caption_args(captions, work, int(length * 1000), 1)
        # Seeking to the keyframe itself keeps every timestamp >= 0: the clip starts at 0 with no edit list.
        argv = ffmpeg_cmd(
            "-ss", _seconds_up(begin), *ffmpeg_input(src), *sub_in, "-t", ff_seconds(length),
            "-map", "0:v:0", "-map", "0:a:0?", *sub_out, "-c:v", "copy", "-c:a", "copy", "-dn",
            "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart", "-f", "mp4",
            os.path.abspath(tmp),
        )  # fmt: skip
        run(argv, timeout_s=timeout_s, cancel=cancel)
        duration, frames, has_audio = _measure(tmp, timeout_s)
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
    source, packets = _cut_probe(src, intervals, timeout_s)
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
    tmp = _tmp_next_to(dst)
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
    listing = work / "parts.ffconcat"
    frame = Fraction(source.frame_ticks) * tb
    lines = ["ffconcat version 1.0"]
    for part, count in parts:
        lines += [f"file '{part.name}'", f"duration {ff_seconds(count * frame)}"]
    listing.write_text("\n".join(lines) + "\n")
    inputs = ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-protocol_whitelist", "file",
              "-format_whitelist", "concat," + SAFE_DEMUXERS, "-i", os.path.abspath(listing)]
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


def _copy_gops(src: Path, dst: Path, begin: Fraction, frames: int, timeout_s: float, cancel) -> Path:
    argv = ffmpeg_cmd("-ss", _seconds_up(begin), *ffmpeg_input(src), "-map", "0:v:0", "-c", "copy",
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


# --- captions ----------------------------------------------------------------------------------


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
    duration = _measure(src, timeout_s)[0]
    tmp = _tmp_next_to(dst)
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


def thumbnail(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, t_ms: int = 0, width: int = 320,
              timeout_s: float = 30.0) -> Path:
    """A JPEG of the clip's frame at ``t_ms`` (default: its first frame), ``width`` pixels wide."""
    return frame_at(src, t_ms, dst, width=width, timeout_s=timeout_s)


# --- reels ---------------------------------------------------------------------------------------


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
    tmp = _tmp_next_to(dst)
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
