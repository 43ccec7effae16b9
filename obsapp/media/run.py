"""The one place where ffmpeg and ffprobe processes are started.

Every process runs in its own session (process group) so that a timeout, a
cancellation or :func:`kill_all` can take down ffmpeg together with anything it
spawned.  stderr is drained by a thread into a bounded buffer so a chatty
process can never dead-lock on a full pipe.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

__all__ = [
    "Cancel",
    "CompletedRun",
    "MediaError",
    "ffmpeg_bin",
    "ffmpeg_cmd",
    "ffprobe_bin",
    "ffmpeg_input",
    "ffprobe_json",
    "kill_all",
    "live_pids",
    "run",
    "safe_input",
]

# Inputs are opened as local files only, by container demuxers that cannot
# pull in other files or URLs: an HLS/concat/DASH "video" could otherwise make
# ffmpeg read other lessons' files or fetch from the network.
SAFE_DEMUXERS = (
    "mov,matroska,avi,mpegts,mpeg,flv,asf,ogg,mxf,dv,mp3,aac,wav,flac,gif,"
    "png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,tiff_pipe"
)
STDERR_TAIL_CHARS = 4000
_KILL_GRACE_S = 2.0
_CHUNK = 64 * 1024


class Cancel(Protocol):
    """Anything with ``is_set()``, such as a :class:`threading.Event`."""

    def is_set(self) -> bool: ...


class MediaError(Exception):
    """A media problem with a sentence a teacher can act on.

    ``code`` is a machine word (``not_media``, ``no_video``, ``truncated``,
    ``too_large``, ``timeout``, ``cancelled``, ``ffmpeg_failed``, ...);
    ``stderr`` is the tail of ffmpeg's stderr, meant for logs only.
    """

    def __init__(self, message: str, *, code: str, stderr: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"MediaError(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class CompletedRun:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str
    elapsed_s: float


def ffmpeg_bin() -> str:
    return os.environ.get("OBSAPP_FFMPEG") or "ffmpeg"


def ffprobe_bin() -> str:
    return os.environ.get("OBSAPP_FFPROBE") or "ffprobe"


def safe_input(path: str | os.PathLike[str]) -> list[str]:
    """Options that open ``path`` as a plain local file with a whitelisted demuxer (ends with the path)."""
    # An absolute path can neither look like an option nor like a protocol ("concat:...").
    return ["-protocol_whitelist", "file", "-format_whitelist", SAFE_DEMUXERS, os.path.abspath(path)]


def ffmpeg_input(path: str | os.PathLike[str]) -> list[str]:
    """``-i path`` for ffmpeg, restricted like :func:`safe_input`."""
    *options, target = safe_input(path)
    return [*options, "-i", target]


def ffmpeg_cmd(*args: str | os.PathLike[str]) -> list[str]:
    """ffmpeg with quiet, non-interactive global options, then ``args``."""
    return [ffmpeg_bin(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(os.fspath, args)]


# -- live process registry ----------------------------------------------------

_live: dict[int, subprocess.Popen[bytes]] = {}
_killed_at_shutdown: set[int] = set()
_live_lock = threading.Lock()


def live_pids() -> list[int]:
    """Process ids of the ffmpeg/ffprobe processes currently running."""
    with _live_lock:
        return list(_live)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the pid is the group id (start_new_session)


def _terminate(proc: subprocess.Popen[bytes], grace_s: float = _KILL_GRACE_S) -> None:
    """SIGTERM the whole process group, then SIGKILL it if it lingers."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace_s)
    # Children may outlive the leader; the group kill reaches them as well.
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # an unkillable process
        proc.wait(grace_s)


def kill_all() -> int:
    """Kill every live process we started (used at shutdown). Returns how many."""
    with _live_lock:
        procs = list(_live.values())
        _killed_at_shutdown.update(_live)
    for proc in procs:
        _terminate(proc, grace_s=0.5)
    return len(procs)


atexit.register(kill_all)


# -- running ------------------------------------------------------------------


def _drain_stderr(stream, tail: collections.deque[bytes]) -> None:
    for line in iter(stream.readline, b""):
        tail.append(line)
    stream.close()


