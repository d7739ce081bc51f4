"""Enterprise pages: list, create (with the duplicate check), read, edit, contacts, export."""

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from crm.audit.models import AuditLog
from crm.auth.models import ADMIN, MANAGER, OFFICER
from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.core.excel import XLSX, xlsx_bytes
from crm.core.pagination import paginate
from crm.enterprises.forms import ContactForm, EnterpriseForm
from crm.enterprises.models import KINDS, OWNERSHIPS, Contact, Enterprise
from crm.enterprises.service import (
    DuplicateWarning,
    EnterpriseError,
    add_contact,
    create_enterprise,
    update_enterprise,
    visible_enterprises,
)
from crm.extensions import db
from crm.industry.service import district_choices
from crm.leads.models import Lead

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")

EDITORS = (OFFICER, MANAGER, ADMIN)


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
    return stmt.order_by(Enterprise.id.desc())


@bp.route("/")
def index():
    """Enterprises the user may see, filtered and paged."""
    return render_template(
        "enterprises/index.html",
        page=paginate(_filtered()),
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
]


@bp.route("/export.xlsx")
def export():
    """What the list shows (all pages), within the user's permissions, as Excel."""
    rows = db.session.scalars(_filtered()).all()
    return send_file(
        io.BytesIO(xlsx_bytes("企业库", EXPORT_COLUMNS, rows)),
        mimetype=XLSX,
        as_attachment=True,
        download_name="企业库.xlsx",
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    """Create an enterprise; a probable duplicate is shown first, with links to the firms on file."""
    form = _form()
    duplicates = []
    if form.validate_on_submit():
        try:
            enterprise = create_enterprise(form.raw(), confirm_duplicate=form.confirm_duplicate.data)
        except DuplicateWarning as warning:
            db.session.rollback()
            duplicates = warning.matches
        except EnterpriseError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash(f"已创建企业“{enterprise.name}”。", "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    return render_template("enterprises/form.html", form=form, duplicates=duplicates, enterprise=None)


@bp.route("/<int:enterprise_id>")
def detail(enterprise_id: int):
    """One enterprise: its facts, contacts, catalogue entries, leads and history."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    leads = db.session.scalars(scoped(select(Lead).where(Lead.enterprise_id == enterprise.id), Lead)).all()
    contact_ids = [str(c.id) for c in enterprise.contacts]
    history = db.session.scalars(
        select(AuditLog)
        .where(
            or_(
                (AuditLog.table_name == "enterprises") & (AuditLog.row_id == str(enterprise.id)),
                (AuditLog.table_name == "contacts") & AuditLog.row_id.in_(contact_ids),
            )
        )
        .order_by(AuditLog.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "enterprises/detail.html",
        enterprise=enterprise,
        leads=leads,
        history=history,
        contact_form=ContactForm(),
        can_edit=current_user.has_role(*EDITORS),
        labels={"enterprises": Enterprise.__field_labels__, "contacts": Contact.__field_labels__},
    )


@bp.route("/<int:enterprise_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(enterprise_id: int):
    """Edit an enterprise; a save over someone else's newer save is refused."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    form = _form()
    if request.method == "GET":
        form.fill(enterprise)
    elif form.validate_on_submit():
        try:
            update_enterprise(enterprise, form.raw(), form.version.data or 0)
        except EnterpriseError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash("已保存企业信息。", "success")
            return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    return render_template("enterprises/form.html", form=form, duplicates=[], enterprise=enterprise)


@bp.route("/<int:enterprise_id>/contacts", methods=["POST"])
@roles_required(*EDITORS)
def new_contact(enterprise_id: int):
    """Add a contact person."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    form = ContactForm()
    if form.validate_on_submit():
        try:
            add_contact(enterprise, form.data)
        except EnterpriseError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            db.session.commit()
            flash("已添加联系人。", "success")
    else:
        for errors in form.errors.values():
            flash(errors[0], "danger")
    return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
