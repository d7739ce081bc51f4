"""Project pages: the list with totals, 本区项目, the city overview, a project's page with its
milestones and updates, the update form (district staff), the bureau's edit, the export."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.auth.models import DISTRICT
from crm.auth.permissions import get_visible_or_404
from crm.core.forms import first_error
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.core.validation import problems_of, replaced_ids
from crm.enterprises.models import Enterprise
from crm.industry.models import PLAN_START, CatalogueEntry, Cluster
from crm.industry.service import all_clusters, all_sectors
from crm.places.service import all_districts
from crm.projects.attachments import live_attachments
from crm.projects.forms import ProjectEditForm, UpdateForm
from crm.projects.models import HEALTHS, MILESTONES, STAGES, Project, ProjectStage
from crm.projects.service import (
    LISTED,
    PROJECT_EDITORS,
    UPDATE_REPORTERS,
    ProjectConflict,
    ProjectFilter,
    Rates,
    add_update_retrying,
    edit_values,
    rates,
    reached_args,
    totals,
    update_project,
    update_worklist,
    visible_projects,
)
from crm.supervision.items import item_light, may_raise_item, may_read_items, project_items
from crm.web.exports import entry_codes, send_xlsx, streamed
from crm.web.saving import save
from reports.funds import composition

bp = Blueprint("projects", __name__, url_prefix="/projects")


def _filtered(today: date):
    filters = ProjectFilter.from_args(request.args)
    return filters, visible_projects(filters, today).order_by(Project.signed_on.desc(), Project.id.desc())


def _choices() -> dict:
    return {
        "clusters": all_clusters(),
        "districts": all_districts(),
        "sectors": all_sectors(),
        "stages": STAGES,
        "healths": HEALTHS,
    }


@bp.route("/")
def index():
    """Projects the user may see, filtered, with the totals of everything the filters find."""
    today = today_local()
    filters, stmt = _filtered(today)
    return render_template(
        "projects/index.html",
        page=paginate(stmt.options(*LISTED)),
        totals=totals(stmt, today),
        filters=filters,
        today=today,
        **_choices(),
    )


def _export_columns(today: date) -> list:
    return [
        ("项目名称", lambda p: p.name, 30),
        ("企业", lambda p: p.enterprise.name, 30),
        ("区县", lambda p: p.district.name, 12),
        ("园区", lambda p: p.park or "", 16),
        ("目录条目", lambda p: "、".join(e.code for e in p.catalogue_entries), 18),
        ("签约日期", lambda p: p.signed_on, 12),
        ("阶段", lambda p: p.stage, 8),
        (f"健康状态（{today}）", lambda p: p.health(today), 14),
        ("协议投资额（万元）", lambda p: p.agreed_investment_wan, 16),
        ("实际到位资金（万元）", lambda p: p.funds_in_place_wan, 16),
        ("预计年产值（万元）", lambda p: p.expected_output_wan, 16),
        ("预计就业（人）", lambda p: p.expected_jobs, 12),
        ("最近更新", lambda p: p.last_update_on, 12),
    ]


@bp.route("/export.xlsx")
def export():
    """What the list shows (all pages), within the user's scope, as Excel."""
    today = today_local()
    _, stmt = _filtered(today)
    stmt = stmt.options(
        selectinload(Project.enterprise).load_only(Enterprise.name),
        selectinload(Project.district),
        entry_codes(Project.catalogue_entries),
        selectinload(Project.milestones),  # health(today) reads them
        selectinload(Project.fund_entries),  # and 实际到位资金 these
    )
    return send_xlsx("projects", "招商项目", _export_columns(today), streamed(stmt), "招商项目.xlsx")


@bp.route("/mine")
def mine():
    """本区项目: a district user's projects, the ones needing an update soonest first."""
    if current_user.role != DISTRICT:
        return redirect(url_for("projects.index"))
    today = today_local()
    work = update_worklist(current_user, today)
    return render_template(
        "projects/mine.html",
        projects=work["live"],
        ended=work["ended"],
        today=today,
        week_end=work["week_end"],
    )


@bp.route("/overview")
def overview():
    """The city's rates by district and by cluster, for projects signed in a period, as of today."""
    today = today_local()
    filters = ProjectFilter.from_args(request.args)
    filters.signed_from = filters.signed_from or PLAN_START
    filters.signed_to = filters.signed_to or today
    period = ProjectFilter(signed_from=filters.signed_from, signed_to=filters.signed_to)
    base = visible_projects(period, today)
    names = {d.id: d.name for d in all_districts()}
    by_district = sorted(
        rates(base, today, Project.district_id, names.get), key=lambda r: (-r.agreed_wan, r.label)
    )
    clusters = {c.id: c for c in all_clusters()}
    by_cluster = rates(
        base.join(Project.catalogue_entry).join(CatalogueEntry.clusters),
        today,
        Cluster.id,
        lambda ident: clusters[ident].short_name if ident in clusters else str(ident),
    )
    order = {c.short_name: c.sort_order for c in clusters.values()}
    by_cluster.sort(key=lambda r: order.get(r.label, 999))
    return render_template(
        "projects/overview.html",
        total=Rates.summed(by_district),  # each project is in one district: the rows add up
        by_district=by_district,
        by_cluster=by_cluster,
        period=period,
        today=today,
        cluster_codes={c.short_name: c.code for c in clusters.values()},
        reach={stage: reached_args(stage, today) for stage in (ProjectStage.STARTED, ProjectStage.PRODUCING)},
        split=composition(base, None, today),
    )


