"""URL converters. Every ``<int:...>`` in a route is an id, bounded to what the database can hold, so an id
beyond that answers 404 like any other absent id (never a database overflow)."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

from obsapp.schemas import INT_MAX


class IdConverter(IntegerConverter):
    """Werkzeug's ``int`` converter with ``max`` defaulting to :data:`obsapp.schemas.INT_MAX` (flask-smorest
    documents it as the path parameter's ``maximum``).

    Werkzeug converts values only after it has chosen the rule, and a ``ValidationError`` then reads as "no
    route": a 405 when a rule for another method shares the path (``PUT /lessons/2147483648/frameworks``).
    An out-of-range id names nothing, whatever the method: 404."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = INT_MAX, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def init_app(app: Flask) -> None:
    """Replace ``int`` for every route: call before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
