"""Lead pages: the list with filters, a lead's page with its timeline, and the verbs on it."""

import io
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from crm.auth.models import ADMIN, MANAGER, OFFICER, User
from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.core.excel import XLSX, xlsx_bytes
from crm.core.pagination import paginate
from crm.core.timeutil import SHANGHAI, today_local
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Chain, Cluster, Product, Sector
from crm.industry.service import all_clusters
from crm.leads.forms import FollowUpForm, LeadForm, MoveForm, SignForm
from crm.leads.models import PIPELINE, SOURCES, STAGES, Lead
from crm.leads.service import LeadError, add_follow_up, create_lead, move_lead, sign_lead, update_lead
from crm.places.service import all_districts, district_choices, resolve_district
from crm.projects.models import Project
from crm.readmodels.matching import suggest
from crm.readmodels.timeline import build_timeline

bp = Blueprint("leads", __name__, url_prefix="/leads")

WORKERS = (OFFICER, MANAGER)
TIMELINE_LIMIT = 200  # a lead's whole story fits; beyond it the page says older events are left off


def _may_change(lead: Lead) -> bool:
    """Officers change their own leads; managers every lead."""
    return current_user.role == MANAGER or (current_user.role == OFFICER and lead.owner_id == current_user.id)


def _lead_form() -> LeadForm:
    form = LeadForm()
    form.district.choices = district_choices("（未定）")
    return form


SORTS = {
    "follow_up": (Lead.next_follow_up_on.is_(None), Lead.next_follow_up_on, Lead.id),
    "investment": (Lead.intended_investment_wan.is_(None), Lead.intended_investment_wan.desc(), Lead.id),
    "newest": (Lead.created_at.desc(), Lead.id.desc()),
    "contact": (Lead.last_contact_on.is_(None), Lead.last_contact_on.desc(), Lead.id),
}
SORT_LABELS = {
    "follow_up": "按下次跟进",
    "investment": "按意向投资",
    "newest": "按登记时间",
    "contact": "按最近联系",
}


def _date_arg(name: str):
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None  # a malformed date filter is ignored, not an error


def _filtered():
    """The list's query with the request's filters and sort: the page and its export agree."""
    args = request.args
    stmt = scoped(select(Lead), Lead)
    if args.get("stage") in STAGES:
        stmt = stmt.where(Lead.stage == args["stage"])
    if args.get("source") in SOURCES:
        stmt = stmt.where(Lead.source == args["source"])
    if args.get("mine") == "1":
        stmt = stmt.where(Lead.owner_id == current_user.id)
    if args.get("overdue") == "1":
        stmt = stmt.where(Lead.next_follow_up_on < today_local(), Lead.stage.not_in(("签约", "流失")))
    if args.get("sector"):
        sector_entries = (
            select(CatalogueEntry.id).join(CatalogueEntry.product).join(Product.chain).join(Chain.sector)
        )
        stmt = stmt.where(
            Lead.catalogue_entry_id.in_(sector_entries.where(Sector.code == args["sector"][:8]))
        )
    if args.get("cluster"):
        cluster = db.session.scalar(select(Cluster).where(Cluster.code == args["cluster"][:8].upper()))
        if cluster is not None:
            stmt = stmt.where(Lead.catalogue_entry.has(CatalogueEntry.clusters.any(Cluster.id == cluster.id)))
    if args.get("district"):
        district = resolve_district(args["district"][:64])
        if district is not None:
            stmt = stmt.where(Lead.intended_district_id == district.id)
    since, until = _date_arg("since"), _date_arg("until")
    # Days are Shanghai days; bounds go to the database in UTC (SQLite compares the stored UTC text).
    if since:
        stmt = stmt.where(Lead.created_at >= datetime.combine(since, time.min, SHANGHAI).astimezone(UTC))
    if until:
        end = datetime.combine(until + timedelta(days=1), time.min, SHANGHAI).astimezone(UTC)
        stmt = stmt.where(Lead.created_at < end)
    sort = args.get("sort") if args.get("sort") in SORTS else "follow_up"
    return stmt.order_by(*SORTS[sort]), sort


@bp.route("/")
def index():
    """Leads the user may see, filtered by stage, source, owner, sector, cluster, district, overdue
    and a created-date range, sorted as asked."""
    stmt, sort = _filtered()
    return render_template(
        "leads/index.html",
        page=paginate(stmt),
        stages=STAGES,
        sources=SOURCES,
        sectors=db.session.scalars(select(Sector).order_by(Sector.sort_order)).all(),
        clusters=all_clusters(),
        districts=all_districts(),
        sorts=SORT_LABELS,
        sort=sort,
        today=today_local(),
    )


