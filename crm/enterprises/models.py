"""Enterprises: outside targets (招商目标) and local firms in the cultivation pool (企业培育库)."""

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.timeutil import utcnow
from crm.core.transaction import UNIQUE_MESSAGES
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.places.models import District

KINDS = {"target": "招商目标", "local": "本地培育库"}
OWNERSHIPS = ("央企", "地方国企", "民营", "外资", "港澳台资", "混合所有制")
HONOURS = (
    "链主",
    "龙头",
    "制造业单项冠军",
    "专精特新“小巨人”",
    "专精特新中小企业",
    "科技型中小企业",
    "高新技术企业",
    "独角兽",
)
EXCHANGES = ("上交所", "深交所", "北交所", "港交所", "纽交所", "纳斯达克", "新三板", "其他")
# Revenue tiers the plan counts toward its 2027 targets (万元).
TIER_10BN_WAN = 1_000_000  # 百亿级
TIER_5BN_WAN = 500_000  # 五十亿级

STALE_MATCH = "matched_version IS NULL OR matched_version <> version"

enterprise_entries = Table(
    "enterprise_catalogue_entries",
    db.metadata,
    Column("enterprise_id", ForeignKey("enterprises.id"), primary_key=True),
    Column("entry_id", ForeignKey("catalogue_entries.id"), primary_key=True),
)


class Enterprise(db.Model):
    """A firm the bureau works with: a target to attract, or a local firm to cultivate."""

    __tablename__ = "enterprises"
    __audit_label__ = "企业"
    __audit_hidden__ = frozenset({"name_key", "alias_keys", "search_text", "matched_version"})
    __field_labels__ = {
        "id": "编号",
        "kind": "类别",
        "name": "企业名称",
        "credit_code": "统一社会信用代码",
        "former_names": "曾用名",
        "ownership": "所有制",
        "hq_province": "总部省份",
        "hq_city": "总部城市",
        "district_id": "所在区县编号",
        "listed_exchange": "上市地",
        "listed_code": "股票代码",
        "revenue_wan": "年营业收入（万元）",
        "honours": "荣誉资质",
        "products": "主要产品",
        "description": "简介",
        "legal_representative": "法定代表人",
        "registered_capital": "注册资本",
        "established_on": "成立日期",
        "business_scope": "经营范围",
        "catalogue_entries": "目录条目",
        "merged_into_id": "已并入企业编号",
        "version": "版本",
    }
    __table_args__ = (
        CheckConstraint("kind IN ('target', 'local')", name="kind_known"),
        # The list's filter, the recommendations' target pool, and the 2027 targets' counts of local
        # firms by tier and listing, answered from the index alone.
        Index("ix_enterprises_kind_tier", "kind", "merged_into_id", "revenue_wan", "listed_exchange"),
        Index("ix_enterprises_revenue_wan", "revenue_wan"),  # the 百亿级 / 五十亿级 tiers
        Index("ix_enterprises_merged_into_id", "merged_into_id"),  # a firm's page lists what merged into it
        CheckConstraint("revenue_wan IS NULL OR revenue_wan >= 0", name="revenue_not_negative"),
        # The firms whose stored matches are missing or older than their profile: empty once the
        # matches are up to date, so finding the stale ones costs nothing at 100 000 firms.
        Index(
            "ix_enterprises_match_stale",
            "id",
            sqlite_where=text(STALE_MATCH),
            postgresql_where=text(STALE_MATCH),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), default="target")
    name: Mapped[str] = mapped_column(String(128))
    # The name folded for duplicate detection (width, brackets, company-form suffixes, place prefixes).
    name_key: Mapped[str] = mapped_column(String(128), index=True)
    # The keys of the name and every former name, as |key|key|: a former name of one firm is found
    # when another is entered under it.
    alias_keys: Mapped[str] = mapped_column(Text, default="")
    # Optional: foreign firms have none. Unique where present (NULLs do not collide).
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    former_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    ownership: Mapped[str | None] = mapped_column(String(8))
    hq_province: Mapped[str | None] = mapped_column(String(16))
    hq_city: Mapped[str | None] = mapped_column(String(32))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), index=True)
    listed_exchange: Mapped[str | None] = mapped_column(String(8))
    listed_code: Mapped[str | None] = mapped_column(String(16))
    revenue_wan: Mapped[int | None] = mapped_column(Integer)
    honours: Mapped[list[str]] = mapped_column(JSON, default=list)
    products: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Registry facts as enterprise-database exports (企查查, 天眼查 …) carry them. The registered
    # capital stays text: it comes with its currency (“5000万美元”), which a number would lose.
    legal_representative: Mapped[str | None] = mapped_column(String(32))
    registered_capital: Mapped[str | None] = mapped_column(String(64))
    established_on: Mapped[date | None] = mapped_column(Date)
    business_scope: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The version whose matches against the catalogue are stored (crm.readmodels.matching), or None.
    matched_version: Mapped[int | None] = mapped_column(Integer)

    district: Mapped[District | None] = relationship()
    catalogue_entries: Mapped[list[CatalogueEntry]] = relationship(
        secondary=enterprise_entries, order_by=CatalogueEntry.code
    )
    contacts: Mapped[list["Contact"]] = relationship(back_populates="enterprise", order_by="Contact.id")

    __mapper_args__ = {"version_id_col": version}

    # Other records tie a firm to a district besides its location: the domain that owns such a
    # record adds a clause here when its models load (crm.leads.models: a lead intending the
    # district). Enterprises know nothing above them; a missing link shows a district less, never more.
    district_links: ClassVar[list[Callable[[int], ColumnElement[bool]]]] = []

    @classmethod
    def located_in(cls, district_id: int) -> ColumnElement[bool]:
        """The firms whose seat is in the district."""
        return cls.district_id == district_id

    @classmethod
    def district_scope(cls, district_id: int) -> ColumnElement[bool]:
        """A district user sees the firms located in their district and those another record ties to it."""
        return or_(cls.located_in(district_id), *(link(district_id) for link in cls.district_links))

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def revenue_tier(self) -> str | None:
        """百亿级 or 五十亿级, from the annual revenue."""
        if self.revenue_wan is None:
            return None
        if self.revenue_wan >= TIER_10BN_WAN:
            return "百亿级"
        if self.revenue_wan >= TIER_5BN_WAN:
            return "五十亿级"
        return None

    def __repr__(self) -> str:
        return f"<Enterprise {self.id} {self.name}>"


class Contact(db.Model):
    """A person at an enterprise the officers talk to."""

    __tablename__ = "contacts"
    __audit_label__ = "联系人"
    __field_labels__ = {
        "name": "姓名",
        "title": "职务",
        "phone": "电话",
        "email": "邮箱",
        "enterprise_id": "企业编号",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="contacts")

    @classmethod
    def district_scope(cls, district_id: int):
        """A contact is seen with its enterprise."""
        return cls.enterprise.has(Enterprise.district_scope(district_id))

    def __repr__(self) -> str:
        return f"<Contact {self.name}>"


# Two people registering one credit code at the same moment: the unique key lets one through.
UNIQUE_MESSAGES["enterprises.credit_code"] = (
    "该统一社会信用代码刚被他人同时登记，本次操作未生效；请在企业库中查找该企业。"
)
