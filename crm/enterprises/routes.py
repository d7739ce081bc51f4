"""Enterprise pages: list, create (with the duplicate check), read, edit, contacts."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from crm.audit.models import AuditLog
from crm.auth.models import ADMIN, MANAGER, OFFICER
from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.core.forms import choices
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
from crm.industry.service import all_districts
from crm.leads.models import Lead

bp = Blueprint("enterprises", __name__, url_prefix="/enterprises")

EDITORS = (OFFICER, MANAGER, ADMIN)


def _form() -> EnterpriseForm:
    form = EnterpriseForm()
    form.district.choices = choices([("", "（不适用）"), *((d.name, d.name) for d in all_districts())])
    return form


@bp.route("/")
def index():
    """Enterprises the user may see, filtered and paged."""
    stmt = visible_enterprises(request.args.get("q", ""))
    kind = request.args.get("kind", "")
    if kind in KINDS:
        stmt = stmt.where(Enterprise.kind == kind)
    ownership = request.args.get("ownership", "")
    if ownership in OWNERSHIPS:
        stmt = stmt.where(Enterprise.ownership == ownership)
    return render_template(
        "enterprises/index.html",
        page=paginate(stmt.order_by(Enterprise.id.desc())),
        kinds=KINDS,
        ownerships=OWNERSHIPS,
        can_edit=current_user.has_role(*EDITORS),
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
