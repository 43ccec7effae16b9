"""JSON API for evidence reels, analytics across lessons and the school leader role."""

from __future__ import annotations

from flask import Response
from flask_login import current_user
from flask_smorest import Blueprint

from obsapp.evidence import analytics, leaders, services
from obsapp.evidence.schemas import (
    AnalyticsExportQuerySchema,
    AnalyticsQuerySchema,
    AnalyticsSchema,
    EvidenceQuerySchema,
    EvidenceReelCreateSchema,
    EvidenceReelListSchema,
    EvidenceReelSchema,
    LeaderListSchema,
    LeaderSchema,
)
from obsapp.evidence.serialize import evidence_payload

blp = Blueprint("evidence_api", __name__, url_prefix="/api/v1",
                description="Evidence reels per criterion, analytics across lessons, school leaders")


@blp.route("/evidence-reels", methods=["POST"])
@blp.arguments(EvidenceReelCreateSchema)
@blp.response(202, EvidenceReelSchema)
@blp.alt_response(404, description="No such teacher, or not one whose evidence you may see")
def create_evidence_reel(data):
    """Make one reel, with a chapter per clip, of a teacher's annotations on a criterion (those you may see): every
    strength, or before and after (the earliest growth area, then the latest strength in a later lesson).

    The teacher and their active mentors may ask. Each annotation becomes a captioned clip with a title card
    (blurred where the lesson's consent requires it), each rendered by a job (``clip_job_ids``); the reel's own
    job (``reel.job_id``) is queued when the last clip is ready. 422 ``no_evidence`` when there is nothing to
    show."""
    evidence = services.make_reel(current_user, data)
    return evidence_payload(evidence, current_user)


@blp.route("/evidence-reels")
@blp.arguments(EvidenceQuerySchema, location="query")
@blp.response(200, EvidenceReelListSchema)
@blp.alt_response(404, description="No such teacher, or not one whose evidence you may see")
def list_evidence_reels(args):
    """A teacher's evidence reels (the teacher and their active mentors), newest first."""
    rows = services.evidence_of(current_user, args["teacher_id"])
    return {"items": [evidence_payload(row, current_user) for row in rows], "next": None}


@blp.route("/evidence-reels/<int:evidence_id>")
@blp.response(200, EvidenceReelSchema)
def get_evidence_reel(evidence_id):
    return evidence_payload(services.get_evidence(current_user, evidence_id), current_user)


def _csv(report: dict, name: str) -> Response:
    response = Response(analytics.to_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@blp.route("/analytics/teachers/<int:teacher_id>")
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, AnalyticsSchema)
def teacher_analytics(args, teacher_id):
    """A teacher's lessons month by month (the teacher and their active mentors; what you may see of them):
    annotations by kind and criterion, mean ratings, talk share and median wait time after questions."""
    return analytics.teacher_report(current_user, teacher_id, args["from"], args["to"])


@blp.route("/analytics/teachers/<int:teacher_id>/export")
@blp.arguments(AnalyticsExportQuerySchema, location="query")
@blp.response(200, description="CSV")
def teacher_analytics_export(args, teacher_id):
    """The same numbers as CSV."""
    return _csv(analytics.teacher_report(current_user, teacher_id, args["from"], args["to"]),
                f"analytics-teacher-{teacher_id}")


@blp.route("/analytics/school")
@blp.arguments(AnalyticsQuerySchema, location="query")
@blp.response(200, AnalyticsSchema)
@blp.alt_response(403, description="Only school leaders")
def school_analytics(args):
    """The whole school month by month (school leaders only; 403 for anyone else): shared annotations counted by
    kind and criterion, mean ratings, talk share and wait time. Numbers only: no words, no video."""
    return analytics.school_report(current_user, args["from"], args["to"])


@blp.route("/analytics/school/export")
@blp.arguments(AnalyticsExportQuerySchema, location="query")
@blp.response(200, description="CSV")
@blp.alt_response(403, description="Only school leaders")
def school_analytics_export(args):
    """The same numbers as CSV (school leaders)."""
    return _csv(analytics.school_report(current_user, args["from"], args["to"]), "analytics-school")


@blp.route("/leaders")
@blp.response(200, LeaderListSchema)
@blp.alt_response(403, description="Only administrators")
def list_leaders():
    """The school leaders (administrators)."""
    return {"items": [leaders.payload(row) for row in leaders.leaders(current_user)], "next": None}


@blp.route("/leaders/<int:user_id>", methods=["PUT"])
@blp.response(200, LeaderSchema)
def grant_leader(user_id):
    """Make someone a school leader (administrators); granting again changes nothing."""
    row, _new = leaders.grant(current_user, user_id)
    return leaders.payload(row)


@blp.route("/leaders/<int:user_id>", methods=["DELETE"])
@blp.response(204)
def revoke_leader(user_id):
    """Take the leader role back (administrators); 204 whether or not they had it."""
    leaders.revoke(current_user, user_id)