EXPORT_COLUMNS = [
    ("线索名称", lambda lead: lead.title, 30),
    ("企业", lambda lead: lead.enterprise.name, 30),
    ("阶段", lambda lead: lead.stage, 10),
    ("流失原因", lambda lead: lead.lost_reason or "", 12),
    ("来源", lambda lead: lead.source, 12),
    ("负责人", lambda lead: lead.owner.display_name, 10),
    ("目录条目", lambda lead: lead.catalogue_entry.code if lead.catalogue_entry else "", 12),
    ("意向区县", lambda lead: lead.intended_district.name if lead.intended_district else "", 14),
    ("意向投资（万元）", lambda lead: lead.intended_investment_wan, 14),
    ("最近联系", lambda lead: lead.last_contact_on, 12),
    ("下次跟进", lambda lead: lead.next_follow_up_on, 12),
]


@bp.route("/export.xlsx")
def export():
    """What the list shows (all pages, same filters), within the user's permissions, as Excel."""
    stmt, _ = _filtered()
    return send_file(
        io.BytesIO(xlsx_bytes("招商线索", EXPORT_COLUMNS, db.session.scalars(stmt).all())),
        mimetype=XLSX,
        as_attachment=True,
        download_name="招商线索.xlsx",
    )


ACTIVE = ("线索", "初步接洽", "实地考察", "商务洽谈", "搁置")


@bp.route("/todo")
@roles_required(*WORKERS)
def todo():
    """我的待办: my follow-ups due today or overdue, and my open leads with no contact in 30 days."""
    today = today_local()
    mine = scoped(select(Lead), Lead).where(Lead.owner_id == current_user.id, Lead.stage.in_(ACTIVE))
    due = db.session.scalars(
        mine.where(Lead.next_follow_up_on <= today).order_by(Lead.next_follow_up_on, Lead.id)
    ).all()
    quiet = db.session.scalars(
        mine.where(
            or_(Lead.last_contact_on.is_(None), Lead.last_contact_on < today - timedelta(days=30))
        ).order_by(Lead.last_contact_on.is_(None).desc(), Lead.last_contact_on, Lead.id)
    ).all()
    return render_template("leads/todo.html", due=due, quiet=quiet, today=today)


@bp.route("/board")
def board():
    """The pipeline as a kanban: a column per stage with its count and total intended investment."""
    leads = db.session.scalars(
        scoped(select(Lead), Lead).where(Lead.stage != "流失").order_by(Lead.next_follow_up_on, Lead.id)
    ).all()
    columns = {stage: [lead for lead in leads if lead.stage == stage] for stage in (*PIPELINE, "搁置")}
    totals = {
        stage: sum(lead.intended_investment_wan or 0 for lead in items) for stage, items in columns.items()
    }
    return render_template(
        "leads/board.html",
        columns=columns,
        totals=totals,
        may_move={lead.id for lead in leads if _may_change(lead)},
        move_form=MoveForm(formdata=None),
    )


