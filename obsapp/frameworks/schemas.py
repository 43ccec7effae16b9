from marshmallow import fields, validate

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


class FrameworkUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True)
    retired = fields.Boolean()


class ExportQuerySchema(StrictSchema):
    format = fields.String(load_default="yaml", validate=validate.OneOf(["yaml", "json"]))


FrameworkListSchema = list_schema(FrameworkSchema, "FrameworkList")
