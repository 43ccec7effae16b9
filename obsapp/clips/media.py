"""Serving clip and reel media: the lesson's media serving (Range, ETag, private caching, X-Accel-Redirect)
after an access check on every request, with a readable file name for downloads."""

from __future__ import annotations

from flask import Response

from obsapp.clips import services
from obsapp.clips.models import Clip, Reel
from obsapp.clips.serialize import CLIP_FILES, REEL_FILES
from obsapp.errors import NotFound
from obsapp.lessons.media_serving import _send as send_media


def clip_key(clip: Clip, name: str) -> str:
    return f"{clip.media_prefix}/{name}"


def reel_key(reel: Reel, name: str) -> str:
    return f"{reel.media_prefix}/{name}"


def _respond(key: str, mimetype: str, filename: str | None) -> Response:
    response = send_media(key, mimetype)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def clip_response(clip: Clip, name: str, *, download: bool = False) -> Response:
    if clip.status != "ready" or name not in CLIP_FILES or (name == "captions.vtt" and not clip.captions):
        raise NotFound("No such media file.")
    filename = services.download_name(clip) if download and name == "video.mp4" else None
    return _respond(clip_key(clip, name), CLIP_FILES[name], filename)


def reel_response(reel: Reel, name: str, *, download: bool = False) -> Response:
    if reel.status != "ready" or name not in REEL_FILES:
        raise NotFound("No such media file.")
    filename = services.reel_download_name(reel) if download and name == "video.mp4" else None
    return _respond(reel_key(reel, name), REEL_FILES[name], filename)
