"""Making briefs: the figures of a scope and week (reports.figures), HTML and PDF (reports.render),
and the archive row that keeps the PDF for downloading again."""

import hashlib
from datetime import datetime, timedelta

from crm.briefs.models import Brief
from crm.core.timeutil import today_local, utcnow
from crm.extensions import db
from crm.readmodels.cache import cached
from reports.figures import Scope, gather, week_of
from reports.render import brief_html, html_to_pdf


def last_week() -> str:
    """The last complete ISO week: what Monday's brief is about."""
    return week_of(today_local() - timedelta(days=7))


def brief_data(scope: Scope, week: str, now: datetime | None = None) -> dict:
    """Every figure of the brief of `scope` and `week`, stamped with `now`."""
    return {**_figures(scope, week, today_local()), "generated_at": now or utcnow()}


@cached
def _figures(scope: Scope, week: str, today) -> dict:
    # Some fifty aggregates: remembered until the data changes, so a preview opened again, or
    # archived right after it was looked at, costs one query. The brief's scope is its own (a
    # cluster, a district), not the reader's.
    return gather(scope, week, utcnow(), today)


def preview(scope: Scope, week: str) -> str:
    """The brief as HTML, for the browser (nothing archived)."""
    return brief_html(brief_data(scope, week))


def make_brief(scope: Scope, week: str, by_name: str, by=None) -> Brief:
    """Build a brief's PDF and keep it in the archive (the caller commits)."""
    now = utcnow()
    data = brief_data(scope, week, now)
    pdf = html_to_pdf(brief_html(data))
    brief = Brief(
        scope=scope.key,
        title=data["title"],
        week=data["week"],  # canonical, as the PDF prints it
        district_id=scope.district_id,
        generated_by=by,
        generated_by_name=by_name,
        generated_at=now,
        size=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
        pdf=pdf,
    )
    db.session.add(brief)
    db.session.flush()
    return brief
