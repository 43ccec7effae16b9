from marshmallow import fields, validate

from obsapp.schemas import Bool, Id, StrictSchema, list_schema


class CriterionSchema(StrictSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    color = fields.String()
    hotkey = fields.String(allow_none=True)
    position = fields.Integer()


class FrameworkSchema(StrictSchema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()
    version = fields.Integer()
    description = fields.String(allow_none=True)
    retired = fields.Boolean(attribute="retired")
    criteria = fields.List(fields.Nested(CriterionSchema))


class FrameworkQuerySchema(StrictSchema):
    include_retired = fields.Boolean(load_default=False)


class FrameworkUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True)
    retired = Bool()


class CriterionUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=2000))
    color = fields.String(metadata={"example": "#1e7d43"})
    hotkey = fields.String(allow_none=True, metadata={"description": "one lowercase letter or digit "
                                                                     "(not j, k or l); null removes it"})


class LessonFrameworksSchema(StrictSchema):
    framework_ids = fields.List(fields.Integer(), metadata={"description": "the offered frameworks, in order"})
    default = fields.Boolean(metadata={"description": "true when the lesson offers every active framework "
                                                      "because nobody chose"})
    can_change = fields.Boolean(metadata={"description": "whether you may choose (the teacher or their mentor)"})
    items = fields.List(fields.Nested(FrameworkSchema))


class LessonFrameworksInSchema(StrictSchema):
    framework_ids = fields.List(Id(), required=True, allow_none=True,
                                metadata={"description": "frameworks to offer, in order; null goes back to "
                                                         "the default (every active framework)"})


class ExportQuerySchema(StrictSchema):
    format = fields.String(load_default="yaml", validate=validate.OneOf(["yaml", "json"]))


FrameworkListSchema = list_schema(FrameworkSchema, "FrameworkList")
