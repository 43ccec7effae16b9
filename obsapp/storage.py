"""The media store: media files by key (``lessons/12/video.mp4``), in a local folder or an S3 bucket.

``OBSAPP_STORAGE=local`` (the default): :class:`LocalStore`, one folder (``OBSAPP_MEDIA_ROOT``). Every write goes
to ``tmp/`` first and is moved into place with ``os.replace``, so readers never see half a file and a crash
leaves at most a stray temporary file (cleaned up by ``sweep_tmp``).

``OBSAPP_STORAGE=s3``: :class:`S3Store`, every original, rendition, derived file, clip and reel in one bucket
(``OBSAPP_S3_BUCKET``, boto3); the local folder is only scratch space (``tmp/``) for a job's working files and
inputs fetched with ``local_copy``; ``media_input`` gives ffmpeg a short-lived presigned URL instead, which it
reads by ranges (an exact frame of a long rendition needs its index and one second of it). An object appears
whole when its upload completes, so readers never see half a file there either.

Both answer the same interface (``exists``, ``stat``, ``open``, ``read_bytes``, ``put_file``, ``put_bytes``,
``delete``, ``delete_prefix``, ``keys``, ``local_copy``, ``media_input``, ``temp_dir``); ``serve`` sends a key
over HTTP with Range, If-Range and ETag from either. tus uploads use the S3 multipart calls (``multipart_*``)
directly.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from flask import Response, current_app, redirect, request, send_file

from obsapp.errors import NotFound, error_response
from obsapp.media.run import RemoteInput

log = logging.getLogger(__name__)

AREAS = ("originals", "renditions", "derived", "tmp")
MEDIA_INPUT_EXPIRY_S = 600  # media_input: long enough for the ffmpeg runs of one request (each at most a few minutes)
S3_STREAM_CHUNK = 256 * 1024


class InvalidKey(ValueError):
    pass


class StorageError(RuntimeError):
    """The media store could not be reached or refused an operation."""


@dataclass(frozen=True)
class Stat:
    size: int
    etag: str  # an opaque entity tag (without quotes)
    modified: datetime


def check_key(key: str) -> PurePosixPath:
    """``key`` as a path (validated: relative, no ``..`` or backslashes, in one of the areas)."""
    pure = PurePosixPath(key)
    if not key or pure.is_absolute() or ".." in pure.parts or "\\" in key or pure.parts[0] not in AREAS:
        raise InvalidKey(f"invalid media key {key!r}")
    return pure


class _Scratch:
    """Scratch space on this machine: ``<root>/tmp`` (working folders of jobs, spooled request bodies)."""

    root: Path
    kind = "local"

    @property
    def tmp_root(self) -> Path:
        return self.root / "tmp"

    @contextmanager
    def temp_dir(self, prefix: str = "work-") -> Iterator[Path]:
        """A private working folder (inside the store's folder, so moves out of it are atomic)."""
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.tmp_root))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

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

    def _check_scratch_writable(self) -> None:
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".health-", dir=self.tmp_root)
        os.close(fd)
        os.unlink(name)

