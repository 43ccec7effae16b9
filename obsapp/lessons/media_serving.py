"""Serving a lesson's media (access checked on every request by the caller) through ``storage.serve``, and
exact frames, grabbed once and cached."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from flask import Response

from obsapp.errors import Conflict, Forbidden, NotFound
from obsapp.lessons import services
from obsapp.lessons.models import Lesson
from obsapp.media import MediaError
from obsapp.media.faces import pixelate_faces_in_image
from obsapp.media.frames import frame_at
from obsapp.media.run import RemoteInput
from obsapp.storage import media_store, serve

NAMES = {
    "video.mp4": "video/mp4",
    "poster.jpg": "image/jpeg",
    "thumbnails.vtt": "text/vtt; charset=utf-8",
    "waveform.json": "application/json",
}
SPRITE = re.compile(r"^sprite-\d{1,4}\.jpg$")
_frame_locks: dict[str, threading.Lock] = {}
_frame_locks_guard = threading.Lock()


def media_key(lesson: Lesson, name: str) -> tuple[str, str]:
    if name == "video.mp4":
        return services.rendition_key(lesson), NAMES[name]
    if name in NAMES:
        return services.derived_key(lesson, name), NAMES[name]
    if SPRITE.match(name):
        return services.derived_key(lesson, name), "image/jpeg"
    raise NotFound("No such media file.")


ANONYMISING_MESSAGE = ("This lesson's video is being anonymised: not everyone filmed consented, so you will see it "
                       "with every face blurred. Try again later.")


def media_response(lesson: Lesson, name: str, *, original: bool = True) -> Response:
    """A lesson's media file. ``original`` False (policy: a viewer of a lesson whose consent is incomplete who
    is neither its owner nor one of their mentors): the anonymised rendition instead of the video (409
    ``being_anonymised`` until it is made), the poster with its faces pixelated, no preview pictures (403
    ``anonymised_only``)."""
    if lesson.status != "ready":
        raise NotFound("This lesson's media is not ready yet.")
    key, mimetype = media_key(lesson, name)
    if not original:
        if name == "video.mp4":
            key = services.anonymised_key(lesson)
            if not media_store().exists(key):
                raise Conflict(ANONYMISING_MESSAGE, code="being_anonymised")
        elif name == "poster.jpg":
            key = _blurred_poster(lesson, key)
        elif name != "waveform.json":
            raise Forbidden("Preview pictures of this lesson are not shown to you: not everyone filmed consented, so "
                            "you see only its anonymised video.", code="anonymised_only")
    return serve(key, mimetype)


def _blurred_poster(lesson: Lesson, poster_key: str) -> str:
    key = services.derived_key(lesson, f"anonymised/poster-v{lesson.media_version}.jpg")
    store = media_store()
    if store.exists(key):
        return key
    with _frame_locks_guard:
        lock = _frame_locks.setdefault(key, threading.Lock())
    with lock:
        if not store.exists(key):
            with store.temp_dir("poster-") as work:
                try:
                    with store.local_copy(poster_key) as poster:
                        pixelate_faces_in_image(poster, work / "poster.jpg")
                except (FileNotFoundError, MediaError) as exc:
                    raise NotFound("This lesson has no poster.") from exc
                store.put_file(key, work / "poster.jpg")
    with _frame_locks_guard:
        _frame_locks.pop(key, None)
    return key


@contextmanager
def _video_input(store, key: str) -> Iterator[Path | RemoteInput]:
    """A stored video as ffmpeg reads it without a copy: the stored file, or a short-lived presigned URL of the
    bucket that ffmpeg reads by ranges (the index and the second around the frame, not the object)."""
    try:
        with store.media_input(key) as source:
            yield source
    except FileNotFoundError as exc:
        raise NotFound("This lesson's video file is missing.") from exc


def frame_response(lesson: Lesson, t_ms: int, width: int | None, *, original: bool = True) -> Response:
    """The exact frame at t_ms (clamped to the video), cached per media version; faces pixelated when the lesson
    blurs what leaves it. ``original`` False (a viewer who gets only the anonymised video): the frame of the
    anonymised rendition once it is made (the picture that viewer watches), pixelated again where a face is still
    found; until then the original's frame, pixelated."""
    services.require_ready(lesson)
    duration = lesson.duration_ms or 0
    fps_num, _, fps_den = (lesson.fps or "30/1").partition("/")
    frame_ms = 1000 * int(fps_den or 1) / max(1, int(fps_num or 30))
    t_ms = int(min(t_ms, max(0, duration - frame_ms)))
    width = width if width is None else max(16, min(width, lesson.width or width))
    # Faces are blurred in everything that leaves a lesson that asks for it (its owner's choice, or its consent).
    blur = bool(lesson.blur_faces_default)
    anonymised = not original and services.anonymised_ready(lesson)
    source_key = services.anonymised_key(lesson) if anonymised else services.rendition_key(lesson)
    key = services.derived_key(lesson, f"frames/v{lesson.media_version}-{t_ms}-{width or 0}"
                                       f"{'-anonymised' if anonymised else ''}{'-blurred' if blur else ''}.jpg")
    store = media_store()
    if not store.exists(key):
        with _frame_locks_guard:
            lock = _frame_locks.setdefault(key, threading.Lock())
        with lock:
            if not store.exists(key):
                with store.temp_dir("frame-") as work, _video_input(store, source_key) as video:
                    out = work / "frame.jpg"
                    try:
                        frame_at(video, t_ms, out, width=width,
                                 duration_ms=duration or None, fps=Fraction(lesson.fps) if lesson.fps else None)
                        if blur:
                            pixelate_faces_in_image(out, out)
                    except MediaError as exc:
                        raise NotFound(f"Could not read a frame at {t_ms} ms: {exc.message}") from exc
                    store.put_file(key, out)
        with _frame_locks_guard:
            _frame_locks.pop(key, None)
    return serve(key, "image/jpeg")
