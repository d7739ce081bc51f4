"""The JSON API, version 1: one module per resource, records shown by crm.api.serializers, outcomes
answered by crm.api.common, the OpenAPI description made from the routes by crm.api.openapi.

Two ways in: the browser's login session (writes send X-CSRFToken, as forms do), or a personal API
token, `Authorization: Bearer lz_…` (crm.auth.tokens), which needs no CSRF token: a page of another
site can make a browser send its cookies, never an Authorization header."""

from flask import current_app

from crm.api import (  # noqa: F401  (each adds its routes to bp)
    attachments,
    enterprises,
    funds,
    leads,
    meta,
    openapi,
    projects,
    rankings,
    rankings_racing,
    supervision,
)
from crm.api.common import bp
from crm.auth.tokens import current_token
from crm.extensions import csrf

__all__ = ["bp"]

# Flask-WTF's app-wide check skips the API; the hook below applies the same check to every request
# that did not come with a token.
csrf.exempt(bp)


@bp.before_request
def csrf_unless_token():
    """CSRF for the cookie session's writes (after the login check, as on the pages); none with a token."""
    config = current_app.config
    if current_token() is None and config["WTF_CSRF_ENABLED"] and config["WTF_CSRF_CHECK_DEFAULT"]:
        csrf.protect()
