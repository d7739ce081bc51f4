"""The home page: what each role starts the day with."""

from dataclasses import replace

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from crm.audit.labels import table_labels
from crm.audit.models import ACCESS_ACTIONS, AuditLog
from crm.auth.models import ADMIN, MANAGER, OFFICER, User
from crm.auth.permissions import roles_required, scoped
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry.models import PLAN_START
from crm.industry.service import all_clusters
from crm.leads.service import stage_counts, visible_leads
from crm.places.models import District
from crm.projects.service import ProjectFilter, rates, totals, visible_projects
from crm.web.audit import actor_names
from reports.figures import Figures, Scope

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """The landing page after login: the dashboard for managers, the overview for the others."""
    if current_user.role == MANAGER:
        return dashboard()
    counts = {"districts": db.session.scalar(scoped(select(func.count(District.id)), District))}
    recent, labels, names = [], {}, {}
    if current_user.has_role(MANAGER, ADMIN):
        counts["users"] = db.session.scalar(select(func.count(User.id)).where(User.active.is_(True)))
        recent = list(
            db.session.scalars(
                select(AuditLog)
                .where(AuditLog.action.not_in(ACCESS_ACTIONS))
                .order_by(AuditLog.id.desc())
                .limit(8)
            )
        )
        labels = table_labels()
        names = actor_names(recent)
    return render_template("main/home.html", counts=counts, recent=recent, labels=labels, names=names)


@bp.route("/dashboard")
@roles_required(MANAGER, OFFICER, ADMIN)
def dashboard():
    """驾驶舱: the 2027 targets against today, the pipeline, signings by cluster and the rates,
    every number counted by the same filter and function as the list it links to."""
    today = today_local()
    period = ProjectFilter(signed_from=PLAN_START, signed_to=today)
    live = replace(period, live=True)
    signings = []
    for cluster in all_clusters():
        # The list's own filter and totals: the number shown is the total the link opens.
        row_filter = replace(live, cluster=cluster.code)
        row = totals(visible_projects(row_filter, today))
        if row.count:
            signings.append({"cluster": cluster, "totals": row, "filter": row_filter})
    return render_template(
        "main/dashboard.html",
        today=today,
        period=period,
        live=live,
        targets=Figures(Scope()).targets(),
        funnel=stage_counts(visible_leads()),
        signings=signings,
        total=rates(visible_projects(period, today), today)[0],
        totals=totals(visible_projects(live, today)),
    )
