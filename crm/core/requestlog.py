"""One JSON line per request on the "crm.request" logger, and an X-Request-ID on every answer.

The line carries what an operator needs to find a slow or failing request — method, path (never the
query string: searches and filters may name people or firms), status, duration, user, address and
the request id nginx's log shows too — and nothing else."""

import json
import logging
import os
import re
import time
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, request
from flask.logging import wsgi_errors_stream
from sqlalchemy import inspect

LOGGER_NAME = "crm.request"
HEADER = "X-Request-ID"
# What nginx's $request_id (32 hex digits) and common tracing ids look like; anything else a client
# sends (too long, spaces, quotes, control characters) is replaced, so the id is safe in any log.
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

logger = logging.getLogger(LOGGER_NAME)


def _start() -> None:
    """before_request, the first one: the clock starts and the request gets its id."""
    g.request_started = time.perf_counter()
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if SANE_ID.fullmatch(incoming) else os.urandom(16).hex()


def _finish(response: Response) -> Response:
    """after_request, the last one: the id goes back to the client and the line to the log."""
    request_id = g.get("request_id")
    if request_id is not None:
        response.headers[HEADER] = request_id
    if current_app.config.get("REQUEST_LOG") and logger.isEnabledFor(logging.INFO):
        logger.info(request_line(response.status_code, request_id))
    return response


def request_line(status: int, request_id: str | None) -> str:
    """The JSON line for the current request, answered with `status`."""
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    return json.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": _user_id(),
            "remote_addr": request.remote_addr,
        },
        ensure_ascii=False,
    )


def _user_id() -> int | None:
    # Flask-Login keeps the user it loaded in g; asking current_user instead would load one (a
    # database query) for requests that never needed it, such as static files and /healthz. The
    # id is read from the row's identity: after a commit its attributes are expired, and reading
    # user.id would cost a query.
    state = inspect(g.get("_login_user"), raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else None


def _install_handler() -> None:
    # Once per process, however many apps are created: the line alone, to the server's error stream
    # (gunicorn's stderr, or the terminal), not through the root logger.
    if not logger.handlers:
        handler = logging.StreamHandler(wsgi_errors_stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


def install(app: Flask) -> None:
    """Time and log every request of `app`; call before any other request hook is registered."""
    app.before_request(_start)
    app.after_request(_finish)  # after_request hooks run in reverse: registered first, runs last
    if app.config.get("REQUEST_LOG"):
        _install_handler()
