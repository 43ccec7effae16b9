"""A tus 1.0.0 server (core, creation, creation-with-upload, termination, checksum, expiration) for
lesson videos, and the simple multipart upload.

Bytes stream to ``media_store/tmp/uploads/<id>.part`` in bounded memory (1 MiB at a time); the finished
file is moved into place atomically and the lesson's ingest job is queued. State (offset, length,
expiry) lives in the ``uploads`` table, so any web process can continue an upload another one began.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import logging
import os
import secrets
from contextlib import contextmanager
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

from flask import current_app, request, url_for
from sqlalchemy import select, update

from obsapp.accounts.models import User, utcnow
from obsapp.errors import BadRequest, Conflict, Gone, NotFound, ObsError, TooLarge, UnsupportedMedia
from obsapp.extensions import db
from obsapp.lessons import services
from obsapp.lessons.models import Lesson, Upload
from obsapp.storage import media_store

log = logging.getLogger(__name__)
TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}
CHUNK = 1024 * 1024
OFFSET_TYPE = "application/offset+octet-stream"


class ChecksumMismatch(ObsError):
    status, code, default_message = 460, "checksum_mismatch", "The chunk's checksum does not match its bytes."


class TusVersionMismatch(ObsError):
    status, code, default_message = 412, "tus_version", "This server speaks tus 1.0.0 (send Tus-Resumable: 1.0.0)."


def part_path(upload_id: str) -> Path:
    return media_store().tmp_root / "uploads" / f"{upload_id}.part"


def tus_headers() -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(current_app.config["MAX_UPLOAD_BYTES"]),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def require_tus_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise TusVersionMismatch(headers={"Tus-Version": TUS_VERSION})


def _int_header(name: str, required: bool = True) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        if required:
            raise BadRequest(f"The {name} header is required.", code="missing_header")
        return None
    if not raw.isdigit():
        raise BadRequest(f"The {name} header must be a non-negative whole number.", code="bad_header")
    return int(raw)


def parse_metadata(raw: str | None) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` (values may be absent)."""
    metadata: dict[str, str] = {}
    if not raw:
        return metadata
    for pair in raw.split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        if not key or " " in value.strip():
            raise BadRequest("Upload-Metadata is not a list of 'key base64value' pairs.", code="bad_metadata")
        try:
            metadata[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace") if value else ""
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Upload-Metadata value for {key!r} is not base64.", code="bad_metadata") from exc
    return metadata


def _expires(upload: Upload) -> str:
    expires = upload.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    return format_datetime(expires, usegmt=True)


def _is_expired(upload: Upload) -> bool:
    expires = upload.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    return upload.completed_at is None and expires < utcnow()


def get_upload(actor: User, upload_id: str) -> Upload:
    """The actor's own upload; another person's is simply not found."""
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.user_id != actor.id or upload.terminated_at is not None:
        raise NotFound("No such upload.")
    if _is_expired(upload):
        raise Gone("This upload expired before it was finished. Start the upload again.", code="upload_expired")
    return upload


def create(actor: User, lesson: Lesson) -> tuple[Upload, dict[str, str]]:
    """POST to a lesson's upload_url. Returns the upload and the response headers."""
    require_tus_version()
    if request.headers.get("Upload-Defer-Length"):
        raise BadRequest("Deferred upload length is not supported; send Upload-Length.", code="defer_length")
    length = _int_header("Upload-Length")
    services.check_upload_allowed(actor, lesson, length)
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    hours = current_app.config["UPLOAD_EXPIRY_HOURS"]
    upload = Upload(id=secrets.token_hex(16), lesson_id=lesson.id, user_id=actor.id, length=length, offset=0,
                    upload_metadata=metadata, filename=(metadata.get("filename") or metadata.get("name") or "")[:255],
                    expires_at=utcnow() + timedelta(hours=hours))
    path = part_path(upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    db.session.add(upload)
    db.session.commit()
    headers = {"Location": url_for("uploads_api.upload", upload_id=upload.id, _external=True),
               "Upload-Expires": _expires(upload), "Upload-Offset": "0"}
    if request.content_length and request.headers.get("Content-Type") == OFFSET_TYPE:
        upload = write_chunk(actor, upload.id, expected_offset=0)
        headers["Upload-Offset"] = str(upload.offset)
    return upload, headers


@contextmanager
def _locked(path: Path):
    """One writer per upload at a time, across threads and processes."""
    with path.open("r+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict("Another request is writing to this upload right now.", code="upload_locked") from exc
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _checksum() -> tuple[str, bytes] | None:
    raw = request.headers.get("Upload-Checksum")
    if not raw:
        return None
    algorithm, _, value = raw.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(f"Checksum algorithm {algorithm!r} is not supported (use sha1, md5 or sha256).",
                           code="checksum_algorithm")
    try:
        return algorithm, base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Upload-Checksum is not base64.", code="bad_checksum") from exc


def write_chunk(actor: User, upload_id: str, expected_offset: int | None = None) -> Upload:
    """PATCH: append the request body at Upload-Offset, streaming, keeping what arrived if the link drops."""
    upload = get_upload(actor, upload_id)
    if request.mimetype != OFFSET_TYPE:
        raise UnsupportedMedia(f"PATCH bodies must be sent as {OFFSET_TYPE}.")
    offset = expected_offset if expected_offset is not None else _int_header("Upload-Offset")
    if offset != upload.offset:
        raise Conflict(f"Upload-Offset {offset} does not match the server's offset {upload.offset}.",
                       code="offset_mismatch", headers={"Upload-Offset": str(upload.offset)})
    checksum = _checksum()
    declared = request.content_length
    if declared is not None and upload.offset + declared > upload.length:
        raise TooLarge("The chunk goes past the Upload-Length given when the upload was created.")
    digest = CHECKSUM_ALGORITHMS[checksum[0]]() if checksum else None
    path = part_path(upload.id)
    if not path.exists():
        raise Gone("This upload's data is gone. Start the upload again.", code="upload_lost")
    received = 0
    with _locked(path) as handle:
        handle.seek(offset)
        handle.truncate()
        stream = request.stream
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
        if checksum is not None and (failure is not None or digest.digest() != checksum[1]):
            handle.truncate(offset)
            raise ChecksumMismatch(headers={"Upload-Offset": str(offset)})
        handle.flush()
        os.fsync(handle.fileno())
        new_offset = offset + received
        result = db.session.execute(update(Upload).where(Upload.id == upload.id, Upload.offset == offset)
                                    .values(offset=new_offset))
        db.session.commit()
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
        part_path(upload.id).unlink(missing_ok=True)
        db.session.commit()
        return
    services.start_processing(lesson, part_path(upload.id), filename=upload.filename, size=upload.length)


def terminate(actor: User, upload_id: str) -> None:
    upload = get_upload(actor, upload_id)
    upload.terminated_at = utcnow()
    db.session.commit()
    if upload.completed_at is None:
        part_path(upload.id).unlink(missing_ok=True)


def expire_abandoned() -> int:
    """Delete the data of uploads that expired unfinished; returns how many."""
    now = utcnow()
    stale = db.session.execute(select(Upload).where(
        Upload.completed_at.is_(None), Upload.terminated_at.is_(None), Upload.expires_at < now)).scalars().all()
    for upload in stale:
        part_path(upload.id).unlink(missing_ok=True)
        upload.terminated_at = now
    db.session.commit()
    media_store().sweep_tmp(older_than_s=24 * 3600)
    return len(stale)


def simple_upload(actor: User, lesson: Lesson) -> Lesson:
    """POST /lessons/{id}/video, multipart ``file``: streamed to the store's tmp/ by the request class."""
    length = request.content_length
    if length is not None and length > current_app.config["MAX_UPLOAD_BYTES"] + 64 * 1024:
        services.check_upload_allowed(actor, lesson, length)  # raises 413 with the readable message
    permissions_checked = services.get_lesson(actor, lesson.id, "manage")
    file = request.files.get("file")
    if file is None or not file.filename and not getattr(file.stream, "name", None):
        raise BadRequest("Send the video as a multipart form field named 'file'.", fields={"file": ["Required."]})
    source = Path(getattr(file.stream, "name", ""))
    if not source.is_file():  # a tiny part kept in memory by the parser: write it out
        source = media_store().tmp_root / f"form-{secrets.token_hex(8)}"
        file.save(source)
        created = True
    else:
        created = False
    try:
        size = source.stat().st_size
        services.check_upload_allowed(actor, permissions_checked, size)
        staged = media_store().tmp_root / f"simple-{secrets.token_hex(8)}"
        os.link(source, staged) if not created else os.replace(source, staged)
        services.start_processing(lesson, staged, filename=file.filename, size=size)
    finally:
        if created:
            source.unlink(missing_ok=True)
    return lesson
