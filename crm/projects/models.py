"""Signed projects, their milestones (planned and actual dates), their append-only updates, and
their funds ledger (entries of money arrived, and yearly plans).

A project's stage, actual milestone dates and last update are derived from its updates
(crm.projects.service.recompute); its health is computed from them and today's date; its funds
are counted from the ledger when read, by the 统计口径 in force (crm.projects.measures)."""

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.auth.models import User
from crm.core.choices import Choice, one_of
from crm.core.timeutil import utcnow
from crm.core.transaction import UNIQUE_MESSAGES
from crm.core.validation import replaced_ids
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.places.models import District


class ProjectStage(Choice):
    """A project's stage, stored as the Chinese word users read: the lifecycle in order, then 终止."""

    SIGNED = "签约"
    REGISTERED = "注册"
    LAND = "供地"
    STARTED = "开工"
    COMPLETED = "竣工"
    PRODUCING = "投产"
    FULL_OUTPUT = "达产"
    TERMINATED = "终止"


STAGES = tuple(ProjectStage)
TERMINATED = ProjectStage.TERMINATED
LIFECYCLE = STAGES[: STAGES.index(TERMINATED)]
MILESTONES = LIFECYCLE[1:]  # 签约's date is the signing date itself
RANK = {stage: index for index, stage in enumerate(LIFECYCLE)}
TERMINATION_REASONS = ("企业战略调整", "资金未落实", "要素保障不足", "政策条件变化", "合同解除", "其他")

# Health, computed: what a badge and a filter show.
BEHIND, STALLED, ON_TRACK = "滞后", "停滞", "正常推进"
HEALTHS = (ON_TRACK, BEHIND, STALLED, TERMINATED)
STALL_DAYS = 14
MEASURES_KEY = "measures"  # where the application keeps the 统计口径 in force (crm.projects.measures)

project_entries = Table(
    "project_catalogue_entries",
    db.metadata,
    Column("project_id", ForeignKey("projects.id"), primary_key=True),
    Column("entry_id", ForeignKey("catalogue_entries.id"), primary_key=True),
)