class LocalStore(_Scratch):
    """Media files in one folder (``OBSAPP_MEDIA_ROOT``)."""

    kind = "local"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()

    # --- layout --------------------------------------------------------------------------------
    def ensure_layout(self) -> None:
        for area in AREAS:
            (self.root / area).mkdir(parents=True, exist_ok=True)
        (self.root / "tmp" / "uploads").mkdir(exist_ok=True)

    def path(self, key: str) -> Path:
        """The local path of ``key`` (validated: no absolute paths, no ``..``)."""
        return self.root.joinpath(*check_key(key).parts)

    # --- reading -------------------------------------------------------------------------------
    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        return self.path(key).stat().st_size

    def stat(self, key: str) -> Stat:
        """Size, entity tag (as Werkzeug makes it for a file) and time of last change; FileNotFoundError."""
        info = self.path(key).stat()
        tag = f"{info.st_mtime}-{info.st_size}-{key}"
        return Stat(info.st_size, hashlib.sha256(tag.encode()).hexdigest(), datetime.fromtimestamp(info.st_mtime, UTC))

    def open(self, key: str):
        return self.path(key).open("rb")

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every stored key under ``prefix`` (a folder key, or "" for all), sorted; not the scratch space."""
        base = self.path(prefix) if prefix else self.root
        if base.is_file():
            yield prefix
            return
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(self.root).as_posix()
            if path.is_file() and not rel.startswith("tmp/") and not path.name.startswith(".incoming-"):
                yield rel

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A local file with the key's bytes, for ffmpeg: here, the stored file itself (read only!)."""
        path = self.path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        yield path

    @contextmanager
    def media_input(self, key: str) -> Iterator[Path]:
        """What ffmpeg reads for the key without a copy: here, the stored file itself (read only!)."""
        with self.local_copy(key) as path:
            yield path

    # --- writing -------------------------------------------------------------------------------
    def put_file(self, key: str, source: str | os.PathLike, *, move: bool = True) -> None:
        """Place ``source`` at ``key`` atomically (moved when on the same filesystem, else copied first)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = Path(source)
        if move:
            try:
                os.replace(source, target)
                return
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

    def put_bytes(self, key: str, data: bytes) -> None:
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

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Delete everything under a key prefix, e.g. ``derived/lessons/12``."""
        path = self.path(prefix)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def check_writable(self) -> None:
        self._check_scratch_writable()

    def describe(self) -> str:
        return str(self.root)


class S3Store(_Scratch):
    """Media objects in one bucket of an S3-compatible service; ``root`` is this machine's scratch folder."""

    kind = "s3"

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 scratch_root: str | os.PathLike, presign_expiry_s: int = 0):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.root = Path(scratch_root).resolve()
        self.presign_expiry_s = presign_expiry_s
        # Path-style addressing for a custom endpoint (MinIO, SeaweedFS: no per-bucket DNS names); credentials
        # from the standard places (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role).
        config = Config(s3={"addressing_style": "path" if self.endpoint_url else "auto"}, signature_version="s3v4",
                        retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                        max_pool_connections=32)
        self.client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, region_name=region or None,
                                                     config=config)
        from botocore.exceptions import ClientError

        self._client_error = ClientError

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound", "NoSuchUpload")

    # --- layout --------------------------------------------------------------------------------
    def ensure_layout(self) -> None:
        """The scratch folder, and the bucket (created when it does not exist yet)."""
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except self._client_error as exc:
            if not self._missing(exc):
                raise
            self.client.create_bucket(Bucket=self.bucket)

    def check_writable(self) -> None:
        """The scratch folder is writable and the bucket answers (raises OSError otherwise, as /healthz expects)."""
        self._check_scratch_writable()
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - any failure: unhealthy
            raise OSError(f"bucket {self.bucket}: {exc.__class__.__name__}") from exc

    def describe(self) -> str:
        return f"s3://{self.bucket}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")

    # --- reading -------------------------------------------------------------------------------
    def stat(self, key: str) -> Stat:
        """Size, ETag and last change of the object; FileNotFoundError when there is none."""
        check_key(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except self._client_error as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise
        return Stat(int(head["ContentLength"]), str(head.get("ETag", "")).strip('"'), head["LastModified"])

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except FileNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        return self.stat(key).size

    def open(self, key: str, start: int = 0, stop: int | None = None):
        """A readable stream of the object's bytes ``[start, stop)`` (the whole object by default)."""
        check_key(key)
        extra = {}
        if start or stop is not None:
            extra["Range"] = f"bytes={start}-" + ("" if stop is None else str(stop - 1))
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except self._client_error as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (the key itself and ``prefix/...``), in key order."""
        if prefix:
            check_key(prefix)
            if self.exists(prefix):
                yield prefix
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{prefix}/" if prefix else ""):
            for item in page.get("Contents", []):
                yield item["Key"]

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """The object downloaded to a scratch file, removed afterwards."""
        check_key(key)
        with self.temp_dir("fetch-") as work:
            target = work / PurePosixPath(key).name
            try:
                self.client.download_file(self.bucket, key, str(target))
            except self._client_error as exc:
                if self._missing(exc):
                    raise FileNotFoundError(key) from exc
                raise
            yield target

    @contextmanager
    def media_input(self, key: str) -> Iterator[RemoteInput]:
        """What ffmpeg reads for the key without a copy: a presigned URL valid a few minutes, which ffmpeg reads
        by HTTP ranges (seeking as in a file), so nothing of the object lands in the scratch folder.
        FileNotFoundError when there is no such object."""
        self.stat(key)
        yield RemoteInput(self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=MEDIA_INPUT_EXPIRY_S))

    # --- writing -------------------------------------------------------------------------------
    def put_file(self, key: str, source: str | os.PathLike, *, move: bool = True) -> None:
        """Upload ``source`` to ``key`` (multipart for large files: the object appears when complete);
        ``move`` removes the local file afterwards."""
        check_key(key)
        self.client.upload_file(str(source), self.bucket, key)
        if move:
            Path(source).unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        check_key(key)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, key: str) -> None:
        check_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> None:
        """Delete the object ``prefix`` and every object under ``prefix/``, and abort unfinished multipart
        uploads there (a tus upload in progress)."""
        check_key(prefix)
        batch: list[dict] = []
        for key in self.keys(prefix):
            batch.append({"Key": key})
            if len(batch) == 1000:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
                batch = []
        if batch:
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Uploads", []):
                if item["Key"] == prefix or item["Key"].startswith(prefix + "/"):
                    self.multipart_abort(item["Key"], item["UploadId"])

    # --- multipart (tus uploads) ---------------------------------------------------------------
    def multipart_create(self, key: str) -> str:
        check_key(key)
        return self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]

    def multipart_put(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Upload part ``number`` (1-based); its ETag. A part sent again under the same number replaces it."""
        try:
            return self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                           Body=data)["ETag"]
        except self._client_error as exc:
            if self._missing(exc):
                raise FileNotFoundError(key) from exc
            raise

    def multipart_complete(self, key: str, upload_id: str, etags: list[str]) -> None:
        parts = [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)]
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                              MultipartUpload={"Parts": parts})

    def multipart_abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except self._client_error as exc:
            if not self._missing(exc):
                raise

    # --- serving ---------------------------------------------------------------------------------
    def presigned_url(self, key: str, mimetype: str, download_name: str | None = None) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": mimetype}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.presign_expiry_s)


