"""run(): timeouts, cancellation and shutdown really kill the processes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from obsapp.media import MediaError, ffprobe_json, kill_all
from obsapp.media.run import ffmpeg_cmd, live_pids, run

SLOW_SOURCE = ["-re", "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=600", "-f", "null", "-"]


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
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = set(live_pids()) - before
        if new:
            return thread, errors, new.pop()
        time.sleep(0.01)
    raise AssertionError("process did not start")


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


def test_timeout_kills_the_whole_process_group():
    # A shell with two ffmpeg children: the group kill must reach both.
    slow = " ".join(ffmpeg_cmd(*SLOW_SOURCE))
    argv = ["sh", "-c", f"{slow} & {slow}; wait"]
    thread, errors, pid = _start_and_capture_pid(lambda: run(argv, timeout_s=1))
    time.sleep(0.3)
    assert len(_group_members(pid)) >= 2
    started = time.monotonic()
    thread.join(15)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5
    assert isinstance(errors[0], MediaError) and errors[0].code == "timeout"
    assert _group_members(pid) == []
    assert pid not in live_pids()


def test_cancel_event_stops_ffmpeg():
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(MediaError) as info:
        run(ffmpeg_cmd(*SLOW_SOURCE), timeout_s=60, cancel=cancel)
    assert info.value.code == "cancelled"
    assert time.monotonic() - started < 5
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
        thread.join(10)
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
