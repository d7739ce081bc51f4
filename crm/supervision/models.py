"""督办事项 (a project's problem given to a responsible unit with a deadline, replied to and closed
with a result) and 线索交办 (a lead handed to a district or a division, answered, assessed, replied
to and reported on by deadlines). Their replies and records are append-only: nothing said is lost."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.leads.models import Lead
from crm.places.models import District, Division
from crm.projects.models import Project, ProjectUpdate


class ItemCategory(Choice):
    LAND = "用地"
    ENERGY = "用能"
    APPROVAL = "审批"
    FINANCE = "融资"
    TALENT = "人才"
    OTHER = "其他"


class ItemStatus(Choice):
    OPEN = "待办"
    WORKING = "办理中"
    CLOSED = "已办结"
    CANCELLED = "已撤销"


CATEGORIES = tuple(ItemCategory)
ITEM_STATUSES = tuple(ItemStatus)
ITEM_OPEN = (ItemStatus.OPEN, ItemStatus.WORKING)  # what still has a light and a deadline to keep


class Unit:
    """A unit work is given to: a division of the bureau, a district, or (for 督办 only) another
    department named in words. Read from a record's three columns."""

    def __init__(self, division: Division | None, district: District | None, department: str | None = None):
        self.division, self.district, self.department = division, district, department or None

    @property
    def name(self) -> str:
        if self.division is not None:
            return self.division.name
        if self.district is not None:
            return self.district.name
        return self.department or "市招商投资局"

    @property
    def kind(self) -> str:
        if self.division is not None:
            return "处室"
        if self.district is not None:
            return "区县"
        return "其他部门" if self.department else "市局"

    def __str__(self) -> str:
        return self.name


