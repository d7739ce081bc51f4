"""Making briefs: the figures of a scope and week (reports.figures), HTML and PDF (reports.render),
the Word version (reports.docx), the issue number (第 N 期), and the archive row that keeps both
files for downloading again."""

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.briefs.models import Brief, BriefIssue
from crm.core.timeutil import today_local, utcnow
from crm.core.weeks import week_of
from crm.extensions import db
from crm.readmodels.cache import cached
from reports.docx import brief_docx
from reports.figures import Scope, gather
from reports.render import brief_html, html_to_pdf


def last_week() -> str:
    """The last complete ISO week: what Monday's brief is about."""
    return week_of(today_local() - timedelta(days=7))


def brief_data(scope: Scope, week: str, now: datetime | None = None, issue: dict | None = None) -> dict:
    """Every figure of the brief of `scope` and `week`, stamped with `now`, headed by the issuing
    unit and the issue number (the one it has or would get)."""
    return {
        **_figures(scope, week, today_local()),
        "generated_at": now or utcnow(),
        "issuer": current_app.config["BRIEF_ISSUER"],
        "issue": issue or issue_number(scope, week),
    }


@cached
def _figures(scope: Scope, week: str, today) -> dict:
    # Some fifty aggregates: remembered until the data changes, so a preview opened again, or
    # archived right after it was looked at, costs one query. The brief's scope is its own (a
    # cluster, a district), not the reader's.
    return gather(scope, week, utcnow(), today)


def _issues(scope: Scope, year: int):
    return select(BriefIssue).where(
        BriefIssue.scope == scope.key,
        BriefIssue.district_key == (scope.district_id or 0),
        BriefIssue.year == year,
    )


def issue_number(scope: Scope, week: str) -> dict:
    """The issue number of the week's brief of `scope`: its own if one was issued, else the next
    of its year, marked as a draft (a preview numbers nothing)."""
    year = int(week[:4])
    issued = db.session.scalar(_issues(scope, year).where(BriefIssue.week == week))
    if issued is not None:
        return {"year": year, "number": issued.number, "draft": False}
    latest = db.session.scalar(
        _issues(scope, year).with_only_columns(func.coalesce(func.max(BriefIssue.number), 0))
    )
    return {"year": year, "number": latest + 1, "draft": True}


def _issue(scope: Scope, week: str) -> BriefIssue:
    """The week's issue of `scope`, numbered now if it has none. Two briefs numbered at the same
    moment: the unique indexes let one win, the other reads the number it won."""
    for _attempt in range(3):
        issue = issue_number(scope, week)
        found = db.session.scalar(_issues(scope, issue["year"]).where(BriefIssue.week == week))
        if found is not None:
            return found
        try:
            with db.session.begin_nested():
                created = BriefIssue(
                    scope=scope.key,
                    district_key=scope.district_id or 0,
                    year=issue["year"],
                    number=issue["number"],
                    week=week,
                )
                db.session.add(created)
            return created
        except IntegrityError:
            continue  # the savepoint is rolled back; read again what the other brief took
    raise RuntimeError("周报期号连续三次编号冲突")  # pragma: no cover - three races in a row


def preview(scope: Scope, week: str) -> str:
    """The brief as HTML, for the browser (nothing archived, nothing numbered)."""
    return brief_html(brief_data(scope, week))


def make_brief(scope: Scope, week: str, by_name: str, by=None) -> Brief:
    """Build a brief's PDF and Word files, number it, and keep it in the archive (the caller
    commits)."""
    now = utcnow()
    issue = _issue(scope, week)
    data = brief_data(scope, week, now, {"year": issue.year, "number": issue.number, "draft": False})
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
        docx=brief_docx(data),
        issue=issue,
    )
    db.session.add(brief)
    db.session.flush()
    return brief
