"""Attachments (附件) of a project — signed agreements, land documents, site photos, business
licences, evidence of funds in place — or of a 招商活动 — its agenda, sign-in sheet, photos, promotion
material, press clippings. The verbs: store a file on its owner (type told by its content, size
bounded, name kept as written), list an owner's files, find one the reader may see, delete one
(softly: the row stays, marked, and the audit log records who and when).

crm.events sits above this package: an event is known here by its table only (no import);
crm.events.models sets Attachment.event and adds how a district user reaches an event's files
(Attachment.district_links). Who may upload to or delete from an event is the events' rule
(may_change_event), asked by the pages (crm.web.attachments).

Where the bytes live is crm.files.storage's business; what a file is, crm.files.sniff's."""

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from flask import current_app
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    String,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from crm.auth.models import MANAGER, User
from crm.auth.permissions import scoped
from crm.config import MB
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.core.transaction import Refusal
from crm.extensions import db
from crm.files import storage as stores
from crm.files.sniff import FileKind, FileRefused, clean_name, sniff
from crm.projects.models import FundEntry, Project, Review
from crm.projects.service import UPDATE_REPORTERS


class Category(Choice):
    """What a project's file is for, as the bureau files it."""

    AGREEMENT = "签约协议"
    LAND = "供地文件"
    SITE_PHOTO = "现场照片"
    BUSINESS_LICENCE = "营业执照"
    FUNDS_EVIDENCE = "到位凭证"
    OTHER = "其他"


class EventCategory(Choice):
    """What a 招商活动's file is for."""

    AGENDA = "活动议程"
    SIGN_IN = "签到表"
    PHOTO = "活动照片"
    PROMOTION = "推介材料"
    PRESS = "媒体报道"
    OTHER = "其他"


CATEGORIES = tuple(Category)  # a project's (the API and its description offer these)
EVENT_CATEGORIES = tuple(EventCategory)
# What the column may hold: either owner's (其他 is both's). The service checks the owner's own.
KNOWN_CATEGORIES = tuple(dict.fromkeys((*CATEGORIES, *EVENT_CATEGORIES)))
EVENTS_TABLE = "events"


class AttachmentError(Refusal):
    """A file that cannot be stored or deleted; the message says why, in Chinese."""


class Attachment(db.Model):
    """One file on a project (optionally the evidence of a funds entry) or on a 招商活动, never both.
    Never removed: a deletion marks it (deleted_at, deleted_by) and hides it from every list and
    link; only deleting its event takes its record (crm.events.models)."""

    __tablename__ = "attachments"
    __audit_label__ = "附件"
    __field_labels__ = {
        "project_id": "项目编号",
        "event_id": "招商活动编号",
        "fund_entry_id": "到位资金登记编号",
        "category": "附件类别",
        "name": "文件名",
        "content_type": "文件类型",
        "size": "大小（字节）",
        "sha256": "SHA-256 校验值",
        "storage_key": "存储键",
        "created_by_id": "上传人编号",
        "created_at": "上传时间",
        "deleted_at": "删除时间",
        "deleted_by_id": "删除人编号",
    }
    __table_args__ = (
        CheckConstraint(one_of("category", KNOWN_CATEGORIES), name="category_known"),
        CheckConstraint("size > 0", name="size_positive"),
        # Exactly one owner: the scope that lets a district user read the file follows it.
        CheckConstraint("(project_id IS NULL) <> (event_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    fund_entry_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"), index=True)
    category: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    # Sniffed from the bytes when stored (crm.files.sniff), and the only type it is served with.
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Made by crm.files.storage, never from the name: where the bytes are in the configured storage.
    storage_key: Mapped[str] = mapped_column(String(32), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    project: Mapped[Project | None] = relationship()
    # `event` (the 招商活动 it belongs to) is set by crm.events.models beside Event.attachments.
    fund_entry: Mapped[FundEntry | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])

    # Two deletions racing: the second finds the row moved on and is told, not silently repeated.
    __mapper_args__ = {"version_id_col": version}

    # Owners above this package add how a district reaches their files, when their models load
    # (crm.events.models: an event's files, to those who read the event). This module knows none
    # of them; a missing link shows a district less, never more.
    district_links: ClassVar[list[Callable[[int], ColumnElement[bool]]]] = []

    @classmethod
    def district_scope(cls, district_id: int) -> ColumnElement[bool]:
        """A district user reads their district's projects' files, and those an owner above adds."""
        return or_(
            cls.project.has(Project.district_id == district_id),
            *(link(district_id) for link in cls.district_links),
        )

    @property
    def inline(self) -> bool:
        """Shown in the browser (images, PDF) rather than saved (Office documents)."""
        return self.content_type.startswith("image/") or self.content_type == "application/pdf"

    def __repr__(self) -> str:
        return f"<Attachment {self.id} {self.name}>"


# ---------------------------------------------------------------- owners


def is_event(owner: Any) -> bool:
    """Whether `owner` is a 招商活动 (told by its table: crm.events is not imported here)."""
    return getattr(owner, "__tablename__", None) == EVENTS_TABLE


def _owner_fields(owner: Any) -> dict[str, Any]:
    """The relationship an attachment of `owner` sets: its project, or its event."""
    if isinstance(owner, Project):
        return {"project": owner}
    if is_event(owner):
        return {"event": owner}
    raise TypeError(f"附件只能属于项目或招商活动，不能属于 {type(owner).__name__}")