class Item(db.Model):
    """One 督办事项 on a signed project."""

    __tablename__ = "supervision_items"
    __audit_label__ = "督办事项"
    __field_labels__ = {
        "id": "编号",
        "project_id": "项目编号",
        "update_id": "来源进展编号",
        "description": "事项内容",
        "category": "类别",
        "division_id": "责任处室编号",
        "district_id": "责任区县编号",
        "department": "责任部门",
        "deadline": "办理时限",
        "status": "状态",
        "result": "办理结果",
        "created_by_id": "提出人编号",
        "created_at": "提出时间",
        "closed_at": "办结时间",
        "closed_on": "办结日期",
        "version": "版本",
    }
    __table_args__ = (
        CheckConstraint(one_of("category", CATEGORIES), name="category_known"),
        CheckConstraint(one_of("status", ITEM_STATUSES), name="status_known"),
        # Exactly one responsible unit: a division, a district or another department by name.
        CheckConstraint(
            "(CASE WHEN division_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN district_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN department IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_responsible",
        ),
        # The lights and the scan of deadlines read open items by deadline.
        Index("ix_supervision_items_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("project_updates.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(8))
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default=ItemStatus.OPEN)
    result: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The day (Asia/Shanghai) it was closed or withdrawn: whether it was closed in time, and
    # whether it was still open on a brief's day.
    closed_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)

    project: Mapped[Project] = relationship()
    update: Mapped[ProjectUpdate | None] = relationship()
    division: Mapped[Division | None] = relationship()
    district: Mapped[District | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    replies: Mapped[list["ItemReply"]] = relationship(back_populates="item", order_by="ItemReply.id")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        """A district reads the items on its own projects and the items given to it."""
        return or_(
            cls.district_id == district_id,
            cls.project_id.in_(select(Project.id).where(Project.district_id == district_id)),
        )

    @property
    def responsible(self) -> Unit:
        return Unit(self.division, self.district, self.department)

    @property
    def is_open(self) -> bool:
        return self.status in ITEM_OPEN

    def __repr__(self) -> str:
        return f"<Item {self.id} {self.status} {self.deadline}>"


class ItemReply(db.Model):
    """What was said or done on an item: a reply, taking it on, a new deadline or unit, the close
    with its result, the withdrawal with its reason. Never edited."""

    __tablename__ = "supervision_item_replies"
    __audit_label__ = "督办事项回复"
    __append_only__ = True
    __field_labels__ = {
        "item_id": "事项编号",
        "kind": "类型",
        "body": "内容",
        "created_by_id": "填写人编号",
        "created_at": "时间",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    item: Mapped[Item] = relationship(back_populates="replies")
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.item.has(Item.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<ItemReply {self.item_id} {self.kind}>"


class HandoverStatus(Choice):
    PENDING = "待接收"
    DECIDING = "待裁定"  # the receiver found the lead worked elsewhere: a manager decides
    ACCEPTED = "已接收"
    RETURNED = "已退回"
    WITHDRAWN = "已撤回"
    SUPERSEDED = "已转交"  # accepted, then handed on and accepted elsewhere: no longer this unit's


class HandoverDirection(Choice):
    DOWN = "下交"  # from the bureau to a district
    UP = "上报"  # from a district to the bureau
    ACROSS = "转交"  # between divisions, or between districts through the bureau


HANDOVER_STATUSES = tuple(HandoverStatus)
HANDOVER_LIVE = (HandoverStatus.PENDING, HandoverStatus.DECIDING, HandoverStatus.ACCEPTED)
HANDOVER_WAITING = (HandoverStatus.PENDING, HandoverStatus.DECIDING)
DIRECTIONS = tuple(HandoverDirection)


class RecordKind(Choice):
    ASSESS = "研判"
    REPLY = "回复引荐人"
    REPORT = "进展报告"


RECORD_KINDS = tuple(RecordKind)


class Handover(db.Model):
    """A lead handed to a district or a division (交办 / 上报): the deadlines of its steps were set
    from the rules in force when it was handed, and are kept with it."""

    __tablename__ = "lead_handovers"
    __audit_label__ = "线索交办"
    __field_labels__ = {
        "id": "编号",
        "lead_id": "线索编号",
        "direction": "方向",
        "from_division_id": "交办处室编号",
        "from_district_id": "交办区县编号",
        "to_division_id": "承接处室编号",
        "to_district_id": "承接区县编号",
        "note": "交办说明",
        "status": "状态",
        "answer": "退回或裁定理由",
        "handed_by_id": "交办人编号",
        "handed_at": "交办时间",
        "answered_by_id": "答复人编号",
        "answered_at": "答复时间",
        "respond_due": "响应时限",
        "assess_due": "研判时限",
        "reply_due": "回复时限",
        "report_due": "下次报告时限",
        "decide_due": "裁定时限",
        "assessed_at": "研判时间",
        "replied_at": "回复时间",
        "version": "版本",
    }
    __table_args__ = (
        CheckConstraint(one_of("status", HANDOVER_STATUSES), name="status_known"),
        CheckConstraint(one_of("direction", DIRECTIONS), name="direction_known"),
        CheckConstraint("(to_division_id IS NULL) <> (to_district_id IS NULL)", name="one_receiver"),
        CheckConstraint("from_division_id IS NULL OR from_district_id IS NULL", name="one_sender"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    direction: Mapped[str] = mapped_column(String(4))
    from_division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"))
    from_district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    to_division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    to_district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(8), default=HandoverStatus.PENDING)
    answer: Mapped[str] = mapped_column(Text, default="")
    handed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    respond_due: Mapped[date] = mapped_column(Date)
    assess_due: Mapped[date] = mapped_column(Date)
    reply_due: Mapped[date] = mapped_column(Date)
    report_due: Mapped[date | None] = mapped_column(Date)  # set on acceptance, moved by each report
    decide_due: Mapped[date | None] = mapped_column(Date)  # set when a manager's decision is asked
    assessed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    lead: Mapped[Lead] = relationship()
    from_division: Mapped[Division | None] = relationship(foreign_keys=[from_division_id])
    from_district: Mapped[District | None] = relationship(foreign_keys=[from_district_id])
    to_division: Mapped[Division | None] = relationship(foreign_keys=[to_division_id])
    to_district: Mapped[District | None] = relationship(foreign_keys=[to_district_id])
    handed_by: Mapped[User | None] = relationship(foreign_keys=[handed_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    records: Mapped[list["HandoverRecord"]] = relationship(
        back_populates="handover", order_by="HandoverRecord.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        """A district reads what was handed to it or by it, and the handovers of its own leads."""
        return or_(
            cls.to_district_id == district_id,
            cls.from_district_id == district_id,
            cls.lead_id.in_(select(Lead.id).where(Lead.intended_district_id == district_id)),
        )

    @property
    def sender(self) -> Unit:
        return Unit(self.from_division, self.from_district)

    @property
    def receiver(self) -> Unit:
        return Unit(self.to_division, self.to_district)

    def __repr__(self) -> str:
        return f"<Handover {self.id} {self.direction} {self.status}>"


class HandoverRecord(db.Model):
    """The receiving unit's 研判, its reply to the referrer, or a progress report. Never edited."""

    __tablename__ = "lead_handover_records"
    __audit_label__ = "交办办理记录"
    __append_only__ = True
    __field_labels__ = {
        "handover_id": "交办编号",
        "kind": "类型",
        "body": "内容",
        "created_by_id": "填写人编号",
        "created_at": "时间",
    }
    __table_args__ = (CheckConstraint(one_of("kind", RECORD_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("lead_handovers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    handover: Mapped[Handover] = relationship(back_populates="records")
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.handover.has(Handover.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<HandoverRecord {self.handover_id} {self.kind}>"


def _leads_handed_to(district_id: int):
    """A lead handed to a district (waiting for its answer, or taken on) is that district's to read."""
    return Lead.id.in_(
        select(Handover.lead_id).where(
            Handover.to_district_id == district_id, Handover.status.in_(HANDOVER_LIVE)
        )
    )


Lead.district_links.append(_leads_handed_to)
