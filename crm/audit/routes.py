"""The audit log page, for managers and admins, filtered by object."""

from flask import Blueprint, render_template, request
from sqlalchemy import select

from crm.audit.models import ACTION_LABELS, AuditLog
from crm.auth.models import ADMIN, MANAGER
from crm.auth.permissions import roles_required
from crm.core.pagination import paginate
from crm.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _audited_models() -> list[type]:
    return [
        mapper.class_
        for mapper in db.Model.registry.mappers
        if getattr(mapper.class_, "__audited__", True) and hasattr(mapper.class_, "__tablename__")
    ]


def table_labels() -> dict[str, str]:
    """Chinese names of the audited tables, from each model's __audit_label__."""
    labels = {
        cls.__tablename__: getattr(cls, "__audit_label__", cls.__tablename__) for cls in _audited_models()
    }
    return dict(sorted(labels.items(), key=lambda item: item[1]))


def field_labels() -> dict[str, dict[str, str]]:
    """Chinese names of each audited table's fields, from each model's __field_labels__."""
    return {cls.__tablename__: getattr(cls, "__field_labels__", {}) for cls in _audited_models()}


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
