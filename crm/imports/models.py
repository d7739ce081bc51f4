"""An uploaded file waiting for its column mapping and confirmation, then its result."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.timeutil import utcnow
from crm.extensions import db

KINDS = {"enterprises": "企业", "leads": "招商线索", "events": "招商活动"}
STATUSES = {"pending": "待确认", "applied": "已导入", "cancelled": "已取消"}


class ImportBatch(db.Model):
    """One uploaded file. Its cells are kept as text so that the preview and the confirmed import
    validate exactly the same rows; nothing reaches the enterprise or lead tables before confirm."""

    __tablename__ = "import_batches"
    __audit_label__ = "导入批次"
    # The cells, the kept preview and the progress change with every check and chunk: the log keeps
    # what people decide (mapping, status) and, per chunk, which records it created (service._trace).
    __audit_hidden__ = frozenset({"rows", "result", "version"})
    __field_labels__ = {
        "kind": "导入内容",
        "filename": "文件名",
        "headers": "表头",
        "header_row": "表头行",
        "mapping": "列对应关系",
        "create_duplicates": "疑似重复仍然新建",
        "status": "状态",
        "applied_at": "导入完成时间",
        "imported_rows": "已导入行数",
        "created_ids": "新建记录编号",
        "updated_ids": "更新记录编号",
    }
    __table_args__ = (
        CheckConstraint("kind IN ('enterprises', 'leads', 'events')", name="kind_known"),
        CheckConstraint("status IN ('pending', 'applied', 'cancelled')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(128))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The header row as found, and its position in the sheet (1-based, for row numbers in messages).
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    header_row: Mapped[int] = mapped_column(Integer, default=1)
    # Deferred: up to 20 000 rows of cells (megabytes of JSON) that only checking and importing read.
    rows: Mapped[list[list[str]]] = mapped_column(JSON, default=list, deferred=True)
    # Column index (as text) → field name; a column left out is ignored.
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Rows that look like a firm already on file (by name) are created anyway only when asked.
    create_duplicates: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # While pending: the kept preview and the import's progress (crm.imports.service); then the counts.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)

    created_by: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.kind} {self.status}>"
