"""Who is acting: the logged-in user during a request, else the name a command runs under.

The audit log writes it beside every change; commands and the demo loader set it with acting_as."""

from contextlib import contextmanager
from contextvars import ContextVar

from flask import g, has_request_context

CLI_ACTOR = "命令行"
ANONYMOUS_ACTOR = "未登录访问者"

# Who acts outside a request (CLI commands, the demo loader): (user id or None, display name).
_actor_outside_request: ContextVar[tuple[int | None, str]] = ContextVar(
    "audit_actor", default=(None, CLI_ACTOR)
)


@contextmanager
def acting_as(name: str, user_id: int | None = None):
    """Attribute the changes made inside the block to `name` when there is no logged-in user."""
    token = _actor_outside_request.set((user_id, name))
    try:
        yield
    finally:
        _actor_outside_request.reset(token)


def current_actor() -> tuple[int | None, str]:
    """The user behind the flush: the request's logged-in user, else the CLI actor."""
    if has_request_context():
        # Read the user Flask-Login already loaded; loading it here would query inside a flush.
        user = g.get("_login_user")
        if user is not None and getattr(user, "is_authenticated", False):
            return user.id, user.username
        return None, ANONYMOUS_ACTOR
    return _actor_outside_request.get()
