"""The audit log page, for managers and admins, filtered by object."""

from flask import Blueprint, render_template, request
from sqlalchemy import select

from crm.audit.labels import field_labels, table_labels
from crm.audit.models import ACTION_LABELS, AuditLog
from crm.auth.models import ADMIN, MANAGER
from crm.auth.permissions import roles_required
from crm.core.pagination import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.route("/")
@roles_required(MANAGER, ADMIN)
def index():
    """Audit entries, newest first; ?table=&row_id= narrows to one object."""
    labels = table_labels()
    filters = {key: request.args.get(key, "").strip()[:64] for key in ("table", "row_id", "actor", "action")}
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if filters["table"] in labels:
        stmt = stmt.where(AuditLog.table_name == filters["table"])
    if filters["row_id"]:
        stmt = stmt.where(AuditLog.row_id == filters["row_id"])
    if filters["actor"]:
        stmt = stmt.where(AuditLog.actor_name.contains(filters["actor"], autoescape=True))
    if filters["action"] in ACTION_LABELS:
        stmt = stmt.where(AuditLog.action == filters["action"])
    return render_template(
        "audit/index.html",
        page=paginate(stmt),
        labels=labels,
        field_labels=field_labels(),
        actions=ACTION_LABELS,
        filters=filters,
    )
