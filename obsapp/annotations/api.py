"""JSON API: a lesson's annotations, their replies, and exports."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.annotations import formats, services
from obsapp.annotations.schemas import (
    AnnotationInSchema,
    AnnotationListSchema,
    AnnotationPatchSchema,
    AnnotationQuerySchema,
    AnnotationSchema,
    ExportQuerySchema,
    ImportFormSchema,
    ImportResultSchema,
    ReplyInSchema,
    ReplyListSchema,
    ReplySchema,
    SummaryQuerySchema,
    SummarySchema,
)
from obsapp.annotations.serialize import annotation_payload, reply_payload
from obsapp.annotations.summary import summarize
from obsapp.errors import InvalidInput
from obsapp.extensions import db
from obsapp.lessons import services as lessons
from obsapp.pagination import paginate

blp = Blueprint("annotations_api", __name__, url_prefix="/api/v1", description="Annotations and replies")


def _with_etag(annotation, status=200):
    return annotation_payload(annotation, current_user), status, {"ETag": services.etag(annotation)}


@blp.route("/lessons/<int:lesson_id>/annotations")
class LessonAnnotations(MethodView):
    @blp.arguments(AnnotationQuerySchema, location="query")
    @blp.response(200, AnnotationListSchema)
    def get(self, args, lesson_id):
        """Annotations you may see on a lesson, by time; filter by criterion, kind, author, time, text."""
        lesson = lessons.get_lesson(current_user, lesson_id)
        page = paginate(services.query(current_user, lesson, args))
        page["items"] = [annotation_payload(a, current_user) for a in page["items"]]
        return page

    @blp.arguments(AnnotationInSchema)
    @blp.response(201, AnnotationSchema, headers={"ETag": {"schema": {"type": "string"}}})
    def post(self, data, lesson_id):
        """Add an annotation: a moment (start_ms) or a span (start_ms..end_ms)."""
        lesson = lessons.get_lesson(current_user, lesson_id)
        return _with_etag(services.create(current_user, lesson, data), 201)


@blp.route("/annotations/<int:annotation_id>")
class AnnotationById(MethodView):
    @blp.response(200, AnnotationSchema)
    def get(self, annotation_id):
        return _with_etag(services.get_annotation(current_user, annotation_id))

    @blp.arguments(AnnotationPatchSchema, required=False)  # every field is optional: no body changes nothing
    @blp.response(200, AnnotationSchema)
    @blp.alt_response(412, description="Stale If-Match")
    @blp.alt_response(428, description="If-Match missing")
    def patch(self, data, annotation_id):
        """Change your annotation; send ``If-Match`` with its ETag."""
        annotation = services.get_annotation(current_user, annotation_id)
        return _with_etag(services.update(current_user, annotation, data, request.headers.get("If-Match")))

    @blp.response(204)
    def delete(self, annotation_id):
        """Delete your annotation."""
        services.delete(current_user, services.get_annotation(current_user, annotation_id))


@blp.route("/annotations/<int:annotation_id>/hide", methods=["POST"])
@blp.response(200, AnnotationSchema)
def hide(annotation_id):
    """The lesson's owner hides an annotation on their lesson."""
    return _with_etag(services.set_hidden(current_user, services.get_annotation(current_user, annotation_id), True))


@blp.route("/annotations/<int:annotation_id>/unhide", methods=["POST"])
@blp.response(200, AnnotationSchema)
def unhide(annotation_id):
    return _with_etag(services.set_hidden(current_user, services.get_annotation(current_user, annotation_id), False))


@blp.route("/annotations/<int:annotation_id>/replies")
class Replies(MethodView):
    @blp.response(200, ReplyListSchema)
    def get(self, annotation_id):
        """The thread under an annotation (the mentee's reflection lives here)."""
        annotation = services.get_annotation(current_user, annotation_id)
        return {"items": [reply_payload(r) for r in services.replies(current_user, annotation)], "next": None}

    @blp.arguments(ReplyInSchema)
    @blp.response(201, ReplySchema)
    def post(self, data, annotation_id):
        annotation = services.get_annotation(current_user, annotation_id)
        return reply_payload(services.add_reply(current_user, annotation, data["body"]))


@blp.route("/lessons/<int:lesson_id>/annotations/summary")
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, SummarySchema)
def summary(args, lesson_id):
    """Counts of the annotations you may see: by kind (strengths vs growth areas), by criterion, by author."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    return summarize(services.visible_annotations(current_user, lesson, shared_only=args["visibility"] == "shared"))


@blp.route("/lessons/<int:lesson_id>/annotations/export")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="CSV, WebVTT, W3C Web Annotation JSON-LD or ELAN EAF")
def export(args, lesson_id):
    """Every annotation you may see on the lesson (your private ones included)."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    rows = list(db.session.execute(services.query(current_user, lesson, {}, with_replies=False)).scalars())
    video_url = url_for("lessons_api.lesson_media", lesson_id=lesson.id, name="video.mp4", _external=True)
    name = re.sub(r"[^a-z0-9]+", "-", lesson.title.lower()).strip("-") or f"lesson-{lesson.id}"
    fmt = args["format"]
    duration = lesson.duration_ms or 0
    if fmt == "csv":
        body, mimetype, ext = formats.to_csv(rows), "text/csv", "csv"
    elif fmt == "vtt":
        body, mimetype, ext = formats.to_vtt(rows, duration), "text/vtt", "vtt"
    elif fmt == "w3c":
        collection = url_for("annotations_api.LessonAnnotations", lesson_id=lesson.id, _external=True)
        body, mimetype, ext = formats.to_w3c(rows, video_url, collection), "application/ld+json", "jsonld"
    else:
        body, mimetype, ext = formats.to_eaf(rows, video_url, duration), "application/xml", "eaf"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-annotations.{ext}"'
    return response


IMPORT_FORMATS = {".csv": "csv", ".vtt": "vtt", ".json": "w3c", ".jsonld": "w3c", ".eaf": "eaf"}


@blp.route("/lessons/<int:lesson_id>/annotations/import", methods=["POST"])
@blp.arguments(ImportFormSchema, location="form")
@blp.response(201, ImportResultSchema)
def import_annotations(form, lesson_id):
    """Import annotations from CSV, WebVTT, W3C Web Annotation or ELAN EAF (multipart ``file``): all or nothing."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("Send the file as a multipart field named 'file'.", fields={"file": ["Required."]})
    fmt = form.get("format") or IMPORT_FORMATS.get(Path(upload.filename or "").suffix.lower())
    if fmt not in ("csv", "vtt", "w3c", "eaf"):
        raise InvalidInput("Say which format the file is in (csv, vtt, w3c or eaf), or name it .csv/.vtt/.json/.eaf.",
                           fields={"format": ["Unknown format."]})
    try:
        records = formats.parse(fmt, upload.read())
    except formats.ImportErrors as exc:
        raise InvalidInput("Nothing was imported: " + "; ".join(exc.errors[:5]), code="import_failed",
                           fields={"file": exc.errors}) from exc
    return {"imported": services.import_records(current_user, lesson, records)}
