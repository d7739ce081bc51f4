"""Leads, stage changes and follow-ups."""

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.places.models import District


class LeadStage(Choice):
    """A lead's stage, stored as the Chinese word users read: the pipeline in order, then 搁置 and
    流失 beside it."""

    LEAD = "线索"
    FIRST_CONTACT = "初步接洽"
    SITE_VISIT = "实地考察"
    NEGOTIATION = "商务洽谈"
    SIGNED = "签约"
    DORMANT = "搁置"
    LOST = "流失"


STAGES = tuple(LeadStage)
SIGNED, DORMANT, LOST = LeadStage.SIGNED, LeadStage.DORMANT, LeadStage.LOST
PIPELINE = STAGES[: STAGES.index(SIGNED) + 1]  # 线索 → 签约, in order: the stage gates follow it
IN_PROGRESS = PIPELINE[:-1]  # worked toward a signing: what keeps a catalogue entry from being a gap
CLOSED = (SIGNED, LOST)  # 签约 is final; 流失 may be reopened, but no follow-up is due on either
OPEN = tuple(stage for stage in STAGES if stage not in CLOSED)  # follow-ups are due: 我的待办, 逾期
BOARD = (*PIPELINE, DORMANT)  # the kanban's columns (流失 leaves the board)
SOURCES = (
    "驻外招商",
    "以商招商",
    "展会",
    "商协会/中介",
    "领导拜访",
    "区县推荐",
    "产业链精准招商",
    "来电来访",
)
LOST_REASONS = ("选址他地", "企业战略调整", "政策条件不满足", "要素保障不足", "联系中断", "其他")
FOLLOW_UP_KINDS = ("电话", "拜访", "来访", "实地考察", "会议", "签约仪式")


class Lead(db.Model):
    """An enterprise's possible investment, followed by an officer through the pipeline."""

    __tablename__ = "leads"
    __audit_label__ = "招商线索"
    __field_labels__ = {
        "id": "编号",
        "enterprise_id": "企业编号",
        "title": "线索名称",
        "source": "来源",
        "owner_id": "负责人编号",
        "catalogue_entry_id": "目录条目编号",
        "intended_district_id": "意向区县编号",
        "intended_investment_wan": "意向投资（万元）",
        "stage": "阶段",
        "lost_reason": "流失原因",
        "next_follow_up_on": "下次跟进日期",
        "last_contact_on": "最近联系日期",
        "expected_signing_on": "预计签约日期",
        "first_referrer": "第一引资人",
        "version": "版本",
    }
    __table_args__ = (
        # The kanban's columns and 我的待办 read leads of a stage by next follow-up; the lists sort
        # by registration and by last contact.
        Index("ix_leads_stage_follow_up", "stage", "next_follow_up_on", "id"),
        Index("ix_leads_created_at", "created_at"),
        Index("ix_leads_last_contact_on", "last_contact_on"),
        CheckConstraint(one_of("stage", STAGES), name="stage_known"),
        CheckConstraint(
            "intended_investment_wan IS NULL OR intended_investment_wan >= 0", name="investment_positive"
        ),
        CheckConstraint(f"(stage = '{LOST}') = (lost_reason IS NOT NULL)", name="lost_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    catalogue_entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    intended_district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    intended_investment_wan: Mapped[int | None] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(8), default=LeadStage.LEAD, index=True)
    lost_reason: Mapped[str | None] = mapped_column(String(16))
    next_follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    last_contact_on: Mapped[date | None] = mapped_column(Date)
    # When the officer expects the signing: what the reminders warn of as it approaches.
    expected_signing_on: Mapped[date | None] = mapped_column(Date)
    # Who first brought the lead (第一引资人): set when it is first handed on, never replaced, so
    # the credit stays with the first unit whoever works the lead after.
    first_referrer: Mapped[str] = mapped_column(String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise: Mapped[Enterprise] = relationship()
    owner: Mapped[User] = relationship()
    catalogue_entry: Mapped[CatalogueEntry | None] = relationship()
    intended_district: Mapped[District | None] = relationship()
    follow_ups: Mapped[list["FollowUp"]] = relationship(
        back_populates="lead", order_by="FollowUp.occurred_on.desc()"
    )
    stage_changes: Mapped[list["StageChange"]] = relationship(
        back_populates="lead", order_by="StageChange.id"
    )

    __mapper_args__ = {"version_id_col": version}

    # Other ways a lead becomes a district's to read, added by the modules that create them (a
    # lead handed to the district: crm.supervision.models), each a clause for a district id.
    district_links: ClassVar[list[Callable[[int], ColumnElement[bool]]]] = []

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user reads the leads whose intended district is theirs, and those another
        record ties to it (handed to it)."""
        own = cls.intended_district_id == district_id
        if not cls.district_links:
            return own
        return or_(own, *(link(district_id) for link in cls.district_links))

    @hybrid_method
    def overdue_on(self, today: date) -> bool:
        """The next follow-up date has passed while the lead is still open (搁置 included: its
        follow-up stays scheduled). The lead list's 跟进已逾期, its red dates and the brief's warnings."""
        return self.next_follow_up_on is not None and self.next_follow_up_on < today and self.stage in OPEN

    @overdue_on.expression
    def overdue_on(cls, today: date):
        return and_(cls.next_follow_up_on < today, cls.stage.in_(OPEN))

    def __repr__(self) -> str:
        return f"<Lead {self.id} {self.stage}>"


def _enterprises_with_lead_intending(district_id: int):
    """A firm with a lead intending a district is that district's business too."""
    return Enterprise.id.in_(select(Lead.enterprise_id).where(Lead.district_scope(district_id)))


Enterprise.district_links.append(_enterprises_with_lead_intending)


class StageChange(db.Model):
    """One move of a lead from one stage to another: who, when, why. Never edited."""

    __tablename__ = "lead_stage_changes"
    __audit_label__ = "线索阶段变更"
    __append_only__ = True
    __field_labels__ = {
        "lead_id": "线索编号",
        "from_stage": "原阶段",
        "to_stage": "新阶段",
        "note": "说明",
        "changed_by_id": "操作人编号",
        "changed_at": "变更时间",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(8))
    to_stage: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="stage_changes")
    changed_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.lead.has(Lead.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<StageChange {self.from_stage}→{self.to_stage}>"


class FollowUp(db.Model):
    """One contact with the enterprise about a lead (跟进记录)."""

    __tablename__ = "follow_ups"
    __audit_label__ = "跟进记录"
    __field_labels__ = {
        "occurred_on": "日期",
        "kind": "方式",
        "participants": "参与人员",
        "notes": "情况记录",
        "lead_id": "线索编号",
    }
    __table_args__ = (
        CheckConstraint(one_of("kind", FOLLOW_UP_KINDS), name="kind_known"),
        # The 招商活跃指数 counts weeks of follow-ups of some kinds by day and lead: covered.
        Index("ix_follow_ups_day_kind_lead", "occurred_on", "kind", "lead_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    participants: Mapped[str] = mapped_column(String(256), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    lead: Mapped[Lead] = relationship(back_populates="follow_ups")
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.lead.has(Lead.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<FollowUp {self.occurred_on} {self.kind}>"
