"""The contract's list shape: ``{"items": [...], "next": URL or null}``, paged by ``?page=&per_page=``."""

from __future__ import annotations

from flask import request, url_for
from sqlalchemy import Select

from obsapp.errors import InvalidInput
from obsapp.extensions import db

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 500


def page_args() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", 1))
        per_page = int(request.args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError as exc:
        raise InvalidInput("page and per_page must be whole numbers.") from exc
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"page starts at 1; per_page is between 1 and {MAX_PER_PAGE}.")
    return page, per_page


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
