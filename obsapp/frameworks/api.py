"""JSON API: teaching-practice frameworks and their criteria."""

import json

import yaml
from flask import Response, request
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.errors import InvalidInput
from obsapp.frameworks import services
from obsapp.frameworks.schemas import (
    CriterionSchema,
    CriterionUpdateSchema,
    ExportQuerySchema,
    FrameworkListSchema,
    FrameworkQuerySchema,
    FrameworkSchema,
    FrameworkUpdateSchema,
    LessonFrameworksInSchema,
    LessonFrameworksSchema,
)
from obsapp.lessons import services as lessons

blp = Blueprint("frameworks_api", __name__, url_prefix="/api/v1", description="Teaching-practice frameworks")


def payload(framework):
    return {"id": framework.id, "slug": framework.slug, "name": framework.name, "version": framework.version,
            "description": framework.description, "retired": framework.retired_at is not None,
            "criteria": framework.criteria}


@blp.route("/frameworks", methods=["POST"])
@blp.response(201, FrameworkSchema)
@blp.doc(requestBody={"content": {"application/yaml": {"schema": {"type": "string"}},
                                  "application/json": {"schema": {"type": "object"}},
                                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                                      "file": {"type": "string", "format": "binary"}}}}}})
def import_framework():
    """Import a framework (admin) from a YAML or JSON document: the body, or a multipart ``file``.
    Errors name the line. A slug that exists gets a new version; the old one is retired."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The document is not UTF-8 text.") from exc
    return payload(services.import_framework(current_user, text))


@blp.route("/frameworks")
@blp.arguments(FrameworkQuerySchema, location="query")
@blp.response(200, FrameworkListSchema)
def list_frameworks(args):
    """Frameworks whose criteria can tag annotations (built in: stp, rosenshine)."""
    return {"items": [payload(f) for f in services.list_frameworks(args["include_retired"])], "next": None}


@blp.route("/frameworks/<int:framework_id>", methods=["GET"])
@blp.response(200, FrameworkSchema)
def get_framework(framework_id):
    """One framework with its tree of criteria (``parent_id`` links an area to its process)."""
    return payload(services.get_framework(framework_id))


@blp.route("/frameworks/<int:framework_id>", methods=["PATCH"])
@blp.arguments(FrameworkUpdateSchema, required=False)  # every field is optional: no body changes nothing
@blp.response(200, FrameworkSchema)
def update_framework(data, framework_id):
    """Rename or retire a framework (admin); retired ones are no longer offered, old annotations keep them."""
    return payload(services.update_framework(current_user, services.get_framework(framework_id), data))


@blp.route("/frameworks/<int:framework_id>/export")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, description="The framework as YAML or JSON, ready to import again")
def export_framework(args, framework_id):
    """The framework as a YAML (default) or JSON document."""
    framework = services.get_framework(framework_id)
    document = services.export_document(framework)
    if args["format"] == "json":
        body, mimetype, ext = json.dumps(document, indent=2, ensure_ascii=False), "application/json", "json"
    else:
        body, mimetype, ext = yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "application/yaml", "yaml"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{framework.slug}-v{framework.version}.{ext}"'
    return response


@blp.route("/frameworks/<int:framework_id>/criteria/<int:criterion_id>", methods=["PATCH"])
@blp.arguments(CriterionUpdateSchema, required=False)  # every field is optional: no body changes nothing
@blp.response(200, CriterionSchema)
@blp.alt_response(409, description="The hotkey is used by another criterion of this framework")
def update_criterion(data, framework_id, criterion_id):
    """Rename a criterion, or change its description, colour or hotkey (admin). Its code stays."""
    framework = services.get_framework(framework_id)
    return services.update_criterion(current_user, services.get_criterion(framework, criterion_id), data)


def lesson_frameworks_payload(lesson):
    frameworks, default = services.offered_frameworks(lesson)
    return {"framework_ids": [f.id for f in frameworks], "default": default,
            "can_change": services.can_choose_frameworks(current_user, lesson),
            "items": [payload(f) for f in frameworks]}


@blp.route("/lessons/<int:lesson_id>/frameworks", methods=["GET"])
@blp.response(200, LessonFrameworksSchema)
def get_lesson_frameworks(lesson_id):
    """The frameworks whose criteria this lesson offers for tagging (every active one unless chosen)."""
    return lesson_frameworks_payload(lessons.get_lesson(current_user, lesson_id))


@blp.route("/lessons/<int:lesson_id>/frameworks", methods=["PUT"])
@blp.arguments(LessonFrameworksInSchema)
@blp.response(200, LessonFrameworksSchema)
def put_lesson_frameworks(data, lesson_id):
    """Choose the frameworks this lesson offers (the teacher or their mentor); ``null`` for the default.
    Annotations already tagged with other criteria keep them."""
    lesson = lessons.get_lesson(current_user, lesson_id)
    services.set_offered_frameworks(current_user, lesson, data["framework_ids"])
    return lesson_frameworks_payload(lesson)
