"""The whole upload pipeline, as run by the app's background job."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .audio import PCM_OUTPUT, PeakReader
from .frames import poster, thumbnail_sprite
from .probe import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIZE, MediaInfo, probe
from .run import Cancel, MediaError
from .transcode import make_rendition, plan_rendition

__all__ = ["VIDEO_NAME", "IngestResult", "ingest", "sha256_file"]

VIDEO_NAME = "video.mp4"
POSTER_NAME = "poster.jpg"
VTT_NAME = "thumbnails.vtt"
WAVEFORM_NAME = "waveform.json"
RENDITION_SHARE = 0.85


@dataclass(frozen=True)
class IngestResult:
    out_dir: Path
    duration_ms: int  # measured on the rendition, not the upload's claim
    width: int  # as displayed
    height: int
    fps: Fraction | None
    has_audio: bool
    mode: str  # how the rendition was made: "remux" | "remux_audio" | "encode"
    reasons: tuple[str, ...]  # why the video was re-encoded (empty for a remux)
    video_codec: str  # of the rendition: always "h264"
    audio_codec: str | None  # of the rendition: "aac" or None
    source_video_codec: str
    source_audio_codec: str | None
    source: MediaInfo  # the probe of the upload (its duration_ms is only a claim)
    sha256: str  # of the uploaded file
    files: tuple[str, ...]  # names inside out_dir
    sprite_interval_s: int
    elapsed_s: float

    @property
    def source_summary(self) -> dict:
        """The upload's probe as plain JSON-able values (for storing alongside the lesson)."""
        s, v, a = self.source, self.source.video, self.source.audio
        return {
            "format": s.format_name,
            "size_bytes": s.size_bytes,
            "claimed_duration_ms": s.duration_ms,
            "bit_rate": s.bit_rate,
            "video": {
                "codec": v.codec,
                "profile": v.profile,
                "pix_fmt": v.pix_fmt,
                "width": v.width,
                "height": v.height,
                "rotation": v.rotation,
                "fps": str(v.fps) if v.fps else None,
                "is_vfr": v.is_vfr,
                "interlaced": v.interlaced,
            },
            "audio": (
                {"codec": a.codec, "sample_rate": a.sample_rate, "channels": a.channels} if a else None
            ),
            "mode": self.mode,
            "reasons": list(self.reasons),
        }


class _Stop:
    """Set by us on failure, or by the caller's ``cancel`` event."""

    def __init__(self, outer: Cancel | None) -> None:
        self.outer = outer
        self.inner = threading.Event()

    def is_set(self) -> bool:
        return self.inner.is_set() or (self.outer is not None and self.outer.is_set())


