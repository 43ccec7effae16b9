"""Waiting in tests without guessing how long things take.

A test waits for the state that matters (a job done, a server answering, an event received) and never for a
fixed time. Every wait still has a ceiling, but only as a guard against a hang: it is minutes long, far beyond
anything a busy machine needs, so that load can make a test slower but never make it fail.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")

HANG_GUARD_S = 300.0
"""How long any wait may take before the test calls it a hang (not a budget: nothing normal comes close)."""

_POLL_S = 0.05


def wait_until(probe: Callable[[], T], what: str, ceiling_s: float = HANG_GUARD_S) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail after ``ceiling_s`` (a hang)."""
    give_up = time.monotonic() + ceiling_s
    pause = threading.Event()
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"still waiting after {ceiling_s:g} s (a hang): {what}")
        pause.wait(_POLL_S)


def wait_for_server(url: str, process: subprocess.Popen, log_path: Path | None = None,
                    ceiling_s: float = HANG_GUARD_S) -> None:
    """Wait until the server ``process`` answers ``GET url/healthz`` with 200, failing at once (with its log)
    if the process exits first: a server that cannot start is reported, not waited for."""

    def answered() -> bool:
        if process.poll() is not None:
            log = log_path.read_text() if log_path and log_path.exists() else "(no log)"
            raise RuntimeError(f"the server exited with {process.returncode} before answering:\n{log}")
        try:
            # a connection may be accepted (the socket is bound) long before a worker answers: wait for the answer
            return requests.get(url + "/healthz", timeout=HANG_GUARD_S).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(answered, f"{url}/healthz to answer 200", ceiling_s)


def job_settled(fetch: Callable[[], dict], settled: tuple[str, ...] = ("ready", "failed"),
                key: str = "status") -> dict:
    """Poll ``fetch()`` (a resource as JSON) until its ``key`` is one of ``settled``; return it."""
    last: dict = {}

    def probe() -> dict | None:
        nonlocal last
        last = fetch()
        return last if last.get(key) in settled else None

    try:
        return wait_until(probe, f"{key} to become one of {settled}")
    except AssertionError as error:
        raise AssertionError(f"{error}; last seen: {last}") from None
