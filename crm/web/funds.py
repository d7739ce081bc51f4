"""到位资金: a project's ledger (record an arrival, correct one, the bureau's review), and the
统计口径 page that lists the definitions in force."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.forms import first_error
from crm.core.timeutil import filter_day, today_local
from crm.core.validation import replaced_ids
from crm.industry.service import all_clusters
from crm.places.service import all_districts
from crm.projects import measures
from crm.projects.attachments import AttachmentError, Category, live_attachments, store_attachment
from crm.projects.forms import EvidenceForm, FundEntryForm, FundReviewForm
from crm.projects.funds import (
    FUND_RECORDERS,
    FUND_REVIEWERS,
    FundsError,
    add_entry,
    entry_of,
    review_entry,
)
from crm.projects.models import SOURCE_REGIONS, UNSTATED, FundEntry, Project, Review
from crm.projects.service import ProjectFilter, visible_projects
from crm.web.exports import send_workbook
from crm.web.saving import save
from reports import funds as report

bp = Blueprint("funds", __name__)


def _ledger_page(project: Project, form: FundEntryForm | None = None, review_forms: dict | None = None):
    """A project's ledger; `form` (or a review form) brings back what a failed submit typed."""
    if form is None:
        correcting = entry_of(project, request.args.get("correct"))
        form = FundEntryForm(
            formdata=None,
            arrived_on=today_local().isoformat(),
            corrects_id=str(correcting.id) if correcting else "",
        )
        if correcting:
            for name in ("amount_wan", "source_region", "kind", "evidence_type"):
                getattr(form, name).data = getattr(correcting, name) or ""
            form.arrived_on.data = correcting.arrived_on.isoformat()
            form.counts_as_investment.data = correcting.counts_as_investment
    entries = project.fund_entries
    evidence: dict[int, list] = {}
    for attachment in live_attachments(project):
        if attachment.fund_entry_id:
            evidence.setdefault(attachment.fund_entry_id, []).append(attachment)
    corrected = replaced_ids(entries)
    rule = measures.current().funds
    counted = {e.id for e in rule.counted(entries)}
    review_forms = review_forms or {}
    for entry in entries:
        if entry.id not in review_forms:
            review_forms[entry.id] = FundReviewForm(formdata=None, version=entry.version)
    return render_template(
        "projects/funds.html",
        project=project,
        entries=list(reversed(entries)),
        corrected=corrected,
        counted=counted,
        evidence=evidence,
        form=form,
        correcting=entry_of(project, form.corrects_id.data),
        review_forms=review_forms,
        evidence_form=EvidenceForm(formdata=None),
        may_record=current_user.role in FUND_RECORDERS,
        may_review=current_user.role in FUND_REVIEWERS,
        pending=sum(1 for e in entries if e.id not in corrected and e.review == Review.PENDING),
    )


@bp.route("/projects/<int:project_id>/funds")
def ledger(project_id: int):
    """The project's 到位资金台账, newest first, with what counts under the 口径 in force."""
    return _ledger_page(get_visible_or_404(Project, project_id))


@bp.route("/projects/<int:project_id>/funds", methods=["POST"])
def record(project_id: int):
    """Record an arrival (district users for their district's projects; officers; managers)."""
    project = get_visible_or_404(Project, project_id)
    if current_user.role not in FUND_RECORDERS:
        abort(403)
    form = FundEntryForm()
    if not form.validate_on_submit():
        flash(first_error(form) or "提交无效", "danger")
        return _ledger_page(project, form)
    by = current_user._get_current_object()
    upload = request.files.get("evidence")

    def record_with_evidence() -> FundEntry:
        """The entry and its receipt together: a refused file leaves no entry either."""
        entry = add_entry(project, {name: field.data for name, field in form._fields.items()}, by)
        if upload is not None and upload.filename:
            try:
                store_attachment(project, upload, Category.FUNDS_EVIDENCE, by, fund_entry=entry)
            except AttachmentError as error:
                raise FundsError(f"凭证文件：{error}", field="evidence") from error
        return entry

    saved = save(
        record_with_evidence,
        lambda entry: (
            f"已登记到位资金 {entry.amount_wan} 万元（{entry.source_region}，{entry.kind}），待核实。"
        ),
        form=form,
    )
    if not saved.ok:
        return _ledger_page(get_visible_or_404(Project, project_id), form)
    return redirect(url_for("funds.ledger", project_id=project_id))


@bp.route("/projects/<int:project_id>/funds/<int:entry_id>/evidence", methods=["POST"])
def add_evidence(project_id: int, entry_id: int):
    """Another receipt for an entry already recorded (multipart field `file`): a scan that came later,
    the equipment list beside the bank receipt."""
    project = get_visible_or_404(Project, project_id)
    entry = entry_of(project, entry_id)
    if entry is None:
        abort(404)
    if current_user.role not in FUND_RECORDERS:
        abort(403)
    form = EvidenceForm()
    if not form.validate_on_submit():
        flash(first_error(form) or "提交无效", "danger")
        return _ledger_page(project)
    by = current_user._get_current_object()
    upload = request.files.get("file")
    saved = save(
        lambda: store_attachment(project, upload, Category.FUNDS_EVIDENCE, by, fund_entry=entry),
        lambda attachment: f"已为第 {entry_id} 号登记补充凭证“{attachment.name}”。",
    )
    if not saved.ok:
        return _ledger_page(get_visible_or_404(Project, project_id))
    return redirect(url_for("funds.ledger", project_id=project_id, _anchor=f"entry-{entry_id}"))


