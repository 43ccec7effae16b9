"""Schemas shared by several domains, and the bounded integer fields every input schema uses."""

from marshmallow import Schema, fields, validate

# The largest value an INTEGER column (primary keys included) holds on PostgreSQL; SQLite holds more.
# Ids in paths (obsapp.converters), queries and bodies, and times in ms, stay within it: a larger number
# is invalid input (422) or an absent id (404), never a database overflow.
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)


class Int(fields.Integer):
    """An integer the database can hold; ``minimum``/``maximum`` narrow it further (and are documented)."""

    def __init__(self, *, minimum: int = INT_MIN, maximum: int = INT_MAX, **kwargs):
        extra = kwargs.pop("validate", None)
        validators = [validate.Range(min=minimum, max=maximum)]
        if extra is not None:
            validators.extend(extra if isinstance(extra, list | tuple) else [extra])
        super().__init__(validate=validators, **kwargs)


class Bool(fields.Boolean):
    """A JSON body's boolean: ``true`` or ``false``, not 1, "yes" or "on" (query strings keep ``fields.Boolean``)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Id(Int):
    """An id sent in a query or a body: 0 to :data:`INT_MAX` (an unknown id is the service's 404)."""

    def __init__(self, **kwargs):
        super().__init__(minimum=0, **kwargs)


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


MAX_PAGE = 1_000_000  # keeps the offset (page x per_page) far inside the database's integers
MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 100


class PageArgsSchema(Schema):
    page = Int(load_default=1, minimum=1, maximum=MAX_PAGE, metadata={"description": "1-based page number"})
    per_page = Int(load_default=DEFAULT_PER_PAGE, minimum=1, maximum=MAX_PER_PAGE,
                   metadata={"description": f"items per page (1 to {MAX_PER_PAGE})"})
