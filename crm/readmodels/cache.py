"""Heavy aggregates (the map's and the catalogue's counts, the coverage of every entry) remembered
in each server process until the data changes.

"Changes" is read from the database on every use, in one query of index lookups: the newest audit
entry (every change a person, an import or a command makes writes one, in its own transaction) and
the newest row of the tables bulk writers fill (`flask demo scale` writes no audit entries). On
PostgreSQL a transaction can commit a lower audit id after a higher one became visible, so the
oldest transaction still writing (the snapshot's xmin) is part of the version too: the aggregate is
recomputed once it ends. A result is also forgotten after MAX_AGE, and never shared between
databases or between what different users may see.

Only plain data is kept (numbers, codes, frozen dataclasses): never ORM objects, which belong to
one session. Callers must not change what they are given.
"""

import functools
import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import func, select, text

from crm.audit.models import AuditLog
from crm.auth.models import DISTRICT
from crm.enterprises.models import Enterprise
from crm.events.models import Event
from crm.extensions import db
from crm.leads.models import FollowUp, Lead
from crm.projects import measures
from crm.projects.models import FundEntry, Project, ProjectUpdate

F = TypeVar("F", bound=Callable[..., Any])

MAX_AGE = 300.0  # seconds: a bound on staleness whatever the version says
MAX_ENTRIES = 512  # results kept per process (each a few KB)

_lock = threading.Lock()
_results: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()


def data_version() -> tuple:
    """What identifies the state of the data: changes whenever a record is written (read once per
    request)."""
    # Per request; a command or a test's long app context reads it every time (it writes between).
    per_request = has_request_context()
    if per_request and "data_version" in g:
        return g.data_version
    models = (Enterprise, Lead, FollowUp, Project, ProjectUpdate, FundEntry, Event, AuditLog)
    columns = [select(func.max(model.id)).scalar_subquery() for model in models]
    if db.engine.dialect.name == "postgresql":
        columns.append(text("pg_snapshot_xmin(pg_current_snapshot())::text"))
    version = (
        db.engine.url.render_as_string(hide_password=True),
        *db.session.execute(select(*columns)).one(),
    )
    if per_request:
        g.data_version = version
    return version


def _reader_scope(user) -> Any:
    # What `scoped` narrows to: a district user's district, or everything.
    user = user if user is not None else current_user
    return user.district_id if getattr(user, "role", None) == DISTRICT else None


def cached(function: F) -> F:
    """Remember `function`'s result per arguments, reader scope and data version. A `user`
    argument (default: the current user), as `scoped` takes, decides the scope."""
    signature = inspect.signature(function)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        user = arguments.pop("user", None)
        # The 统计口径 in force is part of what a figure means: another definitions file, another key.
        key = (
            function.__qualname__,
            tuple(arguments.items()),
            _reader_scope(user),
            data_version(),
            measures.current().fingerprint,
        )
        now = time.monotonic()
        with _lock:
            found = _results.get(key)
            if found is not None and now - found[0] < MAX_AGE:
                _results.move_to_end(key)
                return found[1]
        value = function(*args, **kwargs)
        with _lock:
            _results[key] = (now, value)
            while len(_results) > MAX_ENTRIES:
                _results.popitem(last=False)
        return value

    return wrapper  # type: ignore[return-value]


def forget_all() -> None:
    """Drop every remembered result (tests that change data behind the versions' back)."""
    with _lock:
        _results.clear()
