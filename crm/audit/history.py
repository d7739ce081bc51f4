"""Reading a record's history back from the audit log: what an editor missed while editing."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.extensions import db


@dataclass
class Change:
    """One field someone else changed: who, when, from what to what."""

    who: str
    when: object
    field: str
    before: object
    after: object


def record_history(obj: Any, after_version: int = 0) -> list[AuditLog]:
    """The audit entries of this row, oldest first (optionally only those after a version)."""
    stmt = (
        select(AuditLog)
        .where(AuditLog.table_name == type(obj).__tablename__, AuditLog.row_id == str(obj.id))
        .order_by(AuditLog.id)
    )
    entries = list(db.session.scalars(stmt))
    if after_version:
        entries = [e for e in entries if (e.after or {}).get("version", 0) > after_version]
    return entries


def changes_since(obj: Any, version: int) -> list[Change]:
    """Every field change made to `obj` after `version`, labelled for readers."""
    model = type(obj)
    labels = getattr(model, "__field_labels__", {})
    hidden = getattr(model, "__audit_hidden__", frozenset())
    return [
        Change(log.actor_name, log.created_at, labels.get(key, key), before, after)
        for log in record_history(obj, after_version=version)
        for key, before, after in log.changes()
        if key != "version" and key not in hidden
    ]
