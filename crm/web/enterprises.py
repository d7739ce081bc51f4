"""Enterprise pages: list, create (with the duplicate check), read, edit, contacts, export, merge."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import NotFound

from crm.auth.permissions import get_visible, get_visible_or_404, roles_required, scoped
from crm.core.pagination import paginate
from crm.enterprises.forms import ContactForm, EnterpriseForm
from crm.enterprises.models import KINDS, OWNERSHIPS, TIER_5BN_WAN, TIER_10BN_WAN, Enterprise
from crm.enterprises.service import (
    EDITORS,
    LISTED,
    DuplicateWarning,
    add_contact,
    create_enterprise,
    find_duplicates,
    update_enterprise,
    visible_enterprises,
)
from crm.events.service import events_met
from crm.extensions import db
from crm.leads.models import Lead
from crm.leads.service import LEAD_WORKERS, LeadFilter, visible_leads
from crm.merge.forms import MergeForm, parse_id
from crm.merge.service import absorbed_ids, final_enterprise, merge_enterprises, merge_problem
from crm.places.service import district_choices
from crm.projects.models import Project
from crm.projects.service import ProjectFilter, visible_projects
from crm.readmodels.forms import MatchFeedbackForm
from crm.readmodels.learning import enterprise_feedback, record_feedback
from crm.readmodels.matching import match_enterprise
from crm.readmodels.timeline import build_timeline
from crm.web.exports import entry_codes, send_xlsx, streamed
from crm.web.saving import flash_form_errors, save

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")

TIMELINE_LIMIT = 100  # the newest; the whole history stays in the audit log


def _form() -> EnterpriseForm:
    form = EnterpriseForm()
    form.district.choices = district_choices("（不适用）")
    return form


def _filtered():
    """The list's query with the request's filters: the page and its export show the same rows."""
    stmt = visible_enterprises(request.args.get("q", ""))
    if request.args.get("kind", "") in KINDS:
        stmt = stmt.where(Enterprise.kind == request.args["kind"])
    if request.args.get("ownership", "") in OWNERSHIPS:
        stmt = stmt.where(Enterprise.ownership == request.args["ownership"])
    # The tiers and listing the 2027 targets count (the dashboard's numbers link here).
    tier = request.args.get("tier", "")
    if tier == "百亿级":
        stmt = stmt.where(Enterprise.revenue_wan >= TIER_10BN_WAN)
    elif tier == "五十亿级":
        stmt = stmt.where(Enterprise.revenue_wan >= TIER_5BN_WAN, Enterprise.revenue_wan < TIER_10BN_WAN)
    if request.args.get("listed") == "1":
        stmt = stmt.where(Enterprise.listed_exchange.is_not(None))
    return stmt.order_by(Enterprise.id.desc())


@bp.route("/")
def index():
    """Enterprises the user may see, filtered and paged."""
    return render_template(
        "enterprises/index.html",
        page=paginate(_filtered().options(*LISTED)),
        kinds=KINDS,
        ownerships=OWNERSHIPS,
        can_edit=current_user.has_role(*EDITORS),
    )


EXPORT_COLUMNS = [
    ("企业名称", lambda e: e.name, 30),
    ("统一社会信用代码", lambda e: e.credit_code or "", 22),
    ("类别", lambda e: e.kind_label, 10),
    ("曾用名", lambda e: "、".join(e.former_names), 20),
    ("所有制", lambda e: e.ownership or "", 10),
    ("总部省份", lambda e: e.hq_province or "", 10),
    ("总部城市", lambda e: e.hq_city or "", 10),
    ("所在区县", lambda e: e.district.name if e.district else "", 12),
    ("上市地", lambda e: e.listed_exchange or "", 8),
    ("股票代码", lambda e: e.listed_code or "", 10),
    ("年营业收入（万元）", lambda e: e.revenue_wan, 14),
    ("规模", lambda e: e.revenue_tier or "", 8),
    ("荣誉资质", lambda e: "、".join(e.honours), 24),
    ("主要产品", lambda e: e.products, 40),
    ("目录条目", lambda e: "、".join(c.code for c in e.catalogue_entries), 20),
    ("法定代表人", lambda e: e.legal_representative or "", 10),
    ("注册资本", lambda e: e.registered_capital or "", 16),
    ("成立日期", lambda e: e.established_on, 12),
    ("经营范围", lambda e: e.business_scope, 40),
]


@bp.route("/export.xlsx")
def export():
    """What the list shows (all pages), within the user's permissions, as Excel."""
    stmt = _filtered().options(selectinload(Enterprise.district), entry_codes(Enterprise.catalogue_entries))
    return send_xlsx("enterprises", "企业库", EXPORT_COLUMNS, streamed(stmt), "企业库.xlsx")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    """Create an enterprise; a probable duplicate is shown first, with links to the firms on file."""
    form = _form()
    duplicates = []
    if form.validate_on_submit():
        saved = save(
            lambda: create_enterprise(form.raw(), confirm_duplicate=form.confirm_duplicate.data),
            lambda enterprise: f"已创建企业“{enterprise.name}”。",
            form=form,
            shown_by_page=(DuplicateWarning,),
        )
        if saved.ok:
            return redirect(url_for("enterprises.detail", enterprise_id=saved.value.id))
        if isinstance(saved.error, DuplicateWarning):
            duplicates = saved.error.matches
    return render_template("enterprises/form.html", form=form, duplicates=duplicates, enterprise=None)


