"""Pages of the industry map: the map, the clusters, the cluster × district matrix, the catalogue."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.auth.models import ADMIN, MANAGER
from crm.auth.permissions import roles_required
from crm.auth.service import display_names
from crm.core.converters import record_id
from crm.core.excel import XLSX
from crm.core.forms import choices
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry import catalogue as cat
from crm.industry.forms import CatalogueEntryForm, TargetReportForm
from crm.industry.models import ACTIONS, GAPS, PRIORITIES, Cluster, Target
from crm.industry.service import all_clusters, all_sectors, map_tree
from crm.industry.targets import (
    get_reported_target,
    latest_reports,
    report_history,
    report_target,
    reported_targets,
)
from crm.leads.service import LEAD_WORKERS
from crm.matching.vocabulary import load_vocabulary
from crm.readmodels import learning
from crm.readmodels.attachments import attachment_counts
from crm.readmodels.forms import DecisionForm
from crm.readmodels.gaps import gap_targets, gaps
from crm.readmodels.matching import recommendations
from crm.readmodels.models import MatchProposal
from crm.web.exports import send_xlsx
from crm.web.saving import flash_form_errors, save

bp = Blueprint("industry", __name__)

EDITORS = (MANAGER, ADMIN)


@bp.route("/map")
def industry_map():
    """产业地图: categories → sectors → chains → products, with what attaches to each node."""
    tree = map_tree()
    return render_template(
        "industry/map.html",
        tree=tree,
        counts=attachment_counts(),
        targets=list(db.session.scalars(select(Target).order_by(Target.sort_order))),
    )


@bp.route("/clusters")
def clusters():
    """The 8 key and 5 feature clusters."""
    return render_template("industry/clusters.html", clusters=all_clusters())


@bp.route("/clusters/matrix")
def cluster_matrix():
    """Cluster × district: which district belongs to which cluster, core or listed."""
    clusters = all_clusters()
    cells: dict[tuple[int, int], str] = {}
    districts = {}
    for cluster in clusters:
        for member in cluster.members:
            cells[(member.district_id, cluster.id)] = "core" if member.core else "listed"
            districts[member.district_id] = member.district
    rows = sorted(districts.values(), key=lambda d: d.sort_order)
    return render_template("industry/matrix.html", clusters=clusters, rows=rows, cells=cells)


def _cluster_or_404(code: str) -> Cluster:
    return db.session.scalar(
        select(Cluster).where(Cluster.code == code.strip().upper()[:8], Cluster.retired.is_(False))
    ) or abort(404)


@bp.route("/clusters/<code>")
def cluster_detail(code: str):
    """One cluster: its districts, sectors and catalogue entries (空白环节 are flagged)."""
    cluster = _cluster_or_404(code)
    entries = db.session.scalars(cat.CatalogueFilter(cluster=cluster.code).statement()).unique().all()
    sectors = list(dict.fromkeys(e.sector for e in entries))
    return render_template(
        "industry/cluster.html", cluster=cluster, entries=entries, sectors=sectors, counts=attachment_counts()
    )


@bp.route("/catalogue")
def catalogue():
    """产业链招商目录 with filters; the export takes the same filters."""
    filters = cat.CatalogueFilter.from_args(request.args)
    return render_template(
        "industry/catalogue.html",
        page=paginate(filters.statement(), per_page=50),
        filters=filters,
        sectors=all_sectors(),
        clusters=all_clusters(),
        actions=ACTIONS,
        gaps=GAPS,
        priorities=PRIORITIES,
        counts=attachment_counts(),
    )


@bp.route("/catalogue/export.xlsx")
def catalogue_export():
    """The filtered catalogue as an Excel workbook."""
    filters = cat.CatalogueFilter.from_args(request.args)
    entries = db.session.scalars(filters.statement()).unique().all()
    return send_file(
        io.BytesIO(cat.export_xlsx(entries)),
        mimetype=XLSX,
        as_attachment=True,
        download_name="产业链招商目录.xlsx",
    )


@bp.route("/catalogue/<code>")
def catalogue_entry(code: str):
    """One catalogue entry: where it comes from in the seed, its clusters and districts, its history."""
    entry = cat.get_entry(code) or abort(404)
    return render_template(
        "industry/entry.html",
        entry=entry,
        history=cat.entry_history(entry),
        can_edit=current_user.has_role(*EDITORS),
        counts=attachment_counts(),
        recommended=recommendations({entry.code}, per_entry=10).get(entry.code, []),
    )


@bp.route("/catalogue/gaps")
def catalogue_gaps():
    """空白环节: per cluster, the entries nobody is working on, with firms on file that fit them."""
    clusters = all_clusters()
    cluster = (request.args.get("cluster") or "").strip()[:8].upper() or None
    if cluster and cluster not in {c.code for c in clusters}:
        # An unknown code would otherwise give an empty page that reads as "no gaps anywhere".
        flash(f"没有代码为“{cluster}”的产业集群，已列出全部集群。", "warning")
        cluster = None
    return render_template("industry/gaps.html", report=gaps(cluster), clusters=clusters, chosen=cluster)


TARGET_COLUMNS = [
    ("空白环节代码", lambda r: r.entry.code, 12),
    ("产品方向", lambda r: r.entry.title, 24),
    ("产业链", lambda r: r.entry.chain.name, 14),
    ("招商动作", lambda r: r.entry.action, 8),
    ("环节类型", lambda r: r.entry.gap, 10),
    ("优先级", lambda r: r.entry.priority, 6),
    ("推荐排名", lambda r: r.rank or "", 8),
    ("企业名称", lambda r: r.firm.name if r.firm else "", 30),
    ("统一社会信用代码", lambda r: (r.firm.credit_code or "") if r.firm else "", 22),
    ("总部省份", lambda r: (r.firm.hq_province or "") if r.firm else "", 10),
    ("总部城市", lambda r: (r.firm.hq_city or "") if r.firm else "", 10),
    ("年营业收入（万元）", lambda r: r.firm.revenue_wan if r.firm else None, 14),
    ("主要产品", lambda r: r.firm.products if r.firm else "", 40),
    ("匹配得分", lambda r: r.score, 10),
    ("推荐理由", lambda r: r.reason, 40),
]


@bp.route("/catalogue/gaps/<code>/targets.xlsx")
def gap_targets_export(code: str):
    """A cluster's 招商目标清单: every 空白环节 with the unworked firms that fit it, ranked, and why."""
    cluster = _cluster_or_404(code)
    rows = gap_targets(cluster.code)
    stamp = today_local().strftime("%Y%m%d")
    return send_xlsx(
        "enterprises",
        f"{cluster.short_name}招商目标",
        TARGET_COLUMNS,
        rows,
        f"{cluster.short_name}招商目标清单{stamp}.xlsx",
    )


