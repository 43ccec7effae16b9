"""JSON API for lessons, sharing, media, frames and jobs."""

from __future__ import annotations

import base64
import binascii
import secrets
from email.utils import format_datetime
from pathlib import Path

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp import uow
from obsapp.errors import BadRequest, ObsError, TooLarge, UnsupportedMedia
from obsapp.lessons import media_serving, services, uploads
from obsapp.lessons.schemas import (
    FrameQuerySchema,
    JobSchema,
    LessonCreateSchema,
    LessonListSchema,
    LessonQuerySchema,
    LessonSchema,
    LessonUpdateSchema,
    ShareCreateSchema,
    ShareListSchema,
    ShareSchema,
    VideoUploadSchema,
)
from obsapp.lessons.serialize import lesson_payload, lesson_payloads
from obsapp.pagination import paginate
from obsapp.storage import media_store

blp = Blueprint("lessons_api", __name__, url_prefix="/api/v1", description="Lessons (recordings), sharing, media")
uploads_blp = Blueprint("uploads_api", __name__, url_prefix="/api/v1",
                        description="tus 1.0.0 resumable uploads (core, creation, termination, checksum, expiration)")


@blp.route("/lessons")
class Lessons(MethodView):
    @blp.arguments(LessonQuerySchema, location="query")
    @blp.response(200, LessonListSchema)
    def get(self, args):
        """Lessons you may see (yours, shared with you, your mentees'), newest first."""
        page = paginate(services.visible_lessons(current_user, args["scope"], args["status"]))
        page["items"] = lesson_payloads(page["items"], current_user)
        return page

    @blp.arguments(LessonCreateSchema)
    @blp.response(201, LessonSchema)
    def post(self, data):
        """Create a lesson; upload its video to the returned ``upload_url`` (tus) or ``/video``."""
        return lesson_payload(services.create_lesson(current_user, data), current_user)


@blp.route("/lessons/<int:lesson_id>")
class LessonById(MethodView):
    @blp.response(200, LessonSchema)
    def get(self, lesson_id):
        return lesson_payload(services.get_lesson(current_user, lesson_id), current_user)

    @blp.arguments(LessonUpdateSchema, required=False)  # every field is optional: no body changes nothing
    @blp.response(200, LessonSchema)
    def patch(self, data, lesson_id):
        """Change the title and details (owner)."""
        lesson = services.update_lesson(current_user, services.get_lesson(current_user, lesson_id), data)
        return lesson_payload(lesson, current_user)

    @blp.response(204)
    def delete(self, lesson_id):
        """Delete the lesson and all of its media (owner or admin)."""
        services.delete_lesson(current_user, services.get_lesson(current_user, lesson_id, "delete"))


@blp.route("/lessons/<int:lesson_id>/retry", methods=["POST"])
@blp.response(202, LessonSchema)
def retry(lesson_id):
    """Process a failed lesson's upload again."""
    lesson = services.get_lesson(current_user, lesson_id, "manage")
    services.retry(current_user, lesson)
    return lesson_payload(lesson, current_user)


@blp.before_request
def _simple_upload_limit():
    if request.endpoint == "lessons_api.upload_video":
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        if request.content_length is not None and request.content_length > limit + 1024 * 1024:
            raise TooLarge(services.too_large_message(request.content_length, limit))
        request.max_content_length = limit + 1024 * 1024


