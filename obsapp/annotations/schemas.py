from marshmallow import fields, validate

from obsapp.annotations.models import KINDS, VISIBILITIES
from obsapp.schemas import Id, Int, PageArgsSchema, StrictSchema, list_schema


class AnnotationInSchema(StrictSchema):
    start_ms = Int(required=True, strict=True)
    end_ms = Int(allow_none=True, strict=True)
    body = fields.String(load_default="", validate=validate.Length(max=20000))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    criterion_ids = fields.List(Id(strict=True), load_default=list)
    rating = Int(allow_none=True, strict=True, minimum=1, maximum=4)
    visibility = fields.String(load_default="shared", validate=validate.OneOf(VISIBILITIES))


class AnnotationPatchSchema(StrictSchema):
    start_ms = Int(strict=True)
    end_ms = Int(allow_none=True, strict=True)
    body = fields.String(validate=validate.Length(max=20000))
    kind = fields.String(validate=validate.OneOf(KINDS))
    criterion_ids = fields.List(Id(strict=True))
    rating = Int(allow_none=True, strict=True, minimum=1, maximum=4)
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))


class PersonBriefSchema(StrictSchema):
    id = fields.Integer()
    name = fields.String()


class CriterionBriefSchema(StrictSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    color = fields.String()
    framework_slug = fields.String()


class AnnotationSchema(StrictSchema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    author = fields.Nested(PersonBriefSchema)
    start_ms = fields.Integer()
    end_ms = fields.Integer(allow_none=True)
    body = fields.String()
    body_html = fields.String(metadata={"description": "the body rendered from Markdown, sanitised"})
    kind = fields.String()
    rating = fields.Integer(allow_none=True)
    visibility = fields.String()
    criterion_ids = fields.List(fields.Integer())
    criteria = fields.List(fields.Nested(CriterionBriefSchema))
    reply_count = fields.Integer()
    hidden = fields.Boolean()
    can_edit = fields.Boolean()
    etag = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class AnnotationQuerySchema(PageArgsSchema):
    criterion_id = fields.List(Id(), load_default=list)
    kind = fields.List(fields.String(validate=validate.OneOf(KINDS)), load_default=list)
    author_id = Id(load_default=None)
    from_ms = Int(load_default=None)
    to_ms = Int(load_default=None)
    q = fields.String(load_default=None)


class ReplyInSchema(StrictSchema):
    body = fields.String(required=True)


class ReplySchema(StrictSchema):
    id = fields.Integer()
    annotation_id = fields.Integer()
    author = fields.Nested(PersonBriefSchema)
    body = fields.String()
    body_html = fields.String()
    created_at = fields.DateTime()


class ExportQuerySchema(StrictSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "vtt", "w3c", "eaf"]))


class ImportFormSchema(StrictSchema):
    class Meta:
        unknown = "exclude"

    format = fields.String(load_default=None, validate=validate.OneOf(["csv", "vtt", "w3c", "eaf"]))


class ImportResultSchema(StrictSchema):
    imported = fields.Integer()


class KindCountsSchema(StrictSchema):
    strength = fields.Integer()
    growth = fields.Integer()
    question = fields.Integer()
    note = fields.Integer()


class CriterionCountSchema(StrictSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    color = fields.String()
    parent_id = fields.Integer(allow_none=True)
    total = fields.Integer(metadata={"description": "annotations tagged with it or any criterion under it"})
    by_kind = fields.Nested(KindCountsSchema)


class FrameworkCountSchema(StrictSchema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    version = fields.Integer()
    criteria = fields.List(fields.Nested(CriterionCountSchema))


class RatingSummarySchema(StrictSchema):
    count = fields.Integer()
    mean = fields.Float(allow_none=True)


class AuthorCountSchema(StrictSchema):
    id = fields.Integer()
    name = fields.String()
    count = fields.Integer()


class SummarySchema(StrictSchema):
    total = fields.Integer()
    by_kind = fields.Nested(KindCountsSchema)
    spans = fields.Integer()
    untagged = fields.Integer()
    rating = fields.Nested(RatingSummarySchema)
    authors = fields.List(fields.Nested(AuthorCountSchema))
    frameworks = fields.List(fields.Nested(FrameworkCountSchema))


class SummaryQuerySchema(StrictSchema):
    visibility = fields.String(load_default="all", validate=validate.OneOf(["all", "shared"]),
                               metadata={"description": "``shared`` leaves out your private annotations"})


AnnotationListSchema = list_schema(AnnotationSchema, "AnnotationList")
ReplyListSchema = list_schema(ReplySchema, "ReplyList")
