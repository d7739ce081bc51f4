"""Access events that change no row but belong in the log: data leaving the system as a file."""

from crm.audit.models import AuditLog
from crm.core.actor import current_actor
from crm.core.timeutil import utcnow
from crm.extensions import db


def record_export(table_name: str, file_name: str, rows: int, conditions: str) -> None:
    """Note that the acting user took `rows` records of `table_name` away as `file_name`, with the
    list's filters `conditions`: an export is where data leaves the bureau, so who took what is
    kept beside the logins (the audit log's 访问 tab). The caller commits."""
    actor_id, actor_name = current_actor()
    db.session.add(
        AuditLog(
            created_at=utcnow(),
            actor_id=actor_id,
            actor_name=actor_name,
            action="export",
            table_name=table_name,
            row_id=file_name[:64],
            before=None,
            after={"行数": rows, "筛选条件": conditions[:500] or "（无，全部记录）"},
        )
    )
