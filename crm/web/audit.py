"""The audit log page, for managers and admins: data changes by object, logins apart."""

from flask import Blueprint, render_template, request
from sqlalchemy import or_, select

from crm.audit.labels import field_labels, table_labels
from crm.audit.models import ACCESS_ACTIONS, ACTION_LABELS, AuditLog
from crm.auth.models import ADMIN, MANAGER, User
from crm.auth.permissions import roles_required
from crm.auth.service import display_names
from crm.core.pagination import paginate

bp = Blueprint("audit", __name__, url_prefix="/audit")

KINDS = {"data": "数据变更", "access": "登录、会话与导出"}


def actor_names(entries) -> dict[int, str]:
    """The display names of the users behind these entries (the log keeps their id and login name)."""
    return display_names(e.actor_id for e in entries)


@bp.route("/")
@roles_required(MANAGER, ADMIN)
def index():
    """Audit entries, newest first; ?table=&row_id= narrows to one object; data changes by
    default, ?kind=access for logins and ended sessions."""
    labels = table_labels()
    filters = {
        key: request.args.get(key, "").strip()[:64] for key in ("table", "row_id", "actor", "action", "kind")
    }
    if filters["kind"] not in KINDS:
        filters["kind"] = "data"
    stmt = select(AuditLog).order_by(AuditLog.id.desc())
    if filters["table"] in labels:
        stmt = stmt.where(AuditLog.table_name == filters["table"])
    if filters["row_id"]:
        stmt = stmt.where(AuditLog.row_id == filters["row_id"])
    if filters["actor"]:
        # The page shows display names; the log keeps login names: either finds the person.
        named = select(User.id).where(User.display_name.contains(filters["actor"], autoescape=True))
        stmt = stmt.where(
            or_(AuditLog.actor_name.contains(filters["actor"], autoescape=True), AuditLog.actor_id.in_(named))
        )
    if filters["action"] in ACTION_LABELS:
        stmt = stmt.where(AuditLog.action == filters["action"])
    elif filters["kind"] == "access":
        stmt = stmt.where(AuditLog.action.in_(ACCESS_ACTIONS))
    else:
        stmt = stmt.where(AuditLog.action.not_in(ACCESS_ACTIONS))
    page = paginate(stmt)
    return render_template(
        "audit/index.html",
        page=page,
        labels=labels,
        field_labels=field_labels(),
        actions=ACTION_LABELS,
        kinds=KINDS,
        names=actor_names(page.items),
        filters=filters,
    )
