"""Making briefs: the figures of a scope and week (reports.figures), HTML and PDF (reports.render),
the Word version (reports.docx), the issue number (第 N 期), and the archive row that keeps both
files for downloading again."""

import hashlib
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.briefs.models import Brief, BriefIssue
from crm.core.timeutil import today_local, utcnow
from crm.extensions import db
from crm.readmodels.cache import cached
from reports.docx import brief_docx
from reports.figures import BriefError, Scope, gather
from reports.render import brief_html, html_to_pdf

ATTEMPTS = 3  # renderings of one brief whose number others take meanwhile, before giving up


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


def _take(scope: Scope, week: str, issue: dict) -> BriefIssue | None:
    """The week's issue of `scope` with the number a brief was rendered with: the one on file, or
    a new row taking that number; None when another brief took the number meanwhile (the unique
    indexes decide) or the week was numbered otherwise."""
    found = db.session.scalar(_issues(scope, issue["year"]).where(BriefIssue.week == week))
    if found is not None:
        return found if found.number == issue["number"] else None
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
        return None  # the savepoint is rolled back; the caller renders again with a fresh number


def preview(scope: Scope, week: str) -> str:
    """The brief as HTML, for the browser (nothing archived, nothing numbered)."""
    return brief_html(brief_data(scope, week))


def make_brief(scope: Scope, week: str, by_name: str, by=None) -> Brief:
    """Build a brief's PDF and Word files, number it, and keep it in the archive (the caller
    commits). The number is taken only once both files are rendered, so the unique indexes hold
    it for a moment, not for the seconds a rendering takes; a brief that lost its number to
    another made at the same moment is rendered again with the next one."""
    now = utcnow()
    for _attempt in range(ATTEMPTS):
        issue = {**issue_number(scope, week), "draft": False}
        data = brief_data(scope, week, now, issue)
        pdf, docx = html_to_pdf(brief_html(data)), brief_docx(data)
        numbered = _take(scope, week, issue)
        if numbered is not None:
            break
    else:
        raise BriefError("周报期号被同时生成的周报占用，请稍后重试")
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
        docx=docx,
        issue=numbered,
    )
    db.session.add(brief)
    db.session.flush()
    return brief