def sha256_file(path: str | os.PathLike[str], cancel=None, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            if cancel is not None and cancel.is_set():
                raise MediaError("Processing was cancelled.", code="cancelled")
            digest.update(block)
    return digest.hexdigest()


def ingest(
    src: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
    max_height: int = 1080,
    max_size: tuple[int, int] = DEFAULT_MAX_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    timeout_s: float | None = None,
    peaks_per_second: int = 10,
) -> IngestResult:
    """Turn an upload into ``video.mp4``, ``poster.jpg``, ``thumbnails.vtt`` +
    ``sprite-N.jpg`` and ``waveform.json`` inside ``out_dir``.

    Raises :class:`MediaError` for unusable input, storage errors (``io_error``), a timeout (``timeout_s`` is
    the budget for the whole run; by default each step gets a limit scaled to
    the video length) or cancellation (``cancel.set()`` from another thread).
    On failure nothing of this run is left in ``out_dir``.  ``progress`` gets
    0..1 and is only ever called from the calling thread.
    """
    started = time.monotonic()
    src, out_dir = Path(src), Path(out_dir)
    stop = _Stop(cancel)
    report = progress or (lambda _fraction: None)

    def budget() -> float | None:
        if timeout_s is None:
            return None
        left = timeout_s - (time.monotonic() - started)
        if left <= 0:
            raise MediaError(
                f"Processing took longer than the {timeout_s:g} s limit and was stopped.", code="timeout"
            )
        return left

    created_dir = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    stage = out_dir / f".ingest-{secrets.token_hex(4)}"
    stage.mkdir()
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest")
    try:
        hashing = pool.submit(sha256_file, src, stop)
        info = probe(src, max_size=max_size, max_pixels=max_pixels, timeout_s=budget() or 60.0)
        report(0.0)
        plan = plan_rendition(info, max_height=max_height)
        rendition = make_rendition(
            src,
            stage / VIDEO_NAME,
            info,
            plan,
            progress=lambda f: report(RENDITION_SHARE * f),
            cancel=stop,
            timeout_s=budget(),
        )
        video = rendition.path
        # The waveform's audio is decoded in the sprite's ffmpeg run (the file is read once); no audio: a flat line.
        peaks = PeakReader(peaks_per_second, rendition.duration_ms)
        pcm = {"extra_output": PCM_OUTPUT, "on_stdout": peaks.feed} if rendition.has_audio else {}
        side: dict[Future, str] = {
            pool.submit(
                poster, video, stage / POSTER_NAME, rendition, timeout_s=budget() or 60.0, cancel=stop
            ): "poster",
            pool.submit(
                thumbnail_sprite, video, stage, rendition.duration_ms,
                keyframe_interval_s=rendition.keyframe_interval_s,
                display_size=(rendition.width, rendition.height), timeout_s=budget(), cancel=stop, **pcm,
            ): "sprite",
        }  # fmt: skip
        results: dict[str, object] = {}
        pending = set(side)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            for fut in done:
                results[side[fut]] = fut.result()  # re-raises the first failure
                report(RENDITION_SHARE + (1 - RENDITION_SHARE) * len(results) / (len(side) + 1))
            budget()
        if stop.is_set():  # cancelled after the last ffmpeg finished: still leave nothing
            raise MediaError("Processing was cancelled.", code="cancelled")
        waveform = peaks.waveform()
        (stage / WAVEFORM_NAME).write_text(json.dumps(waveform.as_json(), separators=(",", ":")))
        sprite = results["sprite"]
        digest = hashing.result()
        names = [POSTER_NAME, VTT_NAME, WAVEFORM_NAME, *(p.name for p in sprite.images)]
        files = _commit(stage, out_dir, names)
        report(1.0)
    except BaseException as exc:
        stop.inner.set()
        pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(stage, ignore_errors=True)
        if created_dir:
            with contextlib.suppress(OSError):
                out_dir.rmdir()
        if isinstance(exc, OSError):  # disk full, permissions...: still a MediaError for the job
            raise MediaError(
                "The video could not be processed because of a storage problem on the server.",
                code="io_error",
                stderr=str(exc),
            ) from exc
        raise
    pool.shutdown(wait=True)
    shutil.rmtree(stage, ignore_errors=True)
    return IngestResult(
        out_dir=out_dir,
        duration_ms=rendition.duration_ms,
        width=rendition.width,
        height=rendition.height,
        fps=rendition.fps,
        has_audio=rendition.has_audio,
        mode=rendition.mode,
        reasons=plan.reasons if rendition.mode == plan.mode else ("stream copy failed",),
        video_codec=rendition.video_codec,
        audio_codec=rendition.audio_codec,
        source_video_codec=info.video.codec,
        source_audio_codec=info.audio.codec if info.audio else None,
        source=info,
        sha256=digest,
        files=tuple(files),
        sprite_interval_s=sprite.interval_s,
        elapsed_s=time.monotonic() - started,
    )


def _commit(stage: Path, out_dir: Path, names: list[str]) -> list[str]:
    """Move the finished files from the staging directory into ``out_dir``.

    The video goes last so that its presence means the set is complete, and
    sprite images left over from an earlier, longer ingest are removed.
    """
    ordered = [*names, VIDEO_NAME]
    for name in ordered:
        os.replace(stage / name, out_dir / name)
    keep = set(ordered)
    for old in out_dir.glob("sprite-*.jpg"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    return ordered
