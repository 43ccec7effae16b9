"""The contract's list shape: ``{"items": [...], "next": URL or null}``, paged by ``?page=&per_page=``."""

from __future__ import annotations

from flask import request, url_for
from marshmallow import ValidationError
from sqlalchemy import Select

from obsapp.errors import InvalidInput
from obsapp.extensions import db
from obsapp.schemas import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, PageArgsSchema

__all__ = ["DEFAULT_PER_PAGE", "MAX_PAGE", "MAX_PER_PAGE", "page_args", "page_of", "paginate"]


def page_args() -> tuple[int, int]:
    """``page`` (1..MAX_PAGE) and ``per_page`` (1..MAX_PER_PAGE) from the query string; 422 otherwise."""
    try:
        args = PageArgsSchema().load({key: request.args[key] for key in ("page", "per_page") if key in request.args})
    except ValidationError as exc:
        raise InvalidInput(f"page is between 1 and {MAX_PAGE}; per_page is between 1 and {MAX_PER_PAGE}.",
                           fields=exc.messages) from exc
    return args["page"], args["per_page"]


def paginate(stmt: Select, *, scalars: bool = True) -> dict:
    """Run ``stmt`` for the requested page; ``items`` holds rows (serialise them in the view)."""
    page, per_page = page_args()
    result = db.session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page))
    rows = list(result.scalars() if scalars else result)
    return page_of(rows, page, per_page)


def page_of(rows: list, page: int, per_page: int) -> dict:
    has_more = len(rows) > per_page
    next_url = None
    if has_more:
        args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
        next_url = url_for(request.endpoint, **(request.view_args or {}), **args, page=page + 1,
                           per_page=per_page)
    return {"items": rows[:per_page], "next": next_url}
