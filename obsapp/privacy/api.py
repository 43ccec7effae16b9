"""JSON API: a lesson's access log (and its CSV), everyone's log for administrators, a lesson's consent, and
erasing a person."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.lessons import services as lessons
from obsapp.pagination import paginate
from obsapp.privacy import erasure, services
from obsapp.privacy.schemas import (
    AllAuditExportQuerySchema,
    AllAuditQuerySchema,
    AuditExportQuerySchema,
    AuditListSchema,
    AuditQuerySchema,
    ConsentInSchema,
    ConsentSchema,
    EraseSchema,
    ErasureReceiptSchema,
)

blp = Blueprint("privacy_api", __name__, url_prefix="/api/v1",
                description="Privacy: consent, the access audit, erasing a person")


def _page(stmt) -> dict:
    page = paginate(stmt)
    return {"items": [services.entry_payload(entry) for entry in page["items"]], "next": page["next"]}


def _csv(body: str, name: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@blp.route("/lessons/<int:lesson_id>/audit")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditListSchema)
def lesson_audit(args, lesson_id):
    """Who viewed, grabbed frames from, exported, clipped, shared, joined a watch session of or deleted the
    lesson, newest first (its owner and administrators)."""
    return _page(services.lesson_audit(current_user, lesson_id, args["action"]))


@blp.route("/lessons/<int:lesson_id>/audit/export")
@blp.arguments(AuditExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="The lesson's access log as CSV, newest first")
def lesson_audit_export(args, lesson_id):
    return _csv(services.audit_csv(services.lesson_audit(current_user, lesson_id, args["action"])),
                f"lesson-{lesson_id}-access-log.csv")


@blp.route("/audit")
@blp.arguments(AllAuditQuerySchema, location="query")
@blp.response(200, AuditListSchema)
@blp.alt_response(403, description="Not an administrator")
def all_audit(args):
    """Everyone's access log (administrators), deleted lessons' entries included."""
    return _page(services.all_audit(current_user, lesson_id=args["lesson_id"], user_id=args["user_id"],
                                    action=args["action"]))


@blp.route("/audit/export")
@blp.arguments(AllAuditExportQuerySchema, location="query")
@blp.response(200, content_type="text/csv", description="Everyone's access log as CSV (administrators)")
@blp.alt_response(403, description="Not an administrator")
def all_audit_export(args):
    return _csv(services.audit_csv(services.all_audit(current_user, lesson_id=args["lesson_id"],
                                                      user_id=args["user_id"], action=args["action"])),
                "access-log.csv")


@blp.route("/lessons/<int:lesson_id>/consent", methods=["GET"])
@blp.response(200, ConsentSchema)
def get_consent(lesson_id):
    """The lesson's consent basis (anyone who may view the lesson)."""
    return services.consent_record(lessons.get_lesson(current_user, lesson_id))


@blp.route("/lessons/<int:lesson_id>/consent", methods=["PUT"])
@blp.arguments(ConsentInSchema)
@blp.response(200, ConsentSchema)
def put_consent(data, lesson_id):
    """Set the consent basis and the pin (the owner); the same as PATCH /lessons/{id} with these fields."""
    lesson = lessons.get_lesson(current_user, lesson_id, "manage")
    services.set_consent(current_user, lesson, consent=data.get("consent"), pinned=data.get("pinned"))
    return services.consent_record(lesson)


@blp.route("/users/<int:user_id>/erase", methods=["POST"])
@blp.arguments(EraseSchema)
@blp.response(200, ErasureReceiptSchema)
def erase(data, user_id):
    """Erase a person (administrators; `confirm` is their email address): their lessons with every copy, their
    annotations (kept as “removed at the author's request” where others replied), replies, tokens and sign-ins.
    Answers the receipt of what was removed."""
    return erasure.erase_person(current_user, user_id, data["confirm"])