# ---------------------------------------------------------------- 匹配学习


@bp.route("/catalogue/learning")
@roles_required(*LEAD_WORKERS)  # who judge matches; managers also decide the proposals
def match_learning():
    """匹配学习: the proposals learnt from officers' corrections (managers accept or reject each),
    the figures before and after, the judgements, and the word lists' count by source."""
    pending = learning.pending_proposals()
    vocabulary = load_vocabulary()
    counts = vocabulary.counts()
    now, problem = None, None
    try:
        now = learning.current_figures()
    except learning.LearningError as error:  # a malformed MATCH_EVAL_FILE: said, not a 500
        problem = str(error)
    titles = learning.entry_titles()
    return render_template(
        "industry/learning.html",
        run=learning.latest_run(),
        now=now,
        problem=problem,
        pending=pending,
        pending_total=learning.pending_count(),
        decided=learning.decided_proposals(),
        evidence=learning.evidence_of(pending),
        describe=lambda proposal: learning.describe(proposal, titles),
        figure_line=learning.figure_line,
        feedback=learning.recent_feedback(),
        sources=vocabulary.sources,
        counts=counts,
        total_terms=sum(sum(counter.values()) for counter in counts.values()),
        form=DecisionForm(formdata=None),
        may_decide=current_user.has_role(MANAGER),
    )


