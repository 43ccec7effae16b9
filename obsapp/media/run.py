"""The one place where ffmpeg and ffprobe processes are started.

Every process runs in its own session (process group) so that a timeout, a
cancellation or :func:`kill_all` can take down ffmpeg together with anything it
spawned.  stderr is drained by a thread into a bounded buffer so a chatty
process can never dead-lock on a full pipe.

Children never outlive their worker: on Linux each one asks the kernel for
SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), and, when
:func:`record_processes_in` names a folder, each one is recorded there (a small
JSON file: its process group, its start time, the working paths it writes) for
as long as it runs, so that :func:`reap_orphans` can end any that survived a
dead worker all the same and remove their half-written output.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
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
    "RemoteInput",
    "ffmpeg_bin",
    "ffmpeg_cmd",
    "ffprobe_bin",
    "ffmpeg_input",
    "ffprobe_json",
    "kill_all",
    "live_pids",
    "reap_orphans",
    "record_processes_in",
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


@dataclass(frozen=True)
class RemoteInput:
    """A media object that ffmpeg reads over HTTP(S) by byte ranges, seeking as it would in a file (a short-lived
    presigned URL of the bucket): only the container's index and the packets needed are fetched, never the whole
    object. Only the HTTP protocols are allowed for it, with the same demuxers as a local file."""

    url: str
    rw_timeout_s: float = 20.0  # a stalled read fails the run instead of waiting for its whole timeout

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("RemoteInput takes an http:// or https:// URL")

    def __str__(self) -> str:  # never show the signature in a log line
        return self.url.split("?", 1)[0]


def safe_input(path: str | os.PathLike[str] | RemoteInput) -> list[str]:
    """Options that open ``path`` as a plain local file with a whitelisted demuxer (ends with the path); a
    :class:`RemoteInput` is opened over HTTP(S) only, with the same demuxers."""
    if isinstance(path, RemoteInput):
        return ["-protocol_whitelist", "http,https,tcp,tls", "-format_whitelist", SAFE_DEMUXERS,
                "-rw_timeout", str(int(path.rw_timeout_s * 1_000_000)), path.url]
    # An absolute path can neither look like an option nor like a protocol ("concat:...").
    return ["-protocol_whitelist", "file", "-format_whitelist", SAFE_DEMUXERS, os.path.abspath(path)]


def ffmpeg_input(path: str | os.PathLike[str] | RemoteInput) -> list[str]:
    """``-i path`` for ffmpeg, restricted like :func:`safe_input`."""
    *options, target = safe_input(path)
    return [*options, "-i", target]


def ffmpeg_cmd(*args: str | os.PathLike[str]) -> list[str]:
    """ffmpeg with quiet, non-interactive global options, then ``args``."""
    return [ffmpeg_bin(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(os.fspath, args)]


# -- children die with their parent -----------------------------------------

_PR_SET_PDEATHSIG = 1
_prctl = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the child only calls it
        _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _prctl.restype = ctypes.c_int


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when the thread that started it ends (the runner
    waits in that thread for as long as the child runs, so: when the worker process dies). ``None`` where
    the platform has no such request."""
    if _prctl is None:
        return None

    def request() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request was made
            os._exit(1)

    return request


# -- records of running children, for a worker that takes over --------------

def _host_identity() -> str:
    """This machine as process ids see it: the host name, and the pid namespace where there is one (containers
    that share a host name or a volume never take each other's process ids for their own)."""
    name = socket.gethostname()
    with contextlib.suppress(OSError):
        namespace = "".join(ch for ch in os.readlink("/proc/self/ns/pid") if ch.isdigit())
        if namespace:
            return f"{name}~{namespace}"
    return name


HOST = _host_identity()
_record_dir: Path | None = None
_scratch_root: Path | None = None


