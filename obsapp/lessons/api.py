"""JSON API for lessons, sharing, media, frames and jobs."""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.errors import TooLarge
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
from obsapp.lessons.serialize import lesson_payload
from obsapp.pagination import paginate

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
        page["items"] = [lesson_payload(lesson, current_user) for lesson in page["items"]]
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
    """Simple upload for scripts: multipart ``file``, streamed to disk."""
    lesson = services.get_lesson(current_user, lesson_id, "manage")
    uploads.simple_upload(current_user, lesson)
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
    return media_serving.frame_response(lesson, args["t_ms"], args["width"])


@blp.route("/lessons/<int:lesson_id>/media/<string:name>")
@blp.response(200, description="Video (Range requests), poster, thumbnails VTT, sprites or waveform JSON")
def lesson_media(lesson_id, name):
    """A lesson's media file; checks access on every request; supports Range, If-Range and ETag."""
    lesson = services.get_lesson(current_user, lesson_id)
    return media_serving.media_response(lesson, name)


@blp.route("/jobs/<int:job_id>")
@blp.response(200, JobSchema)
def job(job_id):
    """A job's state and progress (ingest, clips, reels)."""
    return services.get_job(current_user, job_id)


# --- tus -----------------------------------------------------------------------------------------

def _tus_response(status: int, headers: dict | None = None) -> Response:
    response = Response(status=status)
    response.headers["Tus-Resumable"] = uploads.TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@uploads_blp.after_request
def _tus_version_header(response):
    response.headers.setdefault("Tus-Resumable", uploads.TUS_VERSION)
    return response


@uploads_blp.before_request
def _allow_large_bodies():
    request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"] + 1024 * 1024


@uploads_blp.route("/lessons/<int:lesson_id>/uploads", methods=["POST", "OPTIONS"], endpoint="create_upload")
@uploads_blp.doc(responses={"201": {"description": "Created; Location holds the upload URL"}})
def create_upload(lesson_id):
    """tus creation: POST with ``Upload-Length`` (and ``Upload-Metadata``) to start an upload."""
    if request.method == "OPTIONS":
        return _tus_response(204, uploads.tus_headers())
    lesson = services.get_lesson(current_user, lesson_id)
    _, headers = uploads.create(current_user, lesson)
    return _tus_response(201, headers)


@uploads_blp.route("/uploads/<string:upload_id>", methods=["HEAD", "PATCH", "DELETE", "OPTIONS"], endpoint="upload")
def upload(upload_id):
    """tus core: HEAD for the offset, PATCH to append bytes, DELETE to terminate."""
    if request.method == "OPTIONS":
        return _tus_response(204, uploads.tus_headers())
    uploads.require_tus_version()
    if request.method == "HEAD":
        item = uploads.get_upload(current_user, upload_id)
        return _tus_response(200, {"Upload-Offset": str(item.offset), "Upload-Length": str(item.length),
                                   "Upload-Expires": uploads._expires(item)})
    if request.method == "DELETE":
        uploads.terminate(current_user, upload_id)
        return _tus_response(204)
    item = uploads.write_chunk(current_user, upload_id)
    headers = {"Upload-Offset": str(item.offset)}
    if item.completed_at is None:
        headers["Upload-Expires"] = uploads._expires(item)
    return _tus_response(204, headers)