BULK_LIMIT = 500  # more ids than a page shows is not a person's choice


@bp.route("/catalogue/learning/decide", methods=["POST"])
@roles_required(MANAGER)
def decide_proposals():
    """「采纳所选」/「驳回所选」: one decision on the ticked proposals, in one transaction."""
    action = request.form.get("action", "")
    if action not in ("accept", "reject"):
        abort(400)
    form = DecisionForm()
    if form.validate_on_submit():
        choices = {
            number: record_id(request.form.get(f"version-{number}"))
            for number in map(record_id, request.form.getlist("ids")[:BULK_LIMIT])
            if number is not None
        }
        save(
            lambda: learning.decide_many(choices, current_user._get_current_object(), action),
            lambda done: f"已{learning.ACTION_WORDS[action]} {len(done)} 条建议。",
        )
    else:
        flash_form_errors(form)
    return redirect(url_for("industry.match_learning"))


@bp.route("/catalogue/learning/<int:proposal_id>/<action>", methods=["POST"])
@roles_required(MANAGER)
def decide_proposal(proposal_id: int, action: str):
    """A manager's decision on one proposal: accepted or revoked, it changes the matcher at once
    (every firm's stored matches are recomputed with it)."""
    if action not in learning.DECISIONS:
        abort(404)
    proposal = db.get_or_404(MatchProposal, proposal_id)
    form = DecisionForm()
    if form.validate_on_submit():
        save(
            lambda: learning.decide(proposal, current_user._get_current_object(), action, form.version.data),
            lambda p: f"{p.status}：{learning.describe(p)}",
        )
    else:
        flash_form_errors(form)
    return redirect(url_for("industry.match_learning"))


@bp.route("/catalogue/<code>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def catalogue_edit(code: str):
    """Managers edit an entry; a save over someone else's newer save is refused and shown."""
    entry = cat.get_entry(code) or abort(404)
    form = CatalogueEntryForm(obj=entry if request.method == "GET" else None)
    form.clusters.choices = choices((c.code, c.name) for c in all_clusters())
    if request.method == "GET":
        form.fill(entry)
    conflict = None
    if form.validate_on_submit():
        saved = save(
            lambda: cat.update_entry(entry, form.values(), form.version.data),
            f"已保存目录条目 {entry.code}。",
            form=form,
            shown_by_page=(cat.EditConflict,),
        )
        if saved.ok:
            return redirect(url_for("industry.catalogue_entry", code=entry.code))
        if isinstance(saved.error, cat.EditConflict):
            conflict = saved.error
            entry = conflict.entry
            # The next save is a knowing overwrite of what is shown now (raw_data is what renders).
            form.version.data = entry.version
            form.version.raw_data = [str(entry.version)]
    return render_template("industry/entry_edit.html", entry=entry, form=form, conflict=conflict)


@bp.route("/targets")
@roles_required(*EDITORS)
def targets():
    """2027 年目标填报: the targets the CRM cannot count, each with its latest reported figure."""
    latest = latest_reports()
    rows = [(t, latest.get(t.id)) for t in reported_targets()]
    return render_template(
        "industry/targets.html", rows=rows, names=display_names(r.entered_by_id for _, r in rows if r)
    )


@bp.route("/targets/<code>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def target_report(code: str):
    """Report a figure for one target (managers); its whole history below, newest first."""
    target = get_reported_target(code[:32]) or abort(404)
    form = TargetReportForm()
    if request.method == "GET":
        form.as_of.data = today_local().isoformat()
    elif current_user.role != MANAGER:
        abort(403)
    elif form.validate_on_submit():
        by = current_user._get_current_object()
        saved = save(
            lambda: report_target(target, form.data, by), f"已记录“{target.name}”的最新数值。", form=form
        )
        if saved.ok:
            return redirect(url_for("industry.target_report", code=target.code))
    history = report_history(target)
    return render_template(
        "industry/target_report.html",
        target=target,
        form=form,
        history=history,
        names=display_names(r.entered_by_id for r in history),
    )