@blp.route("/lessons/<int:lesson_id>/video", methods=["POST"])
@blp.arguments(VideoUploadSchema, location="files")
@blp.response(202, LessonSchema)
@blp.alt_response(413, description="Larger than OBSAPP_MAX_UPLOAD_BYTES")
def upload_video(files, lesson_id):
    """Simple upload for scripts: multipart ``file``, streamed to disk (by the request class, into the store)."""
    lesson = services.get_lesson(current_user, lesson_id, "manage")
    length = request.content_length
    if length is not None and length > current_app.config["MAX_UPLOAD_BYTES"] + 64 * 1024:
        services.check_upload_allowed(current_user, lesson, length)  # raises 413 with the readable message
    file = request.files.get("file")
    if file is None or not file.filename and not getattr(file.stream, "name", None):
        raise BadRequest("Send the video as a multipart form field named 'file'.", fields={"file": ["Required."]})
    source = Path(getattr(file.stream, "name", ""))
    owned = not source.is_file()
    if owned:  # a tiny part kept in memory by the parser: write it out
        source = media_store().tmp_root / f"form-{secrets.token_hex(8)}"
        file.save(source)
    uploads.simple_upload(current_user, lesson, source, file.filename, owned=owned)
    return lesson_payload(lesson, current_user)


@blp.route("/lessons/<int:lesson_id>/shares")
class Shares(MethodView):
    @blp.response(200, ShareListSchema)
    def get(self, lesson_id):
        """Who the lesson is shared with (owner)."""
        lesson = services.get_lesson(current_user, lesson_id)
        return {"items": services.list_shares(current_user, lesson), "next": None}

    @blp.arguments(ShareCreateSchema)
    @blp.response(201, ShareSchema)
    def post(self, data, lesson_id):
        """Share with a person as viewer or commenter (owner); sharing again changes the role."""
        lesson = services.get_lesson(current_user, lesson_id)
        return services.share(current_user, lesson, data["user_id"], data["role"])


@blp.route("/lessons/<int:lesson_id>/shares/<int:user_id>", methods=["DELETE"])
@blp.response(204)
def unshare(lesson_id, user_id):
    """Stop sharing with a person (owner)."""
    services.unshare(current_user, services.get_lesson(current_user, lesson_id), user_id)


@blp.route("/lessons/<int:lesson_id>/frame")
@blp.arguments(FrameQuerySchema, location="query")
@blp.response(200, content_type="image/jpeg", description="JPEG of the exact frame at t_ms")
@blp.alt_response(409, description="The lesson's video is not ready")
def frame(args, lesson_id):
    """The exact frame at ``t_ms`` (input seeking), optionally scaled to ``width``; cached."""
    lesson = services.get_lesson(current_user, lesson_id)
    return media_serving.frame_response(lesson, args["t_ms"], args["width"],
                                        original=services.sees_original(current_user, lesson))


@blp.route("/lessons/<int:lesson_id>/media/<string:name>")
@blp.response(200, description="Video (Range requests), poster, thumbnails VTT, sprites or waveform JSON")
@blp.alt_response(409, description="being_anonymised: this viewer gets the lesson's anonymised video (its consent is "
                                   "incomplete), which is not made yet")
@blp.alt_response(403, description="anonymised_only: this viewer gets only the anonymised video, so no preview "
                                   "pictures (sprites, thumbnails VTT)")
def lesson_media(lesson_id, name):
    """A lesson's media file; checks access on every request; supports Range, If-Range and ETag."""
    lesson = services.get_lesson(current_user, lesson_id)
    return media_serving.media_response(lesson, name, original=services.sees_original(current_user, lesson))


@blp.route("/jobs/<int:job_id>")
@blp.response(200, JobSchema)
def job(job_id):
    """A job's state and progress (ingest, clips, reels)."""
    return services.get_job(current_user, job_id)


# --- tus: the protocol's headers are read and written here; uploads.py gets plain values ---------------

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,termination,checksum,expiration"
OFFSET_TYPE = "application/offset+octet-stream"


class TusVersionMismatch(ObsError):
    status, code, default_message = 412, "tus_version", "This server speaks tus 1.0.0 (send Tus-Resumable: 1.0.0)."


def tus_headers() -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(current_app.config["MAX_UPLOAD_BYTES"]),
        "Tus-Checksum-Algorithm": ",".join(uploads.CHECKSUM_ALGORITHMS),
    }


def require_tus_version() -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise TusVersionMismatch(headers={"Tus-Version": TUS_VERSION})


