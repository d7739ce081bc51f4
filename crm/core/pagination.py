"""One pagination helper for pages and the API: `?page=` and `?per_page=` with sane bounds."""

from typing import Any
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from crm.extensions import db

MAX_PER_PAGE = 200
MAX_PAGE = 100_000  # far beyond any real list; keeps OFFSET within every database's integer


def _positive_int(name: str, default: int, ceiling: int) -> int:
    raw = request.args.get(name, "")
    # isascii: "²".isdigit() is True but int("²") fails.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        return default
    return min(int(raw), ceiling)


def page_number() -> int:
    """The request's `?page=`: 1 unless it is a positive number, bounded by MAX_PAGE."""
    return _positive_int("page", 1, MAX_PAGE)


class RowPage(Pagination):
    """A page of rows already at hand (not a query), for the pagination macro: pass `rows` (the
    page's) and `total` (of all pages) with page and per_page."""

    def _query_items(self) -> list:
        return self._query_args["rows"]

    def _query_count(self) -> int:
        return self._query_args["total"]


def paginate(stmt: Select, per_page: int | None = None) -> Pagination:
    """A page of `stmt`; a bad page number gives page 1, a too large one an empty page; never an error."""
    default = per_page or current_app.config["PER_PAGE"]
    return db.paginate(
        stmt,
        page=page_number(),
        per_page=_positive_int("per_page", default, MAX_PER_PAGE),
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
    # The query string is encoded here, not passed to url_for: keys like `endpoint` or `_external`
    # would be taken as url_for's own arguments.
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return url_for(request.endpoint, **(request.view_args or {})) + "?" + urlencode([*args, ("page", number)])


def same_query_url(endpoint: str) -> str:
    """`endpoint` with the current query string (an export of what the list shows)."""
    query = urlencode(list(request.args.items(multi=True)))
    return url_for(endpoint) + (f"?{query}" if query else "")
