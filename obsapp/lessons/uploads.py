"""Uploads of lesson videos: the rules and the bytes of tus 1.0.0 uploads (the protocol's headers are read and
written by ``lessons/api.py``, which hands plain values here) and of the simple multipart upload.

Local store: bytes stream to ``media_store/tmp/uploads/<id>.part`` in bounded memory (1 MiB at a time); the
finished file is moved into place atomically and the lesson's ingest job is queued. State (offset, length,
expiry) lives in the ``uploads`` table, so any web process can continue an upload another one began.

S3 store (as tusd's S3 store does): each tus upload is one multipart upload of the bucket, aimed at the
lesson's original. Part n always holds the file's bytes ``[(n-1)*P, n*P)`` (P: 5 MiB, more for files over
48 GiB so 10,000 parts suffice), so a part sent twice has the same bytes whichever process sends it; bytes
past the last whole part wait in a tail object ``tmp/uploads/<id>.part/tail-<start>-<end>`` (its name says
which bytes, so it never changes once written). The offset (sum of the parts and the tail) and the parts'
ETags are committed to the ``uploads`` row only if the offset is still the one the request started from, so
successive PATCHes may land on any process or machine, and of two racing ones only one counts. The last
byte completes the multipart upload: the original appears whole in the bucket.
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
from obsapp.storage import S3Store, media_store

log = logging.getLogger(__name__)
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
CHUNK = 1024 * 1024
S3_MIN_PART = 5 * CHUNK  # S3's smallest part (but the last)
S3_MAX_PARTS = 10_000


class ChecksumMismatch(ObsError):
    status, code, default_message = 460, "checksum_mismatch", "The chunk's checksum does not match its bytes."


@dataclass(frozen=True)
class Checksum:
    """What the client says the chunk's digest is (``Upload-Checksum``, already decoded)."""

    algorithm: str  # one of CHECKSUM_ALGORITHMS
    digest: bytes


def part_path(upload_id: str) -> Path:
    return media_store().path(storage_keys.upload_part(upload_id))


def _bucket() -> S3Store | None:
    store = media_store()
    return store if isinstance(store, S3Store) else None


