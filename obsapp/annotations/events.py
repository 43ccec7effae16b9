"""A tiny in-process publish/subscribe hook for annotation changes (watch-together forwards them)."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
_subscribers: list[Callable[[int, str, dict], None]] = []


def subscribe(callback: Callable[[int, str, dict], None]) -> None:
    if callback not in _subscribers:
        _subscribers.append(callback)


def publish(lesson_id: int, event: str, payload: dict) -> None:
    """Tell subscribers; a failing subscriber never breaks the request that made the change."""
    for callback in list(_subscribers):
        try:
            callback(lesson_id, event, payload)
        except Exception:  # noqa: BLE001
            log.exception("annotation event subscriber failed")