Store = LocalStore | S3Store
MediaStore = LocalStore  # the local store's name before there were two


def make_store(config) -> Store:
    """The store the settings ask for (``OBSAPP_STORAGE``)."""
    if config.get("STORAGE", "local") == "s3":
        return S3Store(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL") or None,
                       region=config.get("S3_REGION") or None, scratch_root=config["MEDIA_ROOT"],
                       presign_expiry_s=int(config.get("S3_PRESIGN_EXPIRY_S") or 0))
    return LocalStore(config["MEDIA_ROOT"])

def init_app(app) -> None:
    """Make the app's store. With S3, a bucket that does not answer (or refuses) while a request is served is a
    503 in the contract's error shape ("unavailable"), logged once, never a 500 with a traceback."""
    store = make_store(app.config)
    app.extensions["obsapp.media_store"] = store
    if not isinstance(store, S3Store):
        return
    from botocore.exceptions import BotoCoreError, ClientError

    def unavailable(error: Exception):
        log.error("The bucket %s did not answer on %s %s: %s: %s", store.describe(), request.method, request.path,
                  error.__class__.__name__, error)
        return error_response(503, "unavailable", "The media storage is not answering. Try again in a moment.")

    app.register_error_handler(BotoCoreError, unavailable)
    app.register_error_handler(ClientError, unavailable)


def media_store() -> Store:
    return current_app.extensions["obsapp.media_store"]