@bp.route("/new/<int:enterprise_id>", methods=["GET", "POST"])
@roles_required(*WORKERS)
def new(enterprise_id: int):
    """Log a lead for an enterprise; its owner is the officer who logs it."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        # A page opened before a merge: the lead belongs on the kept record, whose page says so.
        return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    form = _lead_form()
    if request.method == "GET":
        # A suggestion accepted with one click arrives as query parameters; the officer still saves.
        form.catalogue_code.data = request.args.get("catalogue_code", "")[:16]
        form.district.data = request.args.get("district", "")[:64]
    if form.validate_on_submit():
        try:
            lead = create_lead(enterprise, form.data, current_user._get_current_object())
        except LeadError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash("已登记线索。", "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template(
        "leads/form.html", form=form, enterprise=enterprise, lead=None, suggestions=suggest(enterprise)
    )


@bp.route("/<int:lead_id>")
def detail(lead_id: int):
    """A lead with its timeline of follow-ups, stage changes and edits."""
    lead = get_visible_or_404(Lead, lead_id)
    follow_form = FollowUpForm(
        formdata=None,
        occurred_on=today_local().isoformat(),
        next_follow_up_on=(today_local() + timedelta(days=7)).isoformat(),
    )
    return render_template(
        "leads/detail.html",
        lead=lead,
        # Through the scope helper: the bureau may have moved the project to another district.
        project=db.session.scalar(scoped(select(Project).where(Project.lead_id == lead.id), Project)),
        timeline=build_timeline(lead_ids=[lead.id], limit=TIMELINE_LIMIT),
        may_change=_may_change(lead),
        follow_form=follow_form,
        move_form=MoveForm(formdata=None),
        sign_form=SignForm(formdata=None, signed_on=today_local().isoformat()),
        owners=db.session.scalars(select(User).where(User.role.in_(WORKERS), User.active.is_(True))).all()
        if current_user.role in (MANAGER, ADMIN)
        else [],
    )


def _changeable(lead_id: int) -> Lead:
    lead = get_visible_or_404(Lead, lead_id)
    if not _may_change(lead):
        abort(403)
    return lead


@bp.route("/<int:lead_id>/edit", methods=["GET", "POST"])
@roles_required(*WORKERS)
def edit(lead_id: int):
    """Edit a lead's fields."""
    lead = _changeable(lead_id)
    form = _lead_form()
    if request.method == "GET":
        form.title.data, form.source.data = lead.title, lead.source
        form.catalogue_code.data = lead.catalogue_entry.code if lead.catalogue_entry else ""
        form.district.data = lead.intended_district.name if lead.intended_district else ""
        form.intended_investment_wan.data = (
            "" if lead.intended_investment_wan is None else str(lead.intended_investment_wan)
        )
        form.next_follow_up_on.data = lead.next_follow_up_on.isoformat() if lead.next_follow_up_on else ""
        form.version.data = lead.version
    elif form.validate_on_submit():
        try:
            update_lead(lead, form.data, form.version.data or 0)
        except LeadError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash("已保存线索。", "success")
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template("leads/form.html", form=form, enterprise=lead.enterprise, lead=lead)


def _run(lead: Lead, action, success: str):
    try:
        action()
    except LeadError as error:
        db.session.rollback()
        flash(str(error), "danger")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))


@bp.route("/<int:lead_id>/follow-ups", methods=["POST"])
@roles_required(*WORKERS)
def new_follow_up(lead_id: int):
    """Record a contact."""
    lead = _changeable(lead_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "danger")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return _run(
        lead, lambda: add_follow_up(lead, form.data, current_user._get_current_object()), "已记录跟进。"
    )


@bp.route("/<int:lead_id>/stage", methods=["POST"])
@roles_required(*WORKERS)
def move(lead_id: int):
    """Move a lead to another stage (the gates apply); the kanban posts here too."""
    lead = _changeable(lead_id)
    form = MoveForm()
    back = url_for("leads.board") if request.form.get("from") == "board" else None
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "danger")
        return redirect(back or url_for("leads.detail", lead_id=lead.id))
    response = _run(
        lead,
        lambda: move_lead(
            lead,
            form.stage.data,
            current_user._get_current_object(),
            form.note.data,
            form.lost_reason.data or None,
        ),
        f"线索“{lead.title}”已移至“{form.stage.data}”。",
    )
    return redirect(back) if back else response


@bp.route("/<int:lead_id>/sign", methods=["POST"])
@roles_required(*WORKERS)
def sign(lead_id: int):
    """签约: the lead becomes a project."""
    lead = _changeable(lead_id)
    form = SignForm()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0], "danger")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    return _run(
        lead, lambda: sign_lead(lead, form.data, current_user._get_current_object()), "已签约，项目已建立。"
    )


@bp.route("/<int:lead_id>/owner", methods=["POST"])
@roles_required(MANAGER)
def reassign(lead_id: int):
    """Managers reassign a lead to another officer."""
    lead = get_visible_or_404(Lead, lead_id)
    owner_id = request.form.get("owner_id", "")
    # isascii: "²".isdigit() is True but int("²") fails.
    valid = owner_id.isascii() and owner_id.isdigit() and len(owner_id) < 10
    owner = db.session.get(User, int(owner_id)) if valid else None
    if owner is None or owner.role not in WORKERS or not owner.active:
        flash("请选择在职的招商专员或处室负责人", "danger")
        return redirect(url_for("leads.detail", lead_id=lead.id))
    lead.owner = owner
    db.session.commit()
    flash(f"已将线索转交 {owner.display_name}。", "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))
