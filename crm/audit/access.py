"""Events the session listeners cannot see but that belong in the log: data leaving the system as
a file, and what an import's chunk wrote."""

from crm.audit.models import AuditLog
from crm.core.actor import current_actor
from crm.core.timeutil import utcnow
from crm.extensions import db


def record_event(action: str, table_name: str, row_id: str, before: dict | None, after: dict) -> None:
    """An audit entry by the acting user, written beside the session's own entries (the caller
    commits)."""
    actor_id, actor_name = current_actor()
    db.session.add(
        AuditLog(
            created_at=utcnow(),
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            table_name=table_name,
            row_id=row_id,
            before=before,
            after=after,
        )
    )


def record_export(table_name: str, file_name: str, rows: int, conditions: str) -> None:
    """Note that the acting user took `rows` records of `table_name` away as `file_name`, with the
    list's filters `conditions`: an export is where data leaves the bureau, so who took what is
    kept beside the logins (the audit log's 访问 tab). The caller commits."""
    after = {"行数": rows, "筛选条件": conditions[:500] or "（无，全部记录）"}
    record_event("export", table_name, file_name[:64], None, after)