class Project(db.Model):
    """A signed investment project (招商项目), linked to the lead it came from."""

    __tablename__ = "projects"
    __audit_label__ = "招商项目"
    __field_labels__ = {
        "name": "项目名称",
        "enterprise_id": "企业编号",
        "lead_id": "线索编号",
        "district_id": "落地区县编号",
        "park": "园区",
        "catalogue_entry_id": "主目录条目编号",
        "catalogue_entries": "目录条目",
        "agreed_investment_wan": "协议投资额（万元）",
        "expected_output_wan": "预计年产值（万元）",
        "expected_jobs": "预计就业（人）",
        "signed_on": "签约日期",
        "stage": "阶段",
        "termination_reason": "终止原因",
        "last_update_on": "最近更新日期",
        "version": "版本",
    }
    __table_args__ = (
        Index("ix_projects_signed_on", "signed_on", "id"),  # the list's order, the briefs' periods
        CheckConstraint("agreed_investment_wan > 0", name="investment_positive"),
        CheckConstraint(one_of("stage", STAGES), name="stage_known"),
        CheckConstraint(
            f"(stage = '{TERMINATED}') = (termination_reason IS NOT NULL)", name="terminated_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    park: Mapped[str | None] = mapped_column(String(64))
    # The entry the lead intended: what coverage counts. `catalogue_entries` holds it and any others.
    catalogue_entry_id: Mapped[int] = mapped_column(ForeignKey("catalogue_entries.id"), index=True)
    agreed_investment_wan: Mapped[int] = mapped_column(Integer)
    expected_output_wan: Mapped[int | None] = mapped_column(Integer)
    expected_jobs: Mapped[int | None] = mapped_column(Integer)
    signed_on: Mapped[date] = mapped_column(Date)
    # Derived from the updates (never typed): see crm.projects.service.recompute.
    stage: Mapped[str] = mapped_column(String(8), default=ProjectStage.SIGNED, index=True)
    termination_reason: Mapped[str | None] = mapped_column(String(64))
    last_update_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    enterprise: Mapped[Enterprise] = relationship()
    district: Mapped[District] = relationship()
    catalogue_entry: Mapped[CatalogueEntry] = relationship()
    catalogue_entries: Mapped[list[CatalogueEntry]] = relationship(
        secondary=project_entries, order_by=CatalogueEntry.code
    )
    milestones: Mapped[list["Milestone"]] = relationship(back_populates="project", order_by="Milestone.id")
    updates: Mapped[list["ProjectUpdate"]] = relationship(
        back_populates="project", order_by="ProjectUpdate.id", foreign_keys="ProjectUpdate.project_id"
    )
    fund_entries: Mapped[list["FundEntry"]] = relationship(
        back_populates="project", order_by="FundEntry.id", foreign_keys="FundEntry.project_id"
    )
    fund_plans: Mapped[list["FundPlan"]] = relationship(back_populates="project", order_by="FundPlan.year")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        """A district user sees only the projects in their district."""
        return cls.district_id == district_id

    @property
    def update_due_on(self) -> date:
        """When the next progress update is due: STALL_DAYS after the last one (or the signing)."""
        return (self.last_update_on or self.signed_on) + timedelta(days=STALL_DAYS)

    @classmethod
    def update_due_by(cls, day: date):
        """The same rule as update_due_on in SQL: the projects whose next update falls due by `day`."""
        return func.coalesce(cls.last_update_on, cls.signed_on) <= day - timedelta(days=STALL_DAYS)

    def milestone(self, stage: str) -> "Milestone | None":
        return next((m for m in self.milestones if m.stage == stage), None)

    def health(self, today: date) -> str:
        """终止; 滞后 when a planned date of a stage not yet reached has passed; 停滞 when there has
        been no update for 14 days (counted from signing before the first); else 正常推进."""
        if self.stage == TERMINATED:
            return TERMINATED
        if any(m.is_late(self.stage, today) for m in self.milestones):
            return BEHIND
        if (today - (self.last_update_on or self.signed_on)).days >= STALL_DAYS:
            return STALLED
        return ON_TRACK

    @property
    def recorded_funds_wan(self) -> int:
        """登记合计: every entry of the ledger that stands (not replaced by a correction, not
        不予认定), whatever the 口径 counts."""
        corrected = replaced_ids(self.fund_entries)
        return sum(
            e.amount_wan for e in self.fund_entries if e.id not in corrected and e.review != Review.REJECTED
        )

    @property
    def funds_in_place_wan(self) -> int:
        """实际到位资金 of this project as the 统计口径 in force counts its ledger
        (crm.projects.measures; the SQL of the lists and totals follows the same rule)."""
        return current_app.extensions[MEASURES_KEY].funds.total(self.fund_entries)

    @property
    def funds_rate(self) -> float | None:
        """实际到位资金 ÷ 协议投资额 of this project (its page; the lists' rate follows the 口径)."""
        return self.funds_in_place_wan / self.agreed_investment_wan if self.agreed_investment_wan else None

    def plan_for(self, year: int) -> int | None:
        """The funds planned to arrive in `year` (万元), if the bureau set a plan."""
        return next((p.amount_wan for p in self.fund_plans if p.year == year), None)

    def __repr__(self) -> str:
        return f"<Project {self.id} {self.name}>"


def _rank_sql(column):
    return case({stage: index for index, stage in enumerate(LIFECYCLE)}, value=column, else_=literal(-1))


def health_sql(today: date):
    """The same health as Project.health, as an SQL expression (for filters and counts)."""
    late = exists(
        select(Milestone.id).where(
            Milestone.project_id == Project.id,
            Milestone.planned_on < today,
            Milestone.actual_on.is_(None),
            _rank_sql(Milestone.stage) > _rank_sql(Project.stage),
        )
    )
    stalled = func.coalesce(Project.last_update_on, Project.signed_on) <= today - timedelta(days=STALL_DAYS)
    return case(
        (Project.stage == TERMINATED, TERMINATED),
        (late, BEHIND),
        (stalled, STALLED),
        else_=ON_TRACK,
    )


def reached_sql(stage: str):
    """Projects that have reached `stage` (and were not terminated)."""
    return and_(Project.stage != TERMINATED, _rank_sql(Project.stage) >= RANK[stage])


class Milestone(db.Model):
    """A stage of a project with its planned date (set by the bureau) and actual date (from updates)."""

    __tablename__ = "project_milestones"
    __audit_label__ = "项目节点"
    __field_labels__ = {"stage": "节点", "planned_on": "计划日期", "actual_on": "实际日期"}
    __table_args__ = (UniqueConstraint("project_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    planned_on: Mapped[date | None] = mapped_column(Date)
    actual_on: Mapped[date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship(back_populates="milestones")

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.project.has(Project.district_id == district_id)

    def is_late(self, current_stage: str, today: date) -> bool:
        """Planned before today, not reached, and the project not past this stage."""
        return (
            self.planned_on is not None
            and self.planned_on < today
            and self.actual_on is None
            and RANK[self.stage] > RANK.get(current_stage, -1)
        )

    def __repr__(self) -> str:
        return f"<Milestone {self.stage} {self.planned_on}/{self.actual_on}>"


class ProjectUpdate(db.Model):
    """A dated progress report. Never edited: a correction is a new update naming the one it corrects."""

    __tablename__ = "project_updates"
    __audit_label__ = "项目进展"
    __append_only__ = True
    __field_labels__ = {
        "reported_on": "填报日期",
        "stage_reached": "达到阶段",
        "stage_reached_on": "实际日期",
        "funds_wan": "本月到位资金（万元）",
        "note": "进展情况",
        "issues": "需协调事项",
        "termination_reason": "终止原因",
        "corrects_id": "更正的更新编号",
    }
    __table_args__ = (
        Index("ix_project_updates_reported_on", "reported_on", "id"),  # 最近进展, newest first
        CheckConstraint("funds_wan IS NULL OR funds_wan >= 0", name="funds_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    reported_on: Mapped[date] = mapped_column(Date)
    stage_reached: Mapped[str | None] = mapped_column(String(8))
    stage_reached_on: Mapped[date | None] = mapped_column(Date)
    funds_wan: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    issues: Mapped[str] = mapped_column(Text, default="")
    termination_reason: Mapped[str | None] = mapped_column(String(64))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("project_updates.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    project: Mapped[Project] = relationship(back_populates="updates", foreign_keys=[project_id])
    corrects: Mapped["ProjectUpdate | None"] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship()

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.project.has(Project.district_id == district_id)

    def __repr__(self) -> str:
        return f"<ProjectUpdate {self.id} {self.reported_on} {self.stage_reached}>"


class SourceRegion(Choice):
    """Where money comes from, as the 统计报表 split it (outside the jurisdiction first)."""

    ABROAD = "境外"
    HK_MACAO_TAIWAN = "港澳台"
    OTHER_PROVINCE = "国内省外"
    OTHER_CITY = "市外省内"
    OTHER_DISTRICT = "市内区县外"
    SAME_DISTRICT = "区县内"


class FundKind(Choice):
    FIXED_ASSETS = "固定资产投资"
    OTHER = "其他"


class Evidence(Choice):
    BANK_RECEIPT = "银行进账单"
    CAPITAL_VERIFICATION = "验资报告"
    EQUIPMENT_LIST = "设备清单"
    OTHER = "其他凭证"


class Review(Choice):
    PENDING = "待核实"
    VERIFIED = "已核实"
    REJECTED = "不予认定"


SOURCE_REGIONS = tuple(SourceRegion)
FUND_KINDS = tuple(FundKind)
EVIDENCE_TYPES = tuple(Evidence)
REVIEWS = tuple(Review)
UNSTATED = "未注明"  # how a page names the source or kind of an entry migrated from an update


class FundEntry(db.Model):
    """One arrival of money on a project (到位资金台账). Never edited: a correction is a new entry
    naming the one it replaces. Only the bureau's review (已核实 / 不予认定) changes afterwards,
    and the audit log keeps each verdict."""

    __tablename__ = "fund_entries"
    __audit_label__ = "到位资金"
    __append_only__ = True
    __mutable_columns__ = frozenset({"review", "review_reason", "reviewed_by_id", "reviewed_at", "version"})
    __field_labels__ = {
        "amount_wan": "到位金额（万元）",
        "arrived_on": "到位日期",
        "source_region": "资金来源地",
        "kind": "资金类型",
        "counts_as_investment": "计入招商引资到位资金",
        "evidence_type": "凭证类型",
        "note": "说明",
        "corrects_id": "更正的登记编号",
        "from_update_id": "迁移自进展编号",
        "review": "核实状态",
        "review_reason": "核实意见",
        "reviewed_by_id": "核实人编号",
        "reviewed_at": "核实时间",
        "version": "版本",
    }
    __table_args__ = (
        Index("ix_fund_entries_arrived_on", "arrived_on", "id"),  # periods of the reports
        CheckConstraint("amount_wan >= 0", name="amount_not_negative"),
        CheckConstraint(
            f"source_region IS NULL OR {one_of('source_region', SOURCE_REGIONS)}", name="source_known"
        ),
        CheckConstraint(f"kind IS NULL OR {one_of('kind', FUND_KINDS)}", name="kind_known"),
        CheckConstraint(
            f"evidence_type IS NULL OR {one_of('evidence_type', EVIDENCE_TYPES)}", name="evidence_known"
        ),
        CheckConstraint(one_of("review", REVIEWS), name="review_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_wan: Mapped[int] = mapped_column(Integer)
    arrived_on: Mapped[date] = mapped_column(Date)
    # NULL only on entries migrated from a progress update, which recorded neither.
    source_region: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str | None] = mapped_column(String(8))
    counts_as_investment: Mapped[bool] = mapped_column(default=True, server_default=true())
    evidence_type: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entries.id"), unique=True)
    from_update_id: Mapped[int | None] = mapped_column(ForeignKey("project_updates.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    review: Mapped[str] = mapped_column(
        String(8), default=Review.PENDING, server_default=Review.PENDING.value
    )
    review_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    project: Mapped[Project] = relationship(back_populates="fund_entries", foreign_keys=[project_id])
    corrects: Mapped["FundEntry | None"] = relationship(remote_side=[id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.project.has(Project.district_id == district_id)

    def __repr__(self) -> str:
        return f"<FundEntry {self.id} {self.amount_wan} {self.arrived_on}>"


class FundPlan(db.Model):
    """The funds a project is planned to bring in a calendar year (年度计划到位资金): the base of
    资金到位率 where the bureau counts against the year's plan."""

    __tablename__ = "fund_plans"
    __audit_label__ = "年度计划到位资金"
    __field_labels__ = {"year": "年度", "amount_wan": "计划到位资金（万元）"}
    __table_args__ = (
        UniqueConstraint("project_id", "year"),
        CheckConstraint("amount_wan >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_wan: Mapped[int] = mapped_column(Integer)

    project: Mapped[Project] = relationship(back_populates="fund_plans")

    @classmethod
    def district_scope(cls, district_id: int):
        return cls.project.has(Project.district_id == district_id)


# One lead, one project: a second signing at the same moment is refused by the unique key.
UNIQUE_MESSAGES["projects.lead_id"] = "该线索刚被他人同时签约，项目已建立，本次操作未生效。"