@bp.route("/<int:enterprise_id>")
def detail(enterprise_id: int):
    """One enterprise: its facts, contacts, catalogue entries, leads, probable duplicates and a
    timeline that includes the history of the records merged into it."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        return _to_kept(enterprise)
    return _detail_page(enterprise, ContactForm(formdata=None))


def _detail_page(
    enterprise: Enterprise, contact_form: ContactForm, feedback_form: MatchFeedbackForm | None = None
):
    """An enterprise's page; a form of a failed submit comes back as typed, with its messages."""
    leads = db.session.scalars(visible_leads(LeadFilter(enterprise_id=enterprise.id))).all()
    can_edit = current_user.has_role(*EDITORS)
    return render_template(
        "enterprises/detail.html",
        enterprise=enterprise,
        leads=leads,
        projects=db.session.scalars(visible_projects(ProjectFilter(enterprise_id=enterprise.id))).all(),
        timeline=build_timeline(
            enterprise_ids=[enterprise.id, *absorbed_ids(enterprise)], limit=TIMELINE_LIMIT
        ),
        duplicates=_visible_duplicates(enterprise) if can_edit else [],
        # 招商活动 where this firm (or one merged into it) was met, within the user's scope.
        events=events_met(current_user, enterprise_ids=[enterprise.id, *absorbed_ids(enterprise)]),
        match=match_enterprise(enterprise),
        may_judge=current_user.has_role(*LEAD_WORKERS),
        feedback=enterprise_feedback([enterprise.id, *absorbed_ids(enterprise)]),
        feedback_form=feedback_form or MatchFeedbackForm(formdata=None),
        contact_form=contact_form,
        can_edit=can_edit,
    )


