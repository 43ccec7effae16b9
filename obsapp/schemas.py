"""Schemas shared by several domains."""

from marshmallow import Schema, fields


class StrictSchema(Schema):
    """Input schemas reject unknown fields, so a typo is an error rather than silently ignored."""

    class Meta:
        ordered = True


class PersonSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()


def list_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return type(name, (Schema,), {
        "items": fields.List(fields.Nested(item_schema)),
        "next": fields.String(allow_none=True, metadata={"description": "URL of the next page, or null"}),
    })


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, metadata={"description": "1-based page number"})
    per_page = fields.Integer(load_default=100, metadata={"description": "items per page (at most 500)"})
