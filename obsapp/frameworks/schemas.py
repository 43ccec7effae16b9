from marshmallow import fields

from obsapp.schemas import StrictSchema, list_schema


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


FrameworkListSchema = list_schema(FrameworkSchema, "FrameworkList")
