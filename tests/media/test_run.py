"""run(): timeouts, cancellation and shutdown really kill the processes."""

from __future__ import annotations

import os
import threading

import pytest

from obsapp.media import MediaError, ffprobe_json, kill_all
from obsapp.media.run import ffmpeg_cmd, live_pids, run
from tests.waiting import HANG_GUARD_S, wait_until

SLOW_SOURCE = ["-re", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=600", "-f", "null", "-"]


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:  # state, ppid, pgrp
            members.append(int(entry))
    return members


def _start_and_capture_pid(fn):
    """Run ``fn`` in a thread; return (thread, errors, pid of the process it started)."""
    before = set(live_pids())
    errors: list[BaseException] = []

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    new = wait_until(lambda: set(live_pids()) - before, "run() to start its process")
    return thread, errors, new.pop()


def _finished(thread: threading.Thread) -> None:
    """SLOW_SOURCE plays for 10 minutes: a run that returns at all before that was stopped."""
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), "run() did not return: its process was not stopped"


def test_run_collects_stdout_and_stderr():
    done = run(ffmpeg_cmd("-f", "lavfi", "-i", "sine=d=0.1", "-f", "s16le", "-"), timeout_s=30)
    assert done.returncode == 0
    assert len(done.stdout) == 4410 * 2


def test_failure_raises_with_stderr_tail():
    with pytest.raises(MediaError) as info:
        run(ffmpeg_cmd("-i", "/nonexistent/input.mp4", "-f", "null", "-"), timeout_s=30)
    assert info.value.code == "ffmpeg_failed"
    assert "No such file" in info.value.stderr
    assert info.value.message.endswith(".")


def test_missing_binary_is_a_media_error(monkeypatch):
    monkeypatch.setenv("OBSAPP_FFMPEG", "/nonexistent/ffmpeg")
    with pytest.raises(MediaError) as info:
        run(ffmpeg_cmd("-version"), timeout_s=5)
    assert info.value.code == "ffmpeg_failed"


def test_timeout_kills_the_whole_process_group(tmp_path):
    # A shell with two ffmpeg children, each writing its pid down once started: the group kill must reach both.
    slow = " ".join(ffmpeg_cmd(*SLOW_SOURCE))
    started = [tmp_path / "first.pid", tmp_path / "second.pid"]
    argv = ["sh", "-c", f"sh -c 'echo $$ > {started[0]}; exec {slow}' & "
                        f"sh -c 'echo $$ > {started[1]}; exec {slow}' & wait"]
    # the timeout is what is tested; children that start after it fired are killed as well (same group)
    thread, errors, pid = _start_and_capture_pid(lambda: run(argv, timeout_s=2))
    _finished(thread)
    assert isinstance(errors[0], MediaError) and errors[0].code == "timeout"
    assert _group_members(pid) == []
    assert pid not in live_pids()
    children = [int(path.read_text()) for path in started if path.exists()]
    assert all(not _running(child) for child in children)


def test_cancel_event_stops_ffmpeg():
    cancel = threading.Event()
    # a timeout far beyond any wait here: if the cancel were ignored the error would say "timeout"
    thread, errors, pid = _start_and_capture_pid(
        lambda: run(ffmpeg_cmd(*SLOW_SOURCE), timeout_s=2 * HANG_GUARD_S, cancel=cancel))
    cancel.set()
    _finished(thread)
    assert isinstance(errors[0], MediaError) and errors[0].code == "cancelled"
    assert _group_members(pid) == []
    assert live_pids() == []


def test_kill_all_stops_every_live_process():
    threads = []
    pids = []
    for _ in range(2):
        thread, errors, pid = _start_and_capture_pid(lambda: run(ffmpeg_cmd(*SLOW_SOURCE), timeout_s=60))
        threads.append((thread, errors))
        pids.append(pid)
    assert kill_all() == 2
    for thread, errors in threads:
        _finished(thread)
        assert errors and errors[0].code == "cancelled"
    assert live_pids() == []
    assert all(_group_members(pid) == [] for pid in pids)


def test_progress_is_monotonic_and_ends_at_one():
    seen: list[float] = []
    argv = ffmpeg_cmd("-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=4", "-c:v", "mpeg4", "-f", "null", "-")
    run(argv, timeout_s=60, progress=seen.append, duration_ms=4000)
    assert seen and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert all(0.0 <= value <= 1.0 for value in seen)


def test_on_stdout_streams_bounded_chunks():
    sizes: list[int] = []
    run(
        ffmpeg_cmd("-f", "lavfi", "-i", "sine=d=20:sample_rate=48000", "-f", "s16le", "-"),
        timeout_s=30,
        on_stdout=lambda chunk: sizes.append(len(chunk)),
    )
    assert sum(sizes) == 20 * 48000 * 2
    assert max(sizes) <= 64 * 1024
    assert len(sizes) > 10


def test_ffprobe_json(media_samples):
    data = ffprobe_json(media_samples["h264_aac_mp4"])
    assert {s["codec_type"] for s in data["streams"]} == {"video", "audio"}