@bp.route("/projects/<int:project_id>/funds/<int:entry_id>/review", methods=["POST"])
@roles_required(*FUND_REVIEWERS)
def review(project_id: int, entry_id: int):
    """The bureau marks an entry 已核实 or 不予认定 (with the reason)."""
    project = get_visible_or_404(Project, project_id)
    entry = entry_of(project, entry_id)
    if entry is None:
        abort(404)
    form = FundReviewForm()
    if not form.validate_on_submit():
        flash(first_error(form) or "提交无效", "danger")
        return _ledger_page(project, review_forms={entry.id: form})
    by = current_user._get_current_object()
    saved = save(
        lambda: review_entry(
            entry,
            {"review": form.review.data, "review_reason": form.review_reason.data},
            by,
            form.version.data,
        ),
        lambda e: f"已将第 {e.id} 号登记标记为“{e.review}”。",
        form=form,
    )
    if not saved.ok:
        fresh = get_visible_or_404(Project, project_id)
        return _ledger_page(fresh, review_forms={entry_id: form})
    return redirect(url_for("funds.ledger", project_id=project_id, _anchor=f"entry-{entry_id}"))


@bp.route("/measures")
def definitions():
    """统计口径: every rate and count the pages and briefs show, as the file in force defines it."""
    return render_template("projects/measures.html", measures=measures.current())


# ---------------------------------------------------------------- 到位资金 by 口径


def _report_scope():
    """The report's projects (the user's scope, the list's cluster and district filters) and its
    period of arrival (default: this year up to today)."""
    today = today_local()
    filters = ProjectFilter.from_args(request.args)
    first = filter_day(request.args.get("arrived_from")) or date(today.year, 1, 1)
    last = filter_day(request.args.get("arrived_to")) or today
    if first > last:
        first, last = last, first
    return filters, visible_projects(filters, today), first, last


@bp.route("/funds/report")
def funds_report():
    """到位资金统计: by source, kind, review, signing year, district, cluster and month."""
    filters, projects, first, last = _report_scope()
    return render_template(
        "projects/funds_report.html",
        data=report.gather(projects, first, last),
        filters=filters,
        clusters=all_clusters(),
        districts=all_districts(),
    )


SHEETS = {
    "source": "按来源地",
    "kind": "按资金类型",
    "review": "按核实状态",
    "cohort": "按签约年度",
    "district": "按区县",
    "cluster": "按产业集群",
    "month": "按到位月份",
}


def _project_columns(last: date) -> list:
    funds = measures.current().funds
    cohort = lambda p: report.THIS_YEARS if p.signed_on.year == last.year else report.EARLIER  # noqa: E731
    columns = [
        ("项目名称", lambda r: r[0].name, 30),
        ("企业名称", lambda r: r[0].enterprise.name, 30),
        ("落地区县", lambda r: r[0].district.name, 12),
        ("园区", lambda r: r[0].park or "", 14),
        ("招商目录条目", lambda r: "、".join(e.code for e in r[0].catalogue_entries), 16),
        ("签约日期", lambda r: r[0].signed_on, 12),
        ("签约年度类别", lambda r: cohort(r[0]), 16),
        ("协议投资额（万元）", lambda r: r[0].agreed_investment_wan, 14),
        ("本期到位资金（万元）", lambda r: r[1]["total"], 14),
    ]
    columns += [
        (f"其中：{region}", lambda r, region=region: r[1]["sources"][region], 12) for region in SOURCE_REGIONS
    ]
    columns += [
        ("其中：来源未注明", lambda r: r[1]["sources"][UNSTATED], 12),
        ("其中：固定资产投资", lambda r: r[1]["fixed_assets"], 14),
        ("其中：已核实", lambda r: r[1]["verified"], 12),
        ("登记笔数", lambda r: r[1]["entries"], 10),
        ("自签约累计到位（万元）", lambda r: funds.total(r[0].fund_entries, until=last), 16),
        ("项目阶段", lambda r: r[0].stage, 8),
    ]
    return columns


@bp.route("/funds/report.xlsx")
def funds_report_export():
    """招商引资统计报表: one row per project with arrivals in the period, then one sheet per breakdown."""
    _, projects, first, last = _report_scope()
    data = report.gather(projects, first, last)
    summary = [
        ("项目", lambda r: r[0], 24),
        ("到位资金（万元）", lambda r: r[1], 16),
        ("登记笔数", lambda r: r[2], 10),
    ]
    sheets = [
        ("招商引资到位资金（按项目）", _project_columns(last), report.project_rows(projects, first, last))
    ]
    for breakdown in data["breakdowns"]:
        sheets.append((SHEETS[breakdown.key], summary, [*breakdown.rows, ("合计", breakdown.total, None)]))
    name = f"招商引资到位资金统计表_{first.isoformat()}_{last.isoformat()}.xlsx"
    return send_workbook("fund_entries", sheets, name)