@bp.route("/<int:enterprise_id>/match-feedback", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def match_feedback(enterprise_id: int):
    """An officer's word on the firm's match: 「正确」 on a suggestion adopts it, 「更正」 names the
    right entry (also when nothing matched). Kept with who and when for `flask match learn`."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        return _to_kept(enterprise)
    form = MatchFeedbackForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        saved = save(
            lambda: record_feedback(enterprise, user, form.chosen_code.data, form.suggested_code.data),
            lambda f: f"已记录：{f.verdict} {f.chosen_code}。经理审核匹配学习建议后，匹配将据此改进。",
            form=form,
        )
        if saved.ok:
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id, _anchor="matches"))
    else:
        flash_form_errors(form)
    return _detail_page(enterprise, ContactForm(formdata=None), feedback_form=form), 400


def _to_kept(enterprise: Enterprise):
    """An absorbed record's pages lead to the record it was merged into."""
    kept = get_visible(Enterprise, final_enterprise(enterprise).id)
    if kept is None:
        # Kept under another district's firm: where it went is that district's business.
        flash("该企业已与另一企业记录合并，合并后的记录不在您的查看范围内。", "info")
        return redirect(url_for("enterprises.index"))
    flash(f"该企业已并入“{kept.name}”（编号 {kept.id}），已为您打开合并后的企业。", "info")
    return redirect(url_for("enterprises.detail", enterprise_id=kept.id))


def _visible_duplicates(enterprise: Enterprise) -> list[Enterprise]:
    """Probable duplicates the current user may see (the finder itself knows no scope)."""
    found = find_duplicates(
        enterprise.name, enterprise.credit_code, enterprise.former_names, exclude_id=enterprise.id
    )
    if not found:
        return []
    visible = select(Enterprise).where(Enterprise.id.in_([e.id for e in found])).order_by(Enterprise.id)
    return list(db.session.scalars(scoped(visible, Enterprise)))


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(enterprise_id: int):
    """Edit an enterprise; a save over someone else's newer save is refused."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        return _to_kept(enterprise)
    form = _form()
    if request.method == "GET":
        form.fill(enterprise)
    elif form.validate_on_submit():
        if save(
            lambda: update_enterprise(enterprise, form.raw(), form.version.data or 0),
            "已保存企业信息。",
            form=form,
        ).ok:
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    return render_template("enterprises/form.html", form=form, duplicates=[], enterprise=enterprise)


@bp.route("/<int:enterprise_id>/contacts", methods=["POST"])
@roles_required(*EDITORS)
def new_contact(enterprise_id: int):
    """Add a contact person."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        return _to_kept(enterprise)
    form = ContactForm()
    if form.validate_on_submit():
        if save(lambda: add_contact(enterprise, form.data), "已添加联系人。", form=form).ok:
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    else:
        flash_form_errors(form)
    return _detail_page(get_visible_or_404(Enterprise, enterprise_id), form)


def _mergeable(enterprise_id: int) -> Enterprise:
    # Visibility first, then the role: a district user learns nothing about another district's
    # firm (404), and one of their own district's firms is simply not theirs to merge (403).
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if not current_user.has_role(*EDITORS):
        abort(403)
    return enterprise


def _other(text) -> tuple[Enterprise | None, str | None]:
    """The enterprise to absorb, from the typed or posted id, or a Chinese reason why not."""
    other_id = parse_id(text)
    if other_id is None:
        return None, "请填写要并入的企业编号（正整数）"
    try:
        return get_visible_or_404(Enterprise, other_id), None
    except NotFound:
        return None, f"未找到编号为 {other_id} 的企业"


@bp.route("/<int:enterprise_id>/merge")
def merge_confirm(enterprise_id: int):
    """The confirmation page of a merge: both records side by side and what will happen."""
    keep = _mergeable(enterprise_id)
    if keep.merged_into_id is not None:
        return _to_kept(keep)
    other, problem = _other(request.args.get("other_id"))
    if other is not None:
        problem = merge_problem(keep, other)
    if problem:
        flash(problem, "danger")
        return redirect(url_for("enterprises.detail", enterprise_id=keep.id))
    counts = {
        e.id: {
            "leads": db.session.scalar(select(func.count()).where(Lead.enterprise_id == e.id)),
            "projects": db.session.scalar(select(func.count()).where(Project.enterprise_id == e.id)),
            "contacts": len(e.contacts),
        }
        for e in (keep, other)
    }
    form = MergeForm(
        formdata=None, other_id=str(other.id), keep_version=keep.version, absorbed_version=other.version
    )
    return render_template("enterprises/merge.html", keep=keep, other=other, counts=counts, form=form)


@bp.route("/<int:enterprise_id>/merge", methods=["POST"])
def merge(enterprise_id: int):
    """Fold the enterprise `other_id` into this one (after the user ticked 已核对为同一企业)."""
    keep = _mergeable(enterprise_id)
    if keep.merged_into_id is not None:
        return _to_kept(keep)
    form = MergeForm()
    back = url_for("enterprises.detail", enterprise_id=keep.id)
    other, problem = _other(form.other_id.data)
    if not form.validate_on_submit():
        flash_form_errors(form)
        if other is not None:
            back = url_for("enterprises.merge_confirm", enterprise_id=keep.id, other_id=other.id)
        return redirect(back)
    if problem:
        flash(problem, "danger")
        return redirect(back)
    keep_version, absorbed_version = form.versions()
    if keep_version is None or absorbed_version is None:
        # Without the versions the user saw, a concurrent edit could be merged over unseen.
        flash("页面缺少版本信息，请从合并确认页重新提交", "danger")
        return redirect(url_for("enterprises.merge_confirm", enterprise_id=keep.id, other_id=other.id))
    success = f"已将“{other.name}”（编号 {other.id}）并入本企业：其线索、联系人、项目和变更记录均已转入。"
    save(
        lambda: merge_enterprises(
            keep,
            other,
            current_user._get_current_object(),
            keep_version=keep_version,
            absorbed_version=absorbed_version,
        ),
        success,
    )
    return redirect(back)