def serve(key: str, mimetype: str, *, download_name: str | None = None) -> Response:
    """The one way media leaves the store over HTTP (lessons, clips, reels), after the caller checked access:
    Range, If-Range and ETag (Werkzeug's rules), private caching. A local store hands the file to nginx with
    X-Accel-Redirect when ``X_ACCEL_REDIRECT_PREFIX`` is set; an S3 store streams the object (a Range request
    reads just that range from the bucket) or, with ``OBSAPP_S3_PRESIGN_EXPIRY_S``, redirects to a short-lived
    presigned URL. ``download_name`` makes it a download with that file name."""
    store = media_store()
    if isinstance(store, S3Store):
        response = _serve_s3(store, key, mimetype, download_name)
    else:
        response = _serve_local(store, key, mimetype)
    if response.status_code in (301, 302, 303, 307):
        response.headers["Cache-Control"] = "no-store"  # the signature expires; ask again each time
        return response
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if download_name:
        response.headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    return response


def _serve_local(store: LocalStore, key: str, mimetype: str) -> Response:
    path = store.path(key)
    if not path.is_file():
        raise NotFound("No such media file.")
    prefix = current_app.config.get("X_ACCEL_REDIRECT_PREFIX")
    if prefix:  # nginx serves the bytes (internal location mapped onto the media root)
        response = Response(status=200, mimetype=mimetype)
        response.headers["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + key
        return response
    return send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=3600)


class _NotRead:
    """The body before the range is known: Werkzeug's range handling seeks it, never reads it."""

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        raise StopIteration

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return offset

    def tell(self) -> int:
        return 0


def _stream(store: S3Store, key: str, start: int, stop: int) -> Iterator[bytes]:
    """Bytes ``[start, stop)`` of the object, read from the bucket only when the server sends the body."""
    if stop <= start:
        return
    body = store.open(key, start, stop)
    try:
        while chunk := body.read(S3_STREAM_CHUNK):
            yield chunk
    finally:
        body.close()


def _serve_s3(store: S3Store, key: str, mimetype: str, download_name: str | None) -> Response:
    try:
        info = store.stat(key)
    except FileNotFoundError as exc:
        raise NotFound("No such media file.") from exc
    if store.presign_expiry_s:
        return redirect(store.presigned_url(key, mimetype, download_name), code=302)
    response = Response(_NotRead(), status=200, mimetype=mimetype, direct_passthrough=True)
    response.set_etag(info.etag)
    response.last_modified = info.modified
    response.content_length = info.size
    response.cache_control.max_age = 3600
    # Werkzeug decides 200, 206 (one satisfiable range, If-Range matching), 304 or 416 exactly as for a
    # local file; the body is then the bytes it chose, fetched from the bucket as they are sent.
    response.make_conditional(request, accept_ranges=True, complete_length=info.size)
    if response.status_code == 206 and response.content_range is not None:
        start, stop = response.content_range.start, response.content_range.stop
        response.response = _stream(store, key, start, stop)
    elif response.status_code == 200:
        response.response = _stream(store, key, 0, info.size)
    else:
        response.response = []
    return response


@dataclass
class MigrateReport:
    copied: int = 0
    already: int = 0
    bytes_copied: int = 0


def migrate_local(source_root: str | os.PathLike, target: S3Store, echo=print) -> MigrateReport:
    """``obsapp storage migrate``: copy every media file of a local store folder into the bucket, under the
    same key. Idempotent: a key already in the bucket with the same size is left alone, so a run that was
    interrupted is simply run again. Every copy is checked by size afterwards (StorageError if it differs).
    The local files are kept (remove them once the install runs on the bucket)."""
    source = LocalStore(source_root)
    if not source.root.is_dir():
        raise StorageError(f"{source.root} is not a folder.")
    report = MigrateReport()
    for key in source.keys(""):
        size = source.size(key)
        try:
            if target.stat(key).size == size:
                report.already += 1
                continue
        except FileNotFoundError:
            pass
        target.put_file(key, source.path(key), move=False)
        stored = target.stat(key).size
        if stored != size:
            raise StorageError(f"{key}: {stored} bytes in the bucket, {size} on disk.")
        report.copied += 1
        report.bytes_copied += size
        echo(f"copied {key} ({size} bytes)")
    return report
