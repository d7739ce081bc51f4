"""招商活跃指数 pages: the weekly ranking by district or division, and the records behind each
figure of it (the same query that counted them, listed)."""

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from crm.auth.permissions import roles_required
from crm.core.weeks import last_week, parse_week, recent_weeks
from crm.events.models import Event
from crm.leads.models import FollowUp
from crm.rankings.activity import (
    BY,
    RankingError,
    Unit,
    board,
    check_by,
    counted,
    current,
    may_open,
    may_rank,
    unit_of,
    visible_rows,
)
from crm.rankings.racing import READERS
from reports.charts import sparkline

bp = Blueprint("rankings", __name__, url_prefix="/rankings")


def _week_and_by() -> tuple[str, str]:
    """The week and unit kind asked for; anything unreadable falls back with a Chinese message."""
    by = request.args.get("by") or "district"
    if by not in BY:
        flash("排名对象应为区县或处室，已显示区县排名。", "warning")
        by = "district"
    week = request.args.get("week") or last_week()
    try:
        parse_week(week[:20], RankingError)
    except RankingError as error:
        flash(f"{error}。已显示上一个完整周。", "warning")
        week = last_week()
    return week[:20], by


@bp.route("/activity")
@roles_required(*READERS)
def activity():
    """The week's 招商活跃指数: rank, index, change against last week, each sub-index's count and
    score, the 12-week trend; every figure links to the records it counts."""
    week, by = _week_and_by()
    if not may_rank(current_user, by):
        abort(403)
    ranking = board(week, by)
    rows = visible_rows(ranking, current_user)
    return render_template(
        "rankings/activity.html",
        ranking=ranking,
        rows=rows,
        rules=current(),
        weeks=recent_weeks(),
        units_total=len(ranking.rows),
        trends={row.unit.id: Markup(sparkline(row.trend)) for row in rows},
    )


@bp.route("/activity/records")
@roles_required(*READERS)
def activity_records():
    """The records one figure of the ranking counts: a unit's week, one sub-index or all six."""
    try:
        by = check_by(request.args.get("by") or "district")
        week = request.args.get("week") or last_week()
        monday, sunday = parse_week(week[:20], RankingError)
        unit_text = request.args.get("unit", "")
        if not unit_text.isdigit() or len(unit_text) > 9:
            raise RankingError("请指定区县或处室")
        unit = unit_of(by, int(unit_text))
        rules = current()
        chosen = [rules.index(request.args["index"])] if request.args.get("index") else list(rules.indices)
    except RankingError as error:
        flash(str(error), "warning")
        return render_template("rankings/records.html", sections=[], unit=None, by="district"), 400
    if not may_open(current_user, by, unit.id):
        abort(404)  # as a record another district owns: not there
    sections = [(index, counted(index, by, unit.id, week)) for index in chosen]
    return render_template(
        "rankings/records.html",
        sections=sections,
        unit=unit,
        by=by,
        week=week,
        monday=monday,
        sunday=sunday,
        lists={index.key: _full_list(index, by, unit, monday, sunday) for index, _rows in sections},
        Event=Event,
        FollowUp=FollowUp,
    )


def _full_list(index, by: str, unit: Unit, monday, sunday) -> str | None:
    """The list page that shows the same records among others, with its filters set, where one
    exists: the project list for signings by district, the event list for events."""
    if index.counts == "projects_signed" and by == "district":
        return url_for(
            "projects.index", district=unit.name, signed_from=monday.isoformat(), signed_to=sunday.isoformat()
        )
    if index.counts == "events":
        return url_for(
            "events.index",
            kind=list(index.kinds),
            **{by: unit.id},
            **{"from": monday.isoformat(), "to": sunday.isoformat()},
        )
    return None
