"""Small sample media made with ffmpeg's lavfi sources, for the media tests.

``generate_samples(dest_dir)`` writes every sample (skipping ones that already
exist) and returns ``{name: path}``.  All samples are 2-4 s and at most
320x240 (bar ``huge_dims_mp4``), so the whole set takes a few seconds.

How the awkward ones are made:

* ``rotated_90_mov`` - encoded 320x240, then stream-copied with
  ``-metadata:s:v:0 rotate=270``; ffmpeg 5.1's mov muxer turns that into a
  display matrix that ffprobe reports as ``rotation: -90``, which is what
  phones write for portrait video (turn 90 degrees clockwise, shown 240x320).
* ``vfr_mp4`` - 30 fps source where every other frame between 1 s and 2 s is
  dropped with ``select`` and kept with ``-fps_mode vfr`` (r=30, avg=25).
* ``lying_duration_mp4`` - a normal 3 s faststart MP4 whose movie header
  (``mvhd``) duration is patched to claim 60 s; the sample tables still
  describe 3 s, so a remux writes the true duration.
* ``hdr_hevc_mp4`` - 10-bit HEVC tagged PQ/BT.2020, like a phone's HDR video.
* ``huge_dims_mp4`` - a single 16384x16 H.264 frame (4 KB), over 8192 wide.
* ``counter_mp4`` - each frame shows its number in binary as eight vertical
  bars (dark = 0, bright = 1), so any grab can be matched to its frame;
  keyframe every 30 frames.
"""

from __future__ import annotations

import json
import struct
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
DUR = "3"
VIDEO = f"testsrc2=s=320x240:r=30:d={DUR}"
TONE = f"sine=f=440:sample_rate=48000:d={DUR}"
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60"]
X264_444 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv444p"]
X265_ANY = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1"]
X265 = [*X265_ANY, "-pix_fmt", "yuv420p"]
HDR_TAGS = ["-color_trc", "smpte2084", "-color_primaries", "bt2020", "-colorspace", "bt2020nc"]
VP9 = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
AAC = ["-c:a", "aac", "-b:a", "96k"]


def _ff(*args: str | Path) -> None:
    subprocess.run([*FFMPEG, *map(str, args)], check=True, timeout=120)


def _av(dst: Path, *codec_args: str, video: str = VIDEO, audio: str | None = TONE) -> None:
    inputs = ["-f", "lavfi", "-i", video]
    if audio:
        inputs += ["-f", "lavfi", "-i", audio]
    _ff(*inputs, *codec_args, dst)


def _moov_end(dst: Path) -> None:
    _av(dst, *X264, *AAC)


def _patch_mvhd_duration(src: Path, dst: Path, seconds: int) -> None:
    data = bytearray(src.read_bytes())
    at = data.index(b"mvhd")
    assert data[at + 4] == 0, "version 0 mvhd expected"
    timescale = struct.unpack_from(">I", data, at + 16)[0]
    struct.pack_into(">I", data, at + 20, seconds * timescale)
    dst.write_bytes(bytes(data))


