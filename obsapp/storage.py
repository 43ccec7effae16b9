"""MediaStore: media files by key (``lessons/12/video.mp4``) under one root, written atomically.

Local folder today; the same small interface can be backed by S3-compatible storage later.
Every write goes to ``tmp/`` first and is moved into place with ``os.replace``, so readers never see
half a file and a crash leaves at most a stray temporary file (cleaned up by ``sweep_tmp``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from flask import Response, current_app, send_file

from obsapp.errors import NotFound

AREAS = ("originals", "renditions", "derived", "tmp")


class InvalidKey(ValueError):
    pass


class MediaStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    # --- layout --------------------------------------------------------------------------------
    def ensure_layout(self) -> None:
        for area in AREAS:
            (self.root / area).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp" / "uploads").mkdir(exist_ok=True)

    @property
    def tmp_root(self) -> Path:
        return self.root / "tmp"

    def path(self, key: str) -> Path:
        """The local path of ``key`` (validated: no absolute paths, no ``..``)."""
        pure = PurePosixPath(key)
        if not key or pure.is_absolute() or ".." in pure.parts or "\\" in key or pure.parts[0] not in AREAS:
            raise InvalidKey(f"invalid media key {key!r}")
        return self.root.joinpath(*pure.parts)

    # --- reading -------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def open(self, key: str):
        return self.path(key).open("rb")

    # --- writing -------------------------------------------------------------------------------
    @contextmanager
    def temp_dir(self, prefix: str = "work-") -> Iterator[Path]:
        """A private working folder inside the store (same filesystem, so moves out of it are atomic)."""
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.tmp_root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def put_file(self, key: str, source: str | os.PathLike, *, move: bool = True) -> Path:
        """Place ``source`` at ``key`` atomically (moved when on the same filesystem, else copied first)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = Path(source)
        if move:
            try:
                os.replace(source, target)
                return target
            except OSError:
                pass
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp_name)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        if move:
            source.unlink(missing_ok=True)
        return target

    def put_bytes(self, key: str, data: bytes) -> Path:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".incoming-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Delete everything under a key prefix, e.g. ``derived/lessons/12``."""
        path = self.path(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def sweep_tmp(self, older_than_s: float) -> int:
        """Remove stray working files and folders in tmp/ (not uploads, which expire on their own)."""
        removed = 0
        cutoff = time.time() - older_than_s
        if not self.tmp_root.exists():
            return 0
        for entry in self.tmp_root.iterdir():
            if entry.name == "uploads":
                continue
            try:
                if entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def check_writable(self) -> None:
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".health-", dir=self.tmp_root)
        os.close(fd)
        os.unlink(name)


def media_store() -> MediaStore:
    return current_app.extensions["obsapp.media_store"]


def serve(key: str, mimetype: str, *, download_name: str | None = None) -> Response:
    """The one way media leaves the store over HTTP (lessons, clips, reels), after the caller checked access:
    Range, If-Range and ETag from Werkzeug, private caching, or handed to nginx with X-Accel-Redirect when
    ``X_ACCEL_REDIRECT_PREFIX`` is set; ``download_name`` makes it a download with that file name."""
    path = media_store().path(key)
    if not path.is_file():
        raise NotFound("No such media file.")
    prefix = current_app.config.get("X_ACCEL_REDIRECT_PREFIX")
    if prefix:  # nginx serves the bytes (internal location mapped onto the media root)
        response = Response(status=200, mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
    else:
        response = send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=3600)
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response
