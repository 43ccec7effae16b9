"""Request and response schemas of the evidence API (documented in the OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from obsapp.clips.schemas import ReelSchema
from obsapp.evidence.models import REEL_KINDS
from obsapp.schemas import Id, StrictSchema


class EvidenceReelCreateSchema(StrictSchema):
    teacher_id = Id(required=True, metadata={"description": "whose lessons"})
    criterion_id = Id(required=True)
    kind = fields.String(load_default="strengths", validate=validate.OneOf(REEL_KINDS), metadata={
        "description": "strengths: every strength on the criterion (the latest 20); before_after: the earliest "
                       "growth area and the latest strength in a later lesson"})
    from_ = fields.Date(data_key="from", attribute="from", load_default=None, allow_none=True,
                        metadata={"description": "only lessons taught on or after this day"})
    to = fields.Date(load_default=None, allow_none=True, metadata={"description": "only lessons up to this day"})


class EvidenceReelSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    teacher = fields.Dict()
    criterion = fields.Dict(allow_none=True)
    from_ = fields.Date(data_key="from", attribute="from", allow_none=True)
    to = fields.Date(allow_none=True)
    reel = fields.Nested(ReelSchema)
    clip_job_ids = fields.List(fields.Integer(), metadata={
        "description": "one job per clip; the reel's own job (reel.job_id) is queued when the last clip is ready"})
    page_url = fields.String(metadata={"description": "the reel's page"})
    created_at = fields.DateTime()


class EvidenceReelListSchema(Schema):
    items = fields.List(fields.Nested(EvidenceReelSchema))
    next = fields.String(allow_none=True)


class EvidenceQuerySchema(Schema):
    teacher_id = Id(required=True)


class AnalyticsQuerySchema(Schema):
    from_ = fields.Date(data_key="from", attribute="from", load_default=None,
                        metadata={"description": "only lessons taught on or after this day"})
    to = fields.Date(load_default=None, metadata={"description": "only lessons taught up to this day"})


class AnalyticsExportQuerySchema(AnalyticsQuerySchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv",)),
                           metadata={"description": "csv: one row per month for all criteria (criterion empty), then "
                                                    "one per criterion and month"})


class PeriodSchema(Schema):
    period = fields.String(metadata={"description": "YYYY-MM (the lessons' dates: taught_on, else created)"})
    lessons = fields.Integer()
    strength = fields.Integer()
    growth = fields.Integer()
    question = fields.Integer()
    note = fields.Integer()
    mean_rating = fields.Float(allow_none=True)
    ratings = fields.Integer()
    speech_share = fields.Float(allow_none=True, metadata={"description": "mean over the analysed lessons, 0..1"})
    median_wait_ms = fields.Integer(allow_none=True)
    wait_count = fields.Integer()


class CriterionPeriodSchema(Schema):
    period = fields.String()
    strength = fields.Integer()
    growth = fields.Integer()
    question = fields.Integer()
    note = fields.Integer()
    mean_rating = fields.Float(allow_none=True)
    ratings = fields.Integer()


class CriterionSeriesSchema(Schema):
    criterion = fields.Dict()
    periods = fields.List(fields.Nested(CriterionPeriodSchema))


class AnalyticsSchema(Schema):
    scope = fields.String(metadata={"description": "teacher | school"})
    teacher = fields.Dict(metadata={"description": "{id, name} (scope teacher)"})
    teachers = fields.Integer(metadata={"description": "how many teachers' lessons (scope school)"})
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String(allow_none=True)
    lessons = fields.Integer()
    periods = fields.List(fields.Nested(PeriodSchema))
    criteria = fields.List(fields.Nested(CriterionSeriesSchema))


class LeaderSchema(Schema):
    user = fields.Dict(metadata={"description": "{id, name, email}"})
    granted_at = fields.DateTime()


class LeaderListSchema(Schema):
    items = fields.List(fields.Nested(LeaderSchema))
    next = fields.String(allow_none=True)