def _build_steps(d: Path) -> dict[str, tuple[str, Callable[[Path], None]]]:
    """name -> (file name, function writing that file)."""

    def rotated(dst: Path) -> None:
        plain = d / "_rotated_plain.mov"
        _av(plain, *X264, *AAC)
        _ff("-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=270", dst)
        plain.unlink()

    def truncated(dst: Path) -> None:
        full = d / "_truncated_full.mp4"
        _moov_end(full)
        data = full.read_bytes()
        dst.write_bytes(data[: len(data) // 2])
        full.unlink()

    def lying(dst: Path) -> None:
        honest = d / "_lying_honest.mp4"
        _av(honest, *X264, *AAC, "-movflags", "+faststart")
        _patch_mvhd_duration(honest, dst, 60)
        honest.unlink()

    # Eight 40 px wide bars show the frame number in binary (bar k = bit k).
    counter = (
        "color=c=black:s=320x240:r=30:d=3,format=yuv420p,"
        "geq=lum=16+200*mod(floor(N/pow(2\\,floor(X/40)))\\,2):cb=128:cr=128"
    )
    return {
        "h264_aac_mp4": ("h264_aac.mp4", lambda p: _av(p, *X264, *AAC, "-movflags", "+faststart")),
        "h264_aac_moov_end_mp4": ("h264_aac_moov_end.mp4", _moov_end),
        "hevc_aac_mp4": ("hevc_aac.mp4", lambda p: _av(p, *X265, *AAC)),
        "hdr_hevc_mp4": (
            "hdr_hevc.mp4",
            lambda p: _av(p, *X265_ANY, "-pix_fmt", "yuv420p10le", *HDR_TAGS, *AAC),
        ),
        "vp9_opus_webm": ("vp9_opus.webm", lambda p: _av(p, *VP9, "-c:a", "libopus", "-b:a", "64k")),
        "h264_mkv": ("h264_ac3.mkv", lambda p: _av(p, *X264, "-c:a", "ac3", "-b:a", "128k")),
        "mpeg4_mp3_avi": (
            "mpeg4_mp3.avi",
            lambda p: _av(p, "-c:v", "mpeg4", "-q:v", "5", "-c:a", "libmp3lame", "-b:a", "96k"),
        ),
        "rotated_90_mov": ("rotated_90.mov", rotated),
        "vfr_mp4": (
            "vfr.mp4",
            lambda p: _av(p, "-vf", "select='not(between(t,1,2)*mod(n,2))'", "-fps_mode", "vfr", *X264, *AAC),
        ),
        "no_audio_mp4": ("no_audio.mp4", lambda p: _av(p, *X264, audio=None)),
        "silent_audio_mp4": (
            "silent_audio.mp4",
            lambda p: _av(p, *X264, *AAC, "-shortest", audio="anullsrc=r=48000:cl=stereo"),
        ),
        "counter_mp4": (
            "counter.mp4",
            lambda p: _av(p, *X264[:-1], "30", "-movflags", "+faststart", video=counter, audio=None),
        ),
        "audio_only_m4a": ("audio_only.m4a", lambda p: _ff("-f", "lavfi", "-i", TONE, *AAC, p)),
        "still_png": ("still.png", lambda p: _ff("-f", "lavfi", "-i", VIDEO, "-frames:v", "1", p)),
        "text_as_mp4": ("text.mp4", lambda p: p.write_text("Lesson notes: not a video at all.\n" * 20)),
        "zero_bytes_mp4": ("zero_bytes.mp4", lambda p: p.write_bytes(b"")),
        "truncated_mp4": ("truncated.mp4", truncated),
        "odd_dims_mp4": (
            "odd_dims.mp4",
            lambda p: _av(p, *X264_444, *AAC, video=f"testsrc2=s=320x240:r=25:d={DUR},scale=321:241"),
        ),
        "lying_duration_mp4": ("lying_duration.mp4", lying),
        "huge_dims_mp4": (
            "huge_dims.mp4",
            lambda p: _av(p, *X264, audio=None, video="testsrc2=s=16384x16:r=1:d=1"),
        ),
    }


def generate_samples(dest_dir: str | Path) -> dict[str, Path]:
    """Write all samples into ``dest_dir`` (existing files are reused)."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    steps = _build_steps(dest)

    def make(item: tuple[str, tuple[str, Callable[[Path], None]]]) -> tuple[str, Path]:
        name, (filename, build) = item
        path = dest / filename
        if not path.exists():
            tmp = dest / f".{filename}.tmp{path.suffix}"
            build(tmp)
            tmp.replace(path)
        return name, path

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(make, steps.items()))


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys
    import time

    start = time.monotonic()
    for key, value in generate_samples(sys.argv[1] if len(sys.argv) > 1 else "media-samples").items():
        print(f"{key:24} {value}")
    print(f"{time.monotonic() - start:.1f} s")


# -- helpers for inspecting what the code under test wrote ---------------------

GOOD = [
    "h264_aac_mp4", "h264_aac_moov_end_mp4", "hevc_aac_mp4", "hdr_hevc_mp4", "vp9_opus_webm", "h264_mkv",
    "mpeg4_mp3_avi", "rotated_90_mov", "vfr_mp4", "no_audio_mp4", "silent_audio_mp4", "counter_mp4",
    "odd_dims_mp4", "lying_duration_mp4",
]  # fmt: skip
BAD = {
    "audio_only_m4a": "no_video",
    "still_png": "not_media",
    "text_as_mp4": "not_media",
    "zero_bytes_mp4": "not_media",
    "truncated_mp4": "truncated",
    "huge_dims_mp4": "too_large",
}


def ffprobe(path: Path, *args: str) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return json.loads(out)


def video_packets(path: Path) -> list[dict]:
    """pts_time / flags of every video packet, in presentation order."""
    data = ffprobe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,duration_time,flags")
    packets = [p for p in data.get("packets", []) if p.get("pts_time") not in (None, "N/A")]
    return sorted(packets, key=lambda p: float(p["pts_time"]))


def top_level_boxes(path: Path) -> list[str]:
    """Names of the top-level MP4 boxes in file order, read straight from the bytes."""
    names = []
    data = Path(path).read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = len(data) - offset
        names.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return names


def decode_gray(path: Path, *, frames: int | None = None, noautorotate: bool = False) -> np.ndarray:
    """Frames as an (n, h, w) uint8 array of luma, decoded by ffmpeg."""

    info = ffprobe(
        path, "-select_streams", "v:0", "-show_entries", "stream=width,height:stream_side_data=rotation"
    )
    stream = info["streams"][0]
    w, h = stream["width"], stream["height"]
    rotation = next((s.get("rotation") for s in stream.get("side_data_list", []) if "rotation" in s), 0)
    if not noautorotate and abs(int(rotation)) % 180 == 90:
        w, h = h, w
    cmd = ["ffmpeg", "-v", "error", *(["-noautorotate"] if noautorotate else []), "-i", str(path)]
    cmd += [*(["-frames:v", str(frames)] if frames else []), "-f", "rawvideo", "-pix_fmt", "gray", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True, timeout=60).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w)
