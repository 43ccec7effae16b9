"""ffmpeg never outlives its worker: the kernel kills it when its parent dies (PR_SET_PDEATHSIG), and the
records of running processes let a worker that takes over end any that survived, and their half-written
output. Real ffmpeg, real processes, real kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from obsapp.media import run as media_run
from tests.jobs.processes import alive, children_named
from tests.waiting import HANG_GUARD_S, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")

ENDLESS = ["-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-t", "600"]  # ten minutes in real time

RUNNER = """
import sys
from obsapp.media import run as media_run
media_run.record_processes_in(sys.argv[1], sys.argv[2])
print("started", flush=True)
media_run.run(media_run.ffmpeg_cmd(*sys.argv[3:]), timeout_s=900)
"""


def test_ffmpeg_dies_with_the_process_that_ran_it(tmp_path):
    records, scratch = tmp_path / "records", tmp_path / "tmp"
    work = scratch / "ingest-1-abc"
    work.mkdir(parents=True)
    parent = subprocess.Popen([sys.executable, "-c", RUNNER, str(records), str(scratch), *ENDLESS,
                               str(work / "out.mkv")], stdout=subprocess.PIPE, start_new_session=True)
    try:
        ffmpeg = wait_until(lambda: children_named(parent.pid), "ffmpeg to start")[0]
        # recorded while it runs: its group, its start time and the working folder it writes to
        record = json.loads(wait_until(lambda: list(records.glob(f"*.{ffmpeg}.json")), "the record")[0].read_text())
        assert (record["pid"], record["owner_pid"], record["scratch"]) == (ffmpeg, parent.pid, [str(work)])
        assert os.getpgid(ffmpeg) == ffmpeg  # a session of its own: killing the parent's group misses it
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(HANG_GUARD_S)
    wait_until(lambda: not alive(ffmpeg), "ffmpeg to die with its parent", 30)


def test_a_finished_run_leaves_no_record(tmp_path):
    records, scratch = tmp_path / "records", tmp_path / "tmp"
    work = scratch / "clip-1-abc"
    work.mkdir(parents=True)
    seen = []
    media_run.record_processes_in(records, scratch)
    try:
        media_run.run(media_run.ffmpeg_cmd("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", work / "out.mp4"),
                      timeout_s=120, progress=lambda _f: seen.append(sorted(p.name for p in records.iterdir())),
                      duration_ms=2000)
    finally:
        media_run.record_processes_in(None)
    assert any(names for names in seen)  # recorded while it ran
    assert list(records.iterdir()) == []  # and forgotten when it ended


def test_orphans_of_a_dead_worker_are_killed_and_their_output_removed(tmp_path):
    """An ffmpeg that survived its worker (no parent-death signal, e.g. started by an older version): the next
    worker's sweep finds its record, kills its group and removes the working folder it wrote to."""
    records, scratch = tmp_path / "records", tmp_path / "tmp"
    records.mkdir()
    orphan_work, kept_work = scratch / "ingest-7-xyz", scratch / "clip-8-xyz"
    orphan_work.mkdir(parents=True)
    kept_work.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_owner = int(gone.stdout)
    orphan = subprocess.Popen(media_run.ffmpeg_cmd(*ENDLESS, orphan_work / "out.mkv"), start_new_session=True)
    living = subprocess.Popen(media_run.ffmpeg_cmd(*ENDLESS, kept_work / "out.mkv"), start_new_session=True)
    try:
        wait_until(lambda: (orphan_work / "out.mkv").exists(), "the orphan to write")
        for proc, owner, work in ((orphan, dead_owner, orphan_work), (living, os.getpid(), kept_work)):
            (records / f"{media_run.HOST}.{proc.pid}.json").write_text(json.dumps({
                "host": media_run.HOST, "owner_pid": owner, "owner_ticks": None, "pid": proc.pid,
                "ticks": media_run._start_ticks(proc.pid), "scratch": [str(work)], "program": "ffmpeg"}))
        assert media_run.reap_orphans(records) == [orphan.pid]
        assert orphan.wait(HANG_GUARD_S) == -signal.SIGKILL
        assert not orphan_work.exists()
        assert living.poll() is None and kept_work.exists()  # its worker (this process) is alive: left alone
        assert [p.name for p in records.iterdir()] == [f"{media_run.HOST}.{living.pid}.json"]
    finally:
        for proc in (orphan, living):
            if proc.poll() is None:
                proc.kill()
                proc.wait(HANG_GUARD_S)


def test_a_record_of_a_reused_pid_kills_nothing(tmp_path):
    """The recorded start time tells a new process that got the dead one's pid apart: it is not killed."""
    records = tmp_path / "records"
    records.mkdir()
    bystander = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        (records / f"{media_run.HOST}.{bystander.pid}.json").write_text(json.dumps({
            "host": media_run.HOST, "owner_pid": 2**22 + 1, "owner_ticks": None, "pid": bystander.pid,
            "ticks": (media_run._start_ticks(bystander.pid) or 0) - 1, "scratch": [], "program": "ffmpeg"}))
        assert media_run.reap_orphans(records) == []
        assert bystander.poll() is None
        assert list(records.iterdir()) == []
    finally:
        bystander.kill()
        bystander.wait(HANG_GUARD_S)


def test_records_of_other_machines_are_left_to_them(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    other = records / "another-machine.123.json"
    other.write_text(json.dumps({"host": "another-machine", "owner_pid": 1, "pid": 123, "scratch": []}))
    assert media_run.reap_orphans(records) == []
    assert other.exists()


def test_scratch_entries_name_only_top_level_working_folders(tmp_path):
    scratch = tmp_path / "tmp"
    media_run.record_processes_in(tmp_path / "records", scratch)
    try:
        entries = media_run._scratch_entries([
            "ffmpeg", "-i", str(tmp_path / "media" / "originals" / "x.mp4"), str(scratch / "job-1" / "out" / "a.mp4"),
            str(scratch / "uploads" / "u1"), "-f", "null", "-"])
    finally:
        media_run.record_processes_in(None)
    assert entries == [str(Path(scratch).resolve() / "job-1")]
