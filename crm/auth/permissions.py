"""The one permission mechanism: login for every route, role checks, and district scoping.

Every route is closed unless marked @public. Every read of district-owned data goes through
`scoped()` (or `get_visible_or_404()`), so a district user's scope cannot be forgotten on one page.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import Select, select

from crm.auth.models import DISTRICT
from crm.core.errors import is_api_request
from crm.extensions import db

F = TypeVar("F", bound=Callable[..., Any])

LOGIN_REQUIRED_MESSAGE = "请先登录"


class ScopeError(TypeError):
    """A district-scoped read of a model that does not say how it belongs to a district."""


def public(view: F) -> F:
    """Open a view to visitors who are not logged in (the login page, logout, /healthz)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def _is_public_endpoint(endpoint: str) -> bool:
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "_public", False))


def require_login():
    """before_request: an anonymous visitor goes to the login page (the API answers 401)."""
    if request.endpoint is None or _is_public_endpoint(request.endpoint):
        return None
    if current_user.is_authenticated:
        return None
    if is_api_request():
        return jsonify(error=LOGIN_REQUIRED_MESSAGE), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let only users holding one of `roles` into the view; the others get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated or not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped._roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def scoped(stmt: Select, model: type, user: Any = None) -> Select:
    """Restrict a SELECT on `model` to what `user` (default: the current user) may see.

    District users see only rows of their own district; a model read by district users must
    define `district_scope(district_id)` returning the WHERE clause, else ScopeError is raised
    so the omission fails loudly in tests instead of leaking another district's data.
    """
    user = user if user is not None else current_user
    if not getattr(user, "is_authenticated", False):
        raise PermissionError("未登录用户不能读取数据")
    if user.role != DISTRICT:
        return stmt
    clause_for = getattr(model, "district_scope", None)
    if clause_for is None:
        raise ScopeError(f"{model.__name__} 未定义 district_scope，区县用户不能读取")
    return stmt.where(clause_for(user.district_id))


def _by_key(model: type, ident: Any, user: Any) -> Select:
    pk = model.__mapper__.primary_key[0]
    return scoped(select(model).where(pk == ident), model, user)


def get_visible_or_404(model: type, ident: Any, user: Any = None):
    """The row with this primary key if the user may see it; 404 otherwise (no hint it exists)."""
    return db.first_or_404(_by_key(model, ident, user))


def get_visible(model: type, ident: Any, user: Any = None):
    """The row with this primary key if the user may see it, else None: for a page that says
    something else than 404 (where a merged firm went), naming nothing the user may not see."""
    return db.session.scalar(_by_key(model, ident, user))


def get_changeable_or_403(model: type, ident: Any, may_change: Callable[[Any, Any], bool], user: Any = None):
    """The row if the user may see it (else 404, nothing revealed) and `may_change(user, row)` — the
    domain's own rule — allows the change (else 403). Pages and the API ask through this."""
    user = user if user is not None else current_user
    row = get_visible_or_404(model, ident, user)
    if not may_change(user, row):
        abort(403)
    return row
