"""Serving clip and reel media through ``storage.serve`` (as lessons do) after an access check on every
request, with a readable file name for downloads."""

from __future__ import annotations

from flask import Response

from obsapp.clips import services
from obsapp.clips.models import Clip, Reel
from obsapp.clips.serialize import CLIP_FILES, REEL_FILES
from obsapp.errors import NotFound
from obsapp.storage import serve


def clip_key(clip: Clip, name: str) -> str:
    return f"{clip.media_prefix}/{name}"


def reel_key(reel: Reel, name: str) -> str:
    return f"{reel.media_prefix}/{name}"


def clip_response(clip: Clip, name: str, *, download: bool = False) -> Response:
    if clip.status != "ready" or name not in CLIP_FILES or (name == "captions.vtt" and not clip.captions):
        raise NotFound("No such media file.")
    filename = services.download_name(clip) if download and name == "video.mp4" else None
    return serve(clip_key(clip, name), CLIP_FILES[name], download_name=filename)


def reel_response(reel: Reel, name: str, *, download: bool = False) -> Response:
    if reel.status != "ready" or name not in REEL_FILES:
        raise NotFound("No such media file.")
    filename = services.reel_download_name(reel) if download and name == "video.mp4" else None
    return serve(reel_key(reel, name), REEL_FILES[name], download_name=filename)