def record_processes_in(folder: str | os.PathLike[str] | None, scratch: str | os.PathLike[str] | None = None) -> None:
    """Record every process started from now on in ``folder`` (``None``: stop recording). ``scratch`` is the
    working folder (the media store's ``tmp/``): the top-level entries of it that a process writes to are
    noted, and removed by :func:`reap_orphans` if that process is found orphaned."""
    global _record_dir, _scratch_root
    if folder is None:
        _record_dir = _scratch_root = None
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    _record_dir = path
    _scratch_root = Path(scratch).resolve() if scratch is not None else None


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def _scratch_entries(args: Sequence[str]) -> list[str]:
    if _scratch_root is None:
        return []
    entries = set()
    for arg in args:
        if not arg.startswith("/"):
            continue
        try:
            relative = Path(arg).resolve().relative_to(_scratch_root)
        except ValueError:
            continue
        if relative.parts and relative.parts[0] != "uploads":
            entries.add(str(_scratch_root / relative.parts[0]))
    return sorted(entries)


def _record(proc: subprocess.Popen[bytes], args: Sequence[str]) -> Path | None:
    folder = _record_dir
    if folder is None:
        return None
    record = {"host": HOST, "owner_pid": os.getpid(), "owner_ticks": _start_ticks(os.getpid()), "pid": proc.pid,
              "ticks": _start_ticks(proc.pid), "scratch": _scratch_entries(args), "program": os.path.basename(args[0])}
    path = folder / f"{HOST}.{proc.pid}.json"
    try:
        tmp = folder / f".{HOST}.{proc.pid}.json.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)
    except OSError:
        return None
    return path


def _alive(pid: int, ticks: int | None) -> bool:
    """Whether ``pid`` still runs and is the same process (same start time) that was recorded."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if ticks is None:
        return True
    now = _start_ticks(pid)
    return now is None or now == ticks  # /proc unreadable: assume it is


def reap_orphans(folder: str | os.PathLike[str]) -> list[int]:
    """End the recorded processes of this host whose worker process is gone (SIGKILL to the process group),
    remove the working paths they wrote, and forget them. Returns the pids that were still running."""
    killed: list[int] = []
    path = Path(folder)
    if not path.is_dir():
        return killed
    for entry in sorted(path.glob(f"{HOST}.*.json")):
        try:
            record = json.loads(entry.read_text())
            owner, owner_ticks = int(record["owner_pid"]), record.get("owner_ticks")
            pid, ticks = int(record["pid"]), record.get("ticks")
        except (OSError, ValueError, KeyError, TypeError):
            entry.unlink(missing_ok=True)
            continue
        if _alive(owner, owner_ticks):
            continue
        if _alive(pid, ticks):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # its own session: the group id is its pid
            killed.append(pid)
            deadline = time.monotonic() + _KILL_GRACE_S
            while _alive(pid, ticks) and time.monotonic() < deadline:
                time.sleep(0.02)
        for scratch in record.get("scratch") or []:
            target = Path(scratch)
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
        entry.unlink(missing_ok=True)
    return killed


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
            preexec_fn=_die_with_parent(os.getpid()),  # a prctl call only, resolved beforehand
        )
    except OSError as exc:
        raise MediaError(
            "The video tools are not available on the server.", code="ffmpeg_failed", stderr=str(exc)
        ) from exc
    with _live_lock:
        _live[proc.pid] = proc
    record = _record(proc, args)

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
        if record is not None:
            record.unlink(missing_ok=True)
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


def ffprobe_json(path: str | os.PathLike[str] | RemoteInput, timeout_s: float = 30.0, *extra: str) -> dict:
    """``ffprobe -show_format -show_streams`` (plus ``extra`` options) as a dict."""
    argv = [ffprobe_bin(), "-hide_banner", "-v", "error", "-print_format", "json"]
    argv += list(extra) or ["-show_format", "-show_streams"]
    argv += safe_input(path if isinstance(path, RemoteInput) else Path(path))
    done = run(argv, timeout_s=timeout_s)
    try:
        return json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    except json.JSONDecodeError as exc:
        raise MediaError(
            "This file is not a video we can read.", code="not_media", stderr=done.stderr
        ) from exc