def categories_for(owner: Any) -> tuple[str, ...]:
    """The categories a file of `owner` may have: a project's, or an event's."""
    return EVENT_CATEGORIES if is_event(owner) else CATEGORIES


# ---------------------------------------------------------------- who may (projects)


def may_upload(user) -> bool:
    """Those who add a project's progress updates add its files (district users: their district's,
    which the scope of the project they reach already holds). An event's: crm.web.attachments."""
    return getattr(user, "role", None) in UPDATE_REPORTERS


def may_delete(user, attachment: Attachment) -> bool:
    """A project's file: the uploader, and managers. An event's: crm.web.attachments."""
    return getattr(user, "role", None) == MANAGER or (
        attachment.created_by_id is not None and attachment.created_by_id == getattr(user, "id", None)
    )


# ---------------------------------------------------------------- verbs


def max_bytes() -> int:
    """The largest file accepted (ATTACHMENT_MAX_BYTES: crm.config sets it, 20 MB by default)."""
    return current_app.config["ATTACHMENT_MAX_BYTES"]


def size_label(size: int) -> str:
    """A file size as people read it: 532 字节, 48.2 KB, 3.5 MB."""
    if size < 1024:
        return f"{size} 字节"
    number, unit = (size / 1024, "KB") if size < MB else (size / MB, "MB")
    return f"{number:.1f}".removesuffix(".0") + f" {unit}"


def _read(upload, limit: int) -> bytes:
    """The upload's bytes, read once and never more than one byte past the limit."""
    stream = getattr(upload, "stream", None)
    if stream is None or not getattr(upload, "filename", None):
        raise AttachmentError("请选择要上传的文件", field="file")
    if getattr(stream, "seekable", lambda: False)():
        stream.seek(0)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise AttachmentError(f"文件超过 {size_label(limit)} 的上限，请压缩或拆分后再上传", field="file")
    if not data:
        raise AttachmentError("文件是空的（0 字节），请选择有内容的文件", field="file")
    return data


def store_attachment(
    owner: Project | Any, upload, category: str, by: User, fund_entry: FundEntry | None = None
) -> Attachment:
    """Keep `upload` (a werkzeug FileStorage) as a file of `owner` — a project or a 招商活动 — in
    `category` (one of the owner's), a project's optionally as the evidence of `fund_entry` (an
    entry of the same project). Every check comes before anything is written: a refusal
    (AttachmentError, in Chinese) leaves no row and no stored bytes."""
    owned = _owner_fields(owner)
    categories = categories_for(owner)
    if category not in categories:
        raise AttachmentError(f"请选择附件类别（{'、'.join(categories)}）", field="category")
    if fund_entry is not None and (not isinstance(owner, Project) or fund_entry.project_id != owner.id):
        raise AttachmentError("该到位资金登记不属于本项目", field="fund_entry_id")
    data = _read(upload, max_bytes())
    try:
        kind: FileKind = sniff(data)
        name = clean_name(upload.filename, kind)
    except FileRefused as error:
        raise AttachmentError(str(error), field="file") from error
    key = stores.new_key()
    stores.storage().put(key, data)
    attachment = Attachment(
        **owned,
        fund_entry=fund_entry,
        category=category,
        name=name,
        content_type=kind.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
        created_by=by,
        created_at=utcnow(),
    )
    db.session.add(attachment)
    return attachment


def live_attachments(owner: Project | Any) -> list[Attachment]:
    """The files of `owner` (a project or a 招商活动) that are not deleted, newest first (the reader
    already sees the owner)."""
    column = Attachment.event_id if is_event(owner) else Attachment.project_id
    return list(
        db.session.scalars(
            select(Attachment)
            .where(column == owner.id, Attachment.deleted_at.is_(None))
            .options(selectinload(Attachment.created_by))
            .order_by(Attachment.created_at.desc(), Attachment.id.desc())
        )
    )


def visible_attachment_or_404(attachment_id: int, user=None) -> Attachment:
    """The file if the user may see its owner (by the district scope) and it is not deleted;
    otherwise 404 — another district's file, a deleted one and an unknown id answer alike."""
    stmt = select(Attachment).where(Attachment.id == attachment_id, Attachment.deleted_at.is_(None))
    return db.first_or_404(scoped(stmt, Attachment, user))


def delete_attachment(attachment: Attachment, by: User) -> Attachment:
    """Mark the file deleted (it stays stored, and the audit log records the change)."""
    if attachment.deleted_at is not None:
        raise AttachmentError("该附件已被删除")
    entry = attachment.fund_entry
    if entry is not None and entry.review == Review.VERIFIED:
        # The bureau verified the money on this evidence: it stays with the entry it proves.
        raise AttachmentError(f"该文件是第 {entry.id} 号已核实到位资金的凭证，不能删除")
    by_id = by.id  # read first: loading it could flush the change half made, as two log entries
    attachment.deleted_at, attachment.deleted_by_id = utcnow(), by_id
    return attachment


def attachment_content(attachment: Attachment) -> bytes:
    """The stored bytes, checked against the size and SHA-256 recorded at upload; LookupError when
    they are gone or are not what was uploaded (changed behind the application's back)."""
    data = stores.storage().get(attachment.storage_key)
    if len(data) != attachment.size or hashlib.sha256(data).hexdigest() != attachment.sha256:
        raise LookupError(f"附件 {attachment.id} 的存储内容与上传时的校验值不符")
    return data
