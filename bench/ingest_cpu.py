"""CPU and processes per ingest: ``ingest()`` on short HEVC/AAC lessons that need an encode.

    .venv/bin/python bench/ingest_cpu.py [--lessons 4] [--seconds 10] [--runs 3] [--no-audio]

Generates ``--lessons`` 640x360 30 fps HEVC lessons (libx265, with a sine tone in AAC unless
``--no-audio``) into a temporary folder, then ingests them one after another, ``--runs`` times.
Each run reports its wall time and the CPU it used (this process's own CPU, its threads hashing
and reducing the waveform included, plus every ffmpeg/ffprobe it waited for); the last line is the
median run. The ffmpeg/ffprobe processes of one ingest are listed with their own CPU time.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from obsapp.media import ingest  # noqa: E402

FF = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


class _Recorded(subprocess.Popen):
    """A Popen that notes its program, its role and the CPU the child used (``wait4``)."""

    log: list[tuple[str, str, float]] = []
    lock = threading.Lock()

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            argv = [os.fspath(a) for a in self.args]
            with self.lock:
                self.log.append((os.path.basename(argv[0]), _role(argv), usage.ru_utime + usage.ru_stime))
        return pid, status


def _role(argv: list[str]) -> str:
    joined = " ".join(argv)
    if "ffprobe" in os.path.basename(argv[0]):
        if "-show_streams" in argv:
            return "streams/format + packets" if "packet=" in joined else "streams/format"
        return "packets"
    if "tile=" in joined:
        return "sprite (+ waveform)" if "s16le" in joined else "sprite"
    if "s16le" in joined:
        return "waveform"
    if "image2" in joined:
        return "poster"
    return "rendition"


def cpu_seconds() -> tuple[float, float]:
    """(this process, its waited-for children) in CPU seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def make_lessons(folder: Path, count: int, seconds: int, audio: bool) -> list[Path]:
    lessons = []
    for n in range(count):
        out = folder / f"lesson-{n}.mp4"
        tone = ["-f", "lavfi", "-i", f"sine=f={300 + 100 * n}:sample_rate=48000:d={seconds}"] if audio else []
        subprocess.run([
            *FF, "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=30:d={seconds}", *tone,
            "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-tag:v", "hvc1",
            "-pix_fmt", "yuv420p", *(["-c:a", "aac", "-b:a", "96k"] if audio else []), str(out),
        ], check=True)  # fmt: skip
        lessons.append(out)
    return lessons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-audio", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="obsapp-ingest-cpu-"))
    try:
        lessons = make_lessons(work, args.lessons, args.seconds, not args.no_audio)
        subprocess.Popen = _Recorded  # type: ignore[misc]  # obsapp.media.run looks it up on each call
        walls, cpus, others = [], [], []
        for number in range(1, args.runs + 1):
            _Recorded.log.clear()
            (own0, kids0), wall0 = cpu_seconds(), time.perf_counter()
            for n, src in enumerate(lessons):
                ingest(src, work / f"out-{n}")
            (own1, kids1), wall = cpu_seconds(), time.perf_counter() - wall0
            own, kids = own1 - own0, kids1 - kids0
            cpu = own + kids
            walls.append(wall)
            cpus.append(cpu)
            per_ingest = len(_Recorded.log) / len(lessons)
            others.append(sum(used for _, role, used in _Recorded.log if role != "rendition"))
            print(f"run {number}: {len(lessons)} ingests in {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"({own:.2f} s Python, {kids:.2f} s ffmpeg/ffprobe), "
                  f"{per_ingest:g} processes per ingest, {others[-1]:.2f} s CPU in those other than the encodes",
              flush=True)
        print(f"processes of one ingest ({lessons[-1].name}, last run):")
        for program, role, used in _Recorded.log[-round(len(_Recorded.log) / len(lessons)):]:
            print(f"  {program:8} {role:22} {used:6.3f} s CPU")
        print(f"median of {args.runs}: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU "
              f"for {len(lessons)} ingests ({statistics.median(cpus) / len(lessons):.3f} s CPU per ingest, "
              f"{statistics.median(others) / len(lessons):.3f} s of it in processes other than the encode)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
