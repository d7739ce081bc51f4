"""One pagination helper for pages and the API: `?page=` and `?per_page=` with sane bounds."""

from typing import Any

from flask import current_app, request, url_for
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from crm.extensions import db

MAX_PER_PAGE = 200


def _positive_int(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def paginate(stmt: Select, per_page: int | None = None) -> Pagination:
    """A page of `stmt`; a bad or too large page number gives page 1 or an empty last page, never an error."""
    default = per_page or current_app.config["PER_PAGE"]
    return db.paginate(
        stmt,
        page=_positive_int("page", 1),
        per_page=min(_positive_int("per_page", default), MAX_PER_PAGE),
        error_out=False,
        count=True,
    )


def page_json(page: Pagination, serialise) -> dict[str, Any]:
    """The API's list shape: {"items": [...], "page", "per_page", "total"}."""
    return {
        "items": [serialise(item) for item in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
    }


def page_url(number: int) -> str:
    """The current page's URL with its filters kept and `page` set to `number`."""
    args = {**request.args.to_dict(), "page": number}
    return url_for(request.endpoint, **(request.view_args or {}), **args)
