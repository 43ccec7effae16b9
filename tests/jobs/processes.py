"""Helpers for tests that run real `obsapp serve` / `obsapp worker` processes and kill them: a long lesson that
must be transcoded, the ffmpeg processes a worker started, the job rows as the database has them."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.conftest import VENV_BIN
from tests.waiting import HANG_GUARD_S

OBSAPP = str(VENV_BIN / "obsapp")


def long_lesson(folder: Path, seconds: int = 60) -> Path:
    """An MPEG-4 Part 2 / MP3 AVI: ingest must transcode it to H.264 (seconds of ffmpeg work, long enough to
    kill its worker in the middle)."""
    path = folder / f"long-{seconds}s.avi"
    if not path.exists():
        subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=s=640x480:r=30:d={seconds}",
                        "-f", "lavfi", "-i", f"sine=f=440:sample_rate=44100:d={seconds}",
                        "-c:v", "mpeg4", "-q:v", "4", "-c:a", "libmp3lame", "-b:a", "64k", str(path)],
                       check=True, timeout=HANG_GUARD_S)
    return path


def children_named(parent: int, name: str = "ffmpeg") -> list[int]:
    """Live processes called ``name`` whose parent is ``parent`` (zombies left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        if fields.get("Name", "").strip() == name and fields.get("PPid", "").strip() == str(parent) \
                and not fields.get("State", "").startswith("Z"):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def kill_hard(process: subprocess.Popen) -> None:
    """SIGKILL the process's whole group (it was started in a session of its own), as a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(HANG_GUARD_S)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        kill_hard(process)


class Jobs:
    """The jobs table of a deployment's database, read the way the workers see it."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    def row(self, job_id: int) -> dict:
        with self.engine.connect() as conn:
            return dict(conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().one())

    def states(self) -> list[str]:
        with self.engine.connect() as conn:
            return [state for (state,) in conn.execute(text("SELECT state FROM jobs ORDER BY id"))]

    def close(self) -> None:
        self.engine.dispose()


def worker_pid(row: dict) -> int | None:
    """The process id in a job's ``worker`` (host:pid:...)."""
    parts = (row.get("worker") or "").split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def scratch_entries(media_root: Path) -> list[str]:
    """What is left in the media store's tmp/ (uploads aside)."""
    tmp = media_root / "tmp"
    return sorted(p.name for p in tmp.iterdir() if p.name != "uploads") if tmp.exists() else []
