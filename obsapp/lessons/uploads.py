"""Uploads of lesson videos: the rules and the bytes of tus 1.0.0 uploads (the protocol's headers are read and
written by ``lessons/api.py``, which hands plain values here) and of the simple multipart upload.

Bytes stream to ``media_store/tmp/uploads/<id>.part`` in bounded memory (1 MiB at a time); the finished
file is moved into place atomically and the lesson's ingest job is queued. State (offset, length,
expiry) lives in the ``uploads`` table, so any web process can continue an upload another one began.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select, update

from obsapp import policy, storage_keys, uow
from obsapp.accounts.models import User, utcnow
from obsapp.errors import Conflict, Gone, NotFound, ObsError, TooLarge
from obsapp.extensions import db
from obsapp.lessons import services
from obsapp.lessons.models import Lesson, Upload
from obsapp.storage import media_store

log = logging.getLogger(__name__)
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
CHUNK = 1024 * 1024


class ChecksumMismatch(ObsError):
    status, code, default_message = 460, "checksum_mismatch", "The chunk's checksum does not match its bytes."


@dataclass(frozen=True)
class Checksum:
    """What the client says the chunk's digest is (``Upload-Checksum``, already decoded)."""

    algorithm: str  # one of CHECKSUM_ALGORITHMS
    digest: bytes


def part_path(upload_id: str) -> Path:
    return media_store().path(storage_keys.upload_part(upload_id))


def expires_at(upload: Upload) -> datetime:
    expires = upload.expires_at
    return expires.replace(tzinfo=utcnow().tzinfo) if expires.tzinfo is None else expires


def _is_expired(upload: Upload) -> bool:
    return upload.completed_at is None and expires_at(upload) < utcnow()


def get_upload(actor: User, upload_id: str) -> Upload:
    """The actor's own upload; another person's is simply not found."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or not policy.owns_upload(actor, upload) or upload.terminated_at is not None:
        raise NotFound("No such upload.")
    if _is_expired(upload):
        raise Gone("This upload expired before it was finished. Start the upload again.", code="upload_expired")
    return upload


def create(actor: User, lesson: Lesson, length: int, metadata: dict[str, str]) -> Upload:
    """Start an upload of ``length`` bytes for the lesson (tus creation)."""
    services.check_upload_allowed(actor, lesson, length)
    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    upload = Upload(id=secrets.token_hex(16), lesson_id=lesson.id, user_id=actor.id, length=length, offset=0,
                    upload_metadata=metadata, filename=(metadata.get("filename") or metadata.get("name") or "")[:255],
                    expires_at=utcnow() + timedelta(hours=hours))
    path = part_path(upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    db.session.add(upload)
    db.session.flush()
    return upload


@contextmanager
def writing(upload: Upload) -> Iterator[BinaryIO]:
    """Hold the upload's data file, one writer at a time across threads and processes. The caller commits the
    new offset before letting go, so the next writer reads it (see ``lessons/api.py``)."""
    path = part_path(upload.id)
    if not path.exists():
        raise Gone("This upload's data is gone. Start the upload again.", code="upload_lost")
    with path.open("r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict("Another request is writing to this upload right now.", code="upload_locked") from exc
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def check_offset(upload: Upload, offset: int) -> None:
    """Before reading a byte: the chunk must start at the server's offset."""
    if offset != upload.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the server's offset {upload.offset}.",
                       code="offset_mismatch", headers={"Upload-Offset": str(upload.offset)})


def check_length(upload: Upload, declared_length: int | None) -> None:
    """Before reading a byte: a chunk whose length is declared must fit in the upload."""
    if declared_length is not None and upload.offset + declared_length > upload.length:
        raise TooLarge("The chunk goes past the Upload-Length given when the upload was created.")


def write_chunk(upload: Upload, handle: BinaryIO, offset: int, stream: BinaryIO,
                checksum: Checksum | None = None) -> Upload:
    """Append ``stream`` at ``offset`` (held with ``writing``), 1 MiB at a time; keep what arrived if the client
    goes away, unless a checksum was given; start processing when the last byte is in."""
    digest = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
    received = 0
    handle.seek(offset)
    handle.truncate()
    failure: Exception | None = None
    while True:
        try:
            block = stream.read(CHUNK)
        except Exception as exc:  # noqa: BLE001 - client went away mid-chunk: keep what we have
            failure = exc
            break
        if not block:
            break
        if offset + received + len(block) > upload.length:
            handle.truncate(offset)
            raise TooLarge("More bytes were sent than the Upload-Length given when the upload was created.")
        handle.write(block)
        received += len(block)
        if digest is not None:
            digest.update(block)
    if checksum is not None and (failure is not None or digest.digest() != checksum.digest):
        handle.truncate(offset)
        raise ChecksumMismatch(headers={"Upload-Offset": str(offset)})
    handle.flush()
    os.fsync(handle.fileno())
    result = db.session.execute(update(Upload).where(Upload.id == upload.id, Upload.offset == offset)
                                .values(offset=offset + received))
    if result.rowcount != 1:
        raise Conflict("The upload changed while this chunk was being written.", code="offset_mismatch")
    if failure is not None:
        log.info("Upload %s: connection dropped after %s bytes; kept them", upload.id, received)
    db.session.refresh(upload)
    if upload.offset == upload.length and upload.completed_at is None:
        _complete(upload)
    return upload


def _complete(upload: Upload) -> None:
    lesson = db.session.get(Lesson, upload.lesson_id)
    upload.completed_at = utcnow()
    if lesson is None:
        uow.after_commit(part_path(upload.id).unlink, missing_ok=True)
        db.session.flush()
        return
    services.start_processing(lesson, part_path(upload.id), filename=upload.filename, size=upload.length)


def terminate(actor: User, upload_id: str) -> None:
    upload = get_upload(actor, upload_id)
    upload.terminated_at = utcnow()
    db.session.flush()
    if upload.completed_at is None:
        uow.after_commit(part_path(upload.id).unlink, missing_ok=True)


def expire_abandoned() -> int:
    """Delete the data of uploads that expired unfinished; returns how many."""
    now = utcnow()
    stale = db.session.execute(select(Upload).where(
        Upload.completed_at.is_(None), Upload.terminated_at.is_(None), Upload.expires_at < now)).scalars().all()
    for upload in stale:
        part_path(upload.id).unlink(missing_ok=True)
        upload.terminated_at = now
    db.session.flush()
    media_store().sweep_tmp(older_than_s=24 * 3600)
    return len(stale)


def simple_upload(actor: User, lesson: Lesson, source: Path, filename: str, *, owned: bool) -> Lesson:
    """The simple multipart upload: ``source`` is the spooled file (``owned``: ours to move or delete,
    else a file the request still holds, which is hard-linked into place)."""
    try:
        size = source.stat().st_size
        services.check_upload_allowed(actor, lesson, size)
        staged = media_store().tmp_root / f"simple-{secrets.token_hex(8)}"
        os.replace(source, staged) if owned else os.link(source, staged)
        services.start_processing(lesson, staged, filename=filename, size=size)
    finally:
        if owned:
            source.unlink(missing_ok=True)
    return lesson