def s3_part_size(length: int) -> int:
    """Bytes per multipart part for a file of ``length`` (whole MiB, at least 5 MiB, at most 10,000 parts)."""
    size = max(S3_MIN_PART, -(-length // S3_MAX_PARTS))
    return -(-size // CHUNK) * CHUNK


def tail_key(upload_id: str, start: int, end: int) -> str:
    return f"{storage_keys.upload_part(upload_id)}/tail-{start}-{end}"


def has_data(upload_id: str) -> bool:
    """Whether bytes of an unfinished upload are stored (the part file, or tail objects in the bucket)."""
    bucket = _bucket()
    if bucket is None:
        return part_path(upload_id).exists()
    return next(iter(bucket.keys(storage_keys.upload_part(upload_id))), None) is not None


def _discard_data(upload_id: str, lesson_id: int, storage_upload_id: str | None) -> None:
    """Remove an unfinished upload's bytes (after the commit that ends it: plain values only)."""
    bucket = _bucket()
    if bucket is None:
        part_path(upload_id).unlink(missing_ok=True)
        return
    if storage_upload_id:
        bucket.multipart_abort(storage_keys.lesson_original(lesson_id), storage_upload_id)
    bucket.delete_prefix(storage_keys.upload_part(upload_id))


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
    bucket = _bucket()
    if bucket is not None:
        upload.storage_upload_id = bucket.multipart_create(storage_keys.lesson_original(lesson.id))
        upload.storage_parts = []
    else:
        path = part_path(upload.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    db.session.add(upload)
    db.session.flush()
    return upload


@contextmanager
def writing(upload: Upload) -> Iterator[BinaryIO]:
    """Hold the upload's data file, one writer at a time across threads and processes. The caller commits the
    new offset before letting go, so the next writer reads it (see ``lessons/api.py``). With the S3 store there
    is nothing to hold: the offset check when the chunk is committed decides (see ``write_chunk``)."""
    if _bucket() is not None:
        yield None
        return
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
    bucket = _bucket()
    if bucket is not None:
        return _write_chunk_s3(bucket, upload, offset, stream, checksum)
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


def _write_chunk_s3(bucket: S3Store, upload: Upload, offset: int, stream: BinaryIO,
                    checksum: Checksum | None) -> Upload:
    """``write_chunk`` into the upload's multipart upload: whole parts as they fill (at most one part in
    memory), the rest as the new tail object; then the new offset and parts, if nobody moved the offset."""
    if not upload.storage_upload_id:
        raise Gone("This upload's data is gone. Start the upload again.", code="upload_lost")
    key = storage_keys.lesson_original(upload.lesson_id)
    size = s3_part_size(upload.length)
    parts = list(upload.storage_parts or [])
    parts_end = len(parts) * size
    buffer = bytearray()
    if offset > parts_end:
        try:
            buffer += bucket.read_bytes(tail_key(upload.id, parts_end, offset))
        except FileNotFoundError as exc:
            raise Gone("This upload's data is gone. Start the upload again.", code="upload_lost") from exc
    digest = CHECKSUM_ALGORITHMS[checksum.algorithm]() if checksum else None
    received = 0
    failure: Exception | None = None
    new_parts: list[str] = []
    try:
        while True:
            try:
                block = stream.read(CHUNK)
            except Exception as exc:  # noqa: BLE001 - client went away mid-chunk: keep what we have
                failure = exc
                break
            if not block:
                break
            if offset + received + len(block) > upload.length:
                raise TooLarge("More bytes were sent than the Upload-Length given when the upload was created.")
            buffer += block
            received += len(block)
            if digest is not None:
                digest.update(block)
            while len(buffer) >= size:  # a part the same whichever request sends it: safe to send at once
                number = len(parts) + len(new_parts) + 1
                new_parts.append(bucket.multipart_put(key, upload.storage_upload_id, number, bytes(buffer[:size])))
                del buffer[:size]
        if checksum is not None and (failure is not None or digest.digest() != checksum.digest):
            raise ChecksumMismatch(headers={"Upload-Offset": str(offset)})
        end = offset + received
        if end == offset:
            return upload
        if end == upload.length and buffer:  # the last part may be small
            new_parts.append(bucket.multipart_put(key, upload.storage_upload_id, len(parts) + len(new_parts) + 1,
                                                  bytes(buffer)))
            buffer.clear()
        if buffer:
            bucket.put_bytes(tail_key(upload.id, (len(parts) + len(new_parts)) * size, end), bytes(buffer))
    except FileNotFoundError as exc:  # the multipart upload was aborted (lesson deleted, upload ended)
        raise Gone("This upload's data is gone. Start the upload again.", code="upload_lost") from exc
    result = db.session.execute(update(Upload).where(Upload.id == upload.id, Upload.offset == offset)
                                .values(offset=end, storage_parts=parts + new_parts))
    if result.rowcount != 1:
        raise Conflict("The upload changed while this chunk was being written.", code="offset_mismatch")
    if offset > parts_end:  # the old tail is now in a part or in the new tail
        uow.after_commit(bucket.delete, tail_key(upload.id, parts_end, offset))
    if failure is not None:
        log.info("Upload %s: connection dropped after %s bytes; kept them", upload.id, received)
    db.session.refresh(upload)
    if upload.offset == upload.length and upload.completed_at is None:
        _complete(upload)
    return upload


def _complete(upload: Upload) -> None:
    lesson = db.session.get(Lesson, upload.lesson_id)
    upload.completed_at = utcnow()
    bucket = _bucket()
    if lesson is None:
        uow.after_commit(_discard_data, upload.id, upload.lesson_id, upload.storage_upload_id)
        db.session.flush()
        return
    if bucket is not None:  # the original appears whole in the bucket; then the tails are litter
        bucket.multipart_complete(storage_keys.lesson_original(lesson.id), upload.storage_upload_id,
                                  list(upload.storage_parts or []))
        uow.after_commit(bucket.delete_prefix, storage_keys.upload_part(upload.id))
        services.start_processing(lesson, None, filename=upload.filename, size=upload.length)
        return
    services.start_processing(lesson, part_path(upload.id), filename=upload.filename, size=upload.length)


def terminate(actor: User, upload_id: str) -> None:
    upload = get_upload(actor, upload_id)
    upload.terminated_at = utcnow()
    db.session.flush()
    if upload.completed_at is None:
        uow.after_commit(_discard_data, upload.id, upload.lesson_id, upload.storage_upload_id)


def expire_abandoned() -> int:
    """Delete the data of uploads that expired unfinished; returns how many."""
    now = utcnow()
    stale = db.session.execute(select(Upload).where(
        Upload.completed_at.is_(None), Upload.terminated_at.is_(None), Upload.expires_at < now)).scalars().all()
    for upload in stale:
        _discard_data(upload.id, upload.lesson_id, upload.storage_upload_id)
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
