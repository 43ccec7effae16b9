"""Where things live in the media store: every key is made here, nowhere else.

One layout: ``<area>/<owner>/<id>/<name>`` with the areas of :data:`obsapp.storage.AREAS`:

    originals/lessons/<lesson>/original            the upload as received
    renditions/lessons/<lesson>/video.mp4          the web rendition
    derived/lessons/<lesson>/<name>                poster, sprites, thumbnails.vtt, waveform.json, frames/
    derived/lessons/<lesson>/clips/<clip>/<name>   a clip's files, inside its lesson's folder
    derived/reels/<reel>/<name>                    a reel's files (a reel spans lessons)
    tmp/uploads/<upload>.part                      a tus upload's bytes so far

A clip belongs to one lesson and dies with it, so its files sit in the lesson's folder: deleting a lesson
removes its clips' files without the lessons domain knowing about clips. Every install has stored its files
under these keys since clips and reels exist, so there is nothing to move.
"""

from __future__ import annotations


def lesson_prefixes(lesson_id: int) -> list[str]:
    """Every folder holding a lesson's files (its clips' too)."""
    return [f"originals/lessons/{lesson_id}", f"renditions/lessons/{lesson_id}", lesson_derived(lesson_id)]


def lesson_original(lesson_id: int) -> str:
    return f"originals/lessons/{lesson_id}/original"


def lesson_rendition(lesson_id: int) -> str:
    return f"renditions/lessons/{lesson_id}/video.mp4"


def lesson_derived(lesson_id: int, name: str = "") -> str:
    return f"derived/lessons/{lesson_id}" + (f"/{name}" if name else "")


def clip_prefix(lesson_id: int, clip_id: int) -> str:
    return lesson_derived(lesson_id, f"clips/{clip_id}")


def reel_prefix(reel_id: int) -> str:
    return f"derived/reels/{reel_id}"


def upload_part(upload_id: str) -> str:
    return f"tmp/uploads/{upload_id}.part"
