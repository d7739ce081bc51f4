"""The home page: what each role starts the day with."""

from dataclasses import replace

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from crm.audit.labels import table_labels
from crm.audit.models import ACCESS_ACTIONS, AuditLog
from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER, User
from crm.auth.permissions import roles_required, scoped
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry.models import PLAN_START
from crm.industry.service import all_clusters
from crm.leads.models import Lead
from crm.leads.service import LeadFilter, follow_up_worklist, stage_counts, visible_leads
from crm.places.models import District
from crm.projects.service import (
    ProjectFilter,
    rates,
    recent_updates,
    totals,
    totals_by_cluster,
    update_worklist,
    visible_projects,
    week_end,
)
from crm.readmodels.timeline import build_timeline
from crm.supervision.handovers import HandoverFilter, handover_query
from crm.supervision.handovers import light_counts as handover_light_counts
from crm.supervision.items import ItemFilter, item_query, unit_counts
from crm.supervision.items import light_counts as item_light_counts
from crm.web.audit import actor_names
from reports.figures import Figures, Scope
from reports.funds import composition

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """The landing page after login, by role: managers the 驾驶舱; officers their follow-ups and
    leads; district staff their projects needing an update; admins the system's state."""
    if current_user.role == MANAGER:
        return dashboard()
    if current_user.role == OFFICER:
        return officer_home()
    if current_user.role == DISTRICT:
        return district_home()
    counts = {
        "districts": db.session.scalar(scoped(select(func.count(District.id)), District)),
        "users": db.session.scalar(select(func.count(User.id)).where(User.active.is_(True))),
    }
    recent = list(
        db.session.scalars(
            select(AuditLog)
            .where(AuditLog.action.not_in(ACCESS_ACTIONS))
            .order_by(AuditLog.id.desc())
            .limit(8)
        )
    )
    return render_template(
        "main/home.html", counts=counts, recent=recent, labels=table_labels(), names=actor_names(recent)
    )


def officer_home():
    """An officer's day: overdue and this week's follow-ups, my leads by stage, what changed on them."""
    today = today_local()
    mine = LeadFilter(owner_id=current_user.id)
    my_leads = db.session.scalars(visible_leads(mine, today).with_only_columns(Lead.id)).all()
    return render_template(
        "main/home_officer.html",
        today=today,
        week_end=week_end(today),
        work=follow_up_worklist(current_user, today, week_end(today)),
        stages=stage_counts(visible_leads(mine, today)),
        timeline=build_timeline(lead_ids=list(my_leads), limit=10) if my_leads else [],
        supervision=supervision_summary(current_user, today, mine=True),
    )


def district_home():
    """A district's week: projects needing an update, those behind or stalled, the latest updates."""
    today = today_local()
    return render_template(
        "main/home_district.html",
        today=today,
        work=update_worklist(current_user, today),
        updates=recent_updates(current_user),
        supervision=supervision_summary(current_user, today),
    )


@bp.route("/dashboard")
@roles_required(MANAGER, OFFICER, ADMIN)
def dashboard():
    """驾驶舱: the 2027 targets against today, the pipeline, signings by cluster and the rates,
    every number counted by the same filter and function as the list it links to."""
    today = today_local()
    period = ProjectFilter(signed_from=PLAN_START, signed_to=today)
    live = replace(period, live=True)
    # The list's own filter, every cluster in one query: the number shown is the total its link opens.
    by_cluster = totals_by_cluster(visible_projects(live, today), today)
    signings = [
        {
            "cluster": cluster,
            "totals": by_cluster[cluster.code],
            "filter": replace(live, cluster=cluster.code),
        }
        for cluster in all_clusters()
        if cluster.code in by_cluster
    ]
    return render_template(
        "main/dashboard.html",
        today=today,
        period=period,
        live=live,
        targets=Figures(Scope()).targets(),
        funnel=stage_counts(visible_leads()),
        signings=signings,
        total=rates(visible_projects(period, today), today)[0],
        totals=totals(visible_projects(live, today), today),
        split=composition(visible_projects(period, today), None, today),
        supervision=supervision_summary(current_user, today) if current_user.role != ADMIN else None,
    )


def supervision_summary(user, today, mine: bool = False) -> dict:
    """督办 and 交办 at a glance, each number the count of the list its link opens (the same filter
    through the same query): the items by light and by unit, the handovers by light. `mine`: only
    those given to the user's own unit."""
    items = ItemFilter(mine=mine)
    handovers = HandoverFilter(to_me=mine)
    item_stmt = item_query(items, user, today)
    return {
        "mine": mine,
        "items": item_light_counts(item_stmt, today),
        "units": unit_counts(item_stmt, today)[:8],
        "item_args": items.args(),
        "handovers": handover_light_counts(handover_query(handovers, user, today), today),
        "handover_args": {"to_me": "1"} if mine else {},
    }
