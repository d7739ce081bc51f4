"""The audit log table; rows are written by crm.audit.listeners, never by views."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.timeutil import utcnow
from crm.extensions import db

ACTION_LABELS = {
    "insert": "新增",
    "update": "修改",
    "delete": "删除",
    "login": "登录",
    "session": "结束会话",
    "attempt": "登录尝试",
    "export": "导出",
}
# Access, not data: a login, sessions ended (logout), an export (crm.audit.access). A model names
# the columns whose change alone is such an event in __access_actions__; the log page shows them
# apart from the data changes.
ACCESS_ACTIONS = ("login", "session", "attempt", "export")


class AuditLog(db.Model):
    """One change to one row: who, when, which table and row, the values before and after."""

    __tablename__ = "audit_log"
    __audited__ = False  # the log does not log itself
    __table_args__ = (Index("ix_audit_log_object", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # No foreign key: the log must outlive anything it mentions, users included.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for every field this entry mentions."""
        before, after = self.before or {}, self.after or {}
        keys = list(dict.fromkeys([*before, *after]))
        return [(key, before.get(key), after.get(key)) for key in keys]

    def __repr__(self) -> str:
        return f"<AuditLog {self.action} {self.table_name}#{self.row_id}>"