def _int_header(name: str) -> int:
    raw = request.headers.get(name)
    if raw is None:
        raise BadRequest(f"The {name} header is required.", code="missing_header")
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


def _checksum() -> uploads.Checksum | None:
    raw = request.headers.get("Upload-Checksum")
    if not raw:
        return None
    algorithm, _, value = raw.strip().partition(" ")
    if algorithm not in uploads.CHECKSUM_ALGORITHMS:
        raise BadRequest(f"Checksum algorithm {algorithm!r} is not supported (use sha1, md5 or sha256).",
                         code="checksum_algorithm")
    try:
        return uploads.Checksum(algorithm, base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("Upload-Checksum is not base64.", code="bad_checksum") from exc


def _expires(upload) -> str:
    return format_datetime(uploads.expires_at(upload), usegmt=True)


def _append(upload, offset: int) -> None:
    """Write this request's body at ``offset``. The new offset is committed while the upload is still held,
    so a writer that takes it next (a client resuming) reads the offset this one reached."""
    uploads.check_offset(upload, offset)
    checksum = _checksum()
    uploads.check_length(upload, request.content_length)
    with uploads.writing(upload) as handle:
        uploads.write_chunk(upload, handle, offset, request.stream, checksum)
        uow.commit()


def _tus_response(status: int, headers: dict | None = None) -> Response:
    response = Response(status=status)
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@uploads_blp.after_request
def _tus_version_header(response):
    response.headers.setdefault("Tus-Resumable", TUS_VERSION)
    return response


@uploads_blp.before_request
def _allow_large_bodies():
    request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024


@uploads_blp.route("/lessons/<int:lesson_id>/uploads", methods=["POST", "OPTIONS"], endpoint="create_upload")
@uploads_blp.doc(responses={"201": {"description": "Created; Location holds the upload URL"}})
def create_upload(lesson_id):
    """tus creation: POST with ``Upload-Length`` (and ``Upload-Metadata``) to start an upload."""
    if request.method == "OPTIONS":
        return _tus_response(204, tus_headers())
    lesson = services.get_lesson(current_user, lesson_id)
    require_tus_version()
    if request.headers.get("Upload-Defer-Length"):
        raise BadRequest("Deferred upload length is not supported; send Upload-Length.", code="defer_length")
    length = _int_header("Upload-Length")
    services.check_upload_allowed(current_user, lesson, length)
    item = uploads.create(current_user, lesson, length, parse_metadata(request.headers.get("Upload-Metadata")))
    headers = {"Location": url_for("uploads_api.upload", upload_id=item.id, _external=True),
               "Upload-Expires": _expires(item), "Upload-Offset": "0"}
    if request.content_length and request.headers.get("Content-Type") == OFFSET_TYPE:  # creation-with-upload
        _append(item, 0)
        headers["Upload-Offset"] = str(item.offset)
    return _tus_response(201, headers)


@uploads_blp.route("/uploads/<string:upload_id>", methods=["HEAD", "PATCH", "DELETE", "OPTIONS"], endpoint="upload")
def upload(upload_id):
    """tus core: HEAD for the offset, PATCH to append bytes, DELETE to terminate."""
    if request.method == "OPTIONS":
        return _tus_response(204, tus_headers())
    require_tus_version()
    if request.method == "HEAD":
        item = uploads.get_upload(current_user, upload_id)
        return _tus_response(200, {"Upload-Offset": str(item.offset), "Upload-Length": str(item.length),
                                   "Upload-Expires": _expires(item)})
    if request.method == "DELETE":
        uploads.terminate(current_user, upload_id)
        return _tus_response(204)
    item = uploads.get_upload(current_user, upload_id)
    if request.mimetype != OFFSET_TYPE:
        raise UnsupportedMedia(f"PATCH bodies must be sent as {OFFSET_TYPE}.")
    _append(item, _int_header("Upload-Offset"))
    headers = {"Upload-Offset": str(item.offset)}
    if item.completed_at is None:
        headers["Upload-Expires"] = _expires(item)
    return _tus_response(204, headers)