def _may_report(project: Project) -> bool:
    """District users report on their own projects (scope already enforced); the bureau on all."""
    return current_user.role in UPDATE_REPORTERS


@bp.route("/<int:project_id>")
def detail(project_id: int):
    """A project: its figures, milestones (plan against actual) and every update."""
    return _detail_page(get_visible_or_404(Project, project_id))


def _detail_page(project: Project, form: UpdateForm | None = None):
    """A project's page; `form` is an update a failed submit brings back as typed."""
    today = today_local()
    if form is None:
        correcting = _update_of(project, request.args.get("correct", ""))
        form = UpdateForm(
            formdata=None, reported_on=today.isoformat(), corrects_id=str(correcting.id) if correcting else ""
        )
    # The items on the project (its 督办), for those who read them (not administrators).
    items = project_items(project, current_user) if may_read_items(current_user) else []
    page = render_template(
        "projects/detail.html",
        project=project,
        today=today,
        health=project.health(today),
        form=form,
        may_report=_may_report(project),
        may_edit=current_user.role in PROJECT_EDITORS,
        corrected=replaced_ids(project.updates),
        correcting=_update_of(project, form.corrects_id.data or ""),
        milestones=[project.milestone(stage) for stage in MILESTONES],
        attachments=live_attachments(project),
        items=items,
        item_lights={item.id: item_light(item, today) for item in items},
        item_of_update={item.update_id: item for item in items if item.update_id},
        may_raise=may_raise_item(current_user, project),
    )
    return page


def _update_of(project: Project, ident: str):
    """The update of this project a correction names (?correct=<id> or the form's corrects_id)."""
    ident = str(ident or "")
    return next((u for u in project.updates if ident.isdigit() and u.id == int(ident)), None)


@bp.route("/<int:project_id>/updates", methods=["POST"])
def new_update(project_id: int):
    """Add a progress update (district staff for their district; officers and managers)."""
    project = get_visible_or_404(Project, project_id)
    if not _may_report(project):
        abort(403)
    form = UpdateForm()
    if not form.validate_on_submit():
        flash(first_error(form) or "提交无效", "danger")
        return _detail_page(project, form)
    before = project.health(today_local())

    def added(update) -> str:
        after = update.project.health(today_local())
        return f"已添加进展更新{f'，健康状态：{before} → {after}' if after != before else ''}。"

    saved = save(
        lambda: add_update_retrying(
            lambda: get_visible_or_404(Project, project_id),
            {name: field.data for name, field in form._fields.items()},
            current_user,
        ),
        added,
        form=form,
    )
    if not saved.ok:
        # The page again with what was typed, the correction still named.
        return _detail_page(get_visible_or_404(Project, project_id), form)
    return redirect(url_for("projects.detail", project_id=project.id))


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
def edit(project_id: int):
    """The bureau edits agreed figures, catalogue entries and planned dates (optimistic lock)."""
    project = get_visible_or_404(Project, project_id)
    if current_user.role not in PROJECT_EDITORS:
        abort(403)
    form = ProjectEditForm()
    values = edit_values(project)
    conflict, problems = [], {}
    if request.method == "POST":
        # What was typed comes back whatever goes wrong.
        submitted = {key: request.form.get(key, "") for key in values}
        if form.validate_on_submit():
            saved = save(
                lambda: update_project(project, submitted, form.version.data or 0), "已保存项目信息。"
            )
            if saved.ok:
                return redirect(url_for("projects.detail", project_id=project.id))
            values = submitted
            problems = dict(reversed(problems_of(saved.error)))  # the first message of each field
            if isinstance(saved.error, ProjectConflict):
                conflict = saved.error.changes
                project = get_visible_or_404(Project, project_id)
                values = {**edit_values(project), **submitted}
                # The posted (stale) version would be rendered back from raw_data: the form must
                # carry the version it now shows, so saving again is a knowing overwrite.
                form.version.data, form.version.raw_data = project.version, [str(project.version)]
        else:
            flash(first_error(form) or "提交无效", "danger")
            values = submitted
    else:
        form.version.data = project.version
    return render_template(
        "projects/edit.html",
        project=project,
        form=form,
        values=values,
        conflict=conflict,
        problems=problems,
        milestones=MILESTONES,
        districts=all_districts(),
        plan_year=today_local().year,
    )