def _progress_value(line: bytes, duration_ms: int) -> float | None:
    key, _, value = line.strip().partition(b"=")
    # ffmpeg reports out_time_ms in microseconds too (a long-standing quirk).
    if key not in (b"out_time_us", b"out_time_ms"):
        return None
    try:
        us = int(value)
    except ValueError:
        return None
    return min(1.0, max(0.0, us / 1000.0 / duration_ms))


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout_s: float,
    progress: Callable[[float], None] | None = None,
    duration_ms: int | None = None,
    cancel: Cancel | None = None,
    on_stdout: Callable[[bytes], None] | None = None,
) -> CompletedRun:
    """Run ``argv`` and return its output, or raise :class:`MediaError`.

    * ``progress(fraction)`` is called (from the calling thread) with 0..1 while
      an ffmpeg command runs; ``-progress pipe:1 -nostats`` is added for it and
      ``duration_ms`` is the expected output duration.
    * ``on_stdout(chunk)`` receives stdout in chunks of at most 64 KiB instead
      of collecting it (for streaming raw audio); it cannot be combined with
      ``progress``.
    * On ``timeout_s`` or when ``cancel`` is set, the whole process group gets
      SIGTERM, then SIGKILL; ``MediaError`` code ``timeout``/``cancelled``.
    * A non-zero exit gives ``MediaError`` code ``ffmpeg_failed`` with the
      stderr tail.
    """
    args = [os.fspath(a) for a in argv]
    if progress is not None and on_stdout is not None:
        raise ValueError("progress and on_stdout both need stdout")
    track = progress is not None and bool(duration_ms) and duration_ms > 0
    if progress is not None:
        args[1:1] = ["-progress", "pipe:1", "-nostats"]
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise MediaError(
            "The video tools are not available on the server.", code="ffmpeg_failed", stderr=str(exc)
        ) from exc
    with _live_lock:
        _live[proc.pid] = proc

    tail: collections.deque[bytes] = collections.deque(maxlen=200)
    drainer = threading.Thread(target=_drain_stderr, args=(proc.stderr, tail), daemon=True)
    drainer.start()
    finished = threading.Event()
    why: list[str] = []

    def watchdog() -> None:
        deadline = started + timeout_s
        while not finished.wait(0.05):
            if cancel is not None and cancel.is_set():
                why.append("cancelled")
            elif time.monotonic() >= deadline:
                why.append("timeout")
            else:
                continue
            _terminate(proc)
            return

    guard = threading.Thread(target=watchdog, daemon=True)
    guard.start()

    collected: list[bytes] = []
    last = -1.0
    try:
        stdout = proc.stdout
        assert stdout is not None
        if progress is not None:
            for line in iter(stdout.readline, b""):
                if track:
                    value = _progress_value(line, duration_ms or 0)
                    if value is not None and value - last >= 0.002:
                        last = value
                        progress(value)
        else:
            while chunk := stdout.read1(_CHUNK):
                if on_stdout is not None:
                    on_stdout(chunk)
                else:
                    collected.append(chunk)
        proc.wait()
    except BaseException:
        _terminate(proc)
        raise
    finally:
        finished.set()
        guard.join()
        drainer.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
        with _live_lock:
            _live.pop(proc.pid, None)
            if proc.pid in _killed_at_shutdown:
                _killed_at_shutdown.discard(proc.pid)
                why.append("shutdown")

    err = b"".join(tail).decode("utf-8", "replace")[-STDERR_TAIL_CHARS:]
    elapsed = time.monotonic() - started
    if why and why[0] == "cancelled":
        raise MediaError("Processing was cancelled.", code="cancelled", stderr=err)
    if why and why[0] == "shutdown":
        raise MediaError(
            "Processing was stopped because the server is shutting down.", code="cancelled", stderr=err
        )
    if why:
        raise MediaError(
            f"Processing took longer than the {timeout_s:g} s limit and was stopped.",
            code="timeout",
            stderr=err,
        )
    if proc.returncode != 0:
        raise MediaError(
            "The video could not be processed.",
            code="ffmpeg_failed",
            stderr=err or f"exit status {proc.returncode}",
        )
    if progress is not None:
        progress(1.0)
    return CompletedRun(tuple(args), proc.returncode, b"".join(collected), err, elapsed)


def ffprobe_json(path: str | os.PathLike[str], timeout_s: float = 30.0, *extra: str) -> dict:
    """``ffprobe -show_format -show_streams`` (plus ``extra`` options) as a dict."""
    argv = [ffprobe_bin(), "-hide_banner", "-v", "error", "-print_format", "json"]
    argv += list(extra) or ["-show_format", "-show_streams"]
    argv += safe_input(Path(path))
    done = run(argv, timeout_s=timeout_s)
    try:
        return json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError as exc:
        raise MediaError(
            "This file is not a video we can read.", code="not_media", stderr=done.stderr
        ) from exc
