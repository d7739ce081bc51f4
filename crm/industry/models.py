"""Reference data of the industry map."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.core.timeutil import utcnow
from crm.extensions import db
from crm.matching.terms import normalise
from crm.places.models import District

CATEGORY_SYSTEMS = ("4", "N")
CLUSTER_KINDS = ("重点", "特色")
ACTIONS = ("强链", "补链", "延链", "育链")
# DOMAIN.md: the seed's verb decides the chain action.
ACTION_WORDS = {
    "强链": ("做大做强", "扩大", "夯实"),
    "补链": ("补齐", "短缺", "卡脖子"),
    "延链": ("延伸",),
    "育链": ("培育", "引育", "储备"),
}
COMMON_LABELS = {
    "id": "编号",
    "code": "代码",
    "name": "名称",
    "source": "原文出处",
    "seed_term": "原文写法",
    "seed_group": "原文统称",
    "sort_order": "排序",
    "retired": "已停用",
    "added": "增设",
}
GAPS = ("短板", "薄弱环节", "优势")
PLAN_START = date(2023, 1, 1)  # the action plan's first year: cumulative figures and rates count from it
PRIORITIES = ("高", "中", "低")


class IndustryCategory(db.Model):
    """One part of the "4+4+N" system: 先进基础材料, 关键战略材料, 前沿新材料 (专栏一)."""

    __tablename__ = "industry_categories"
    __audit_label__ = "产业门类"
    __field_labels__ = {**COMMON_LABELS, "system": "体系", "heading": "标题"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    system: Mapped[str] = mapped_column(String(2))
    heading: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    sectors: Mapped[list["Sector"]] = relationship(back_populates="category", order_by="Sector.sort_order")

    def __repr__(self) -> str:
        return f"<IndustryCategory {self.name}>"


class Sector(db.Model):
    """One of the 11 sectors of 专栏一 (先进有色金属材料 …)."""

    __tablename__ = "sectors"
    __audit_label__ = "产业"
    __field_labels__ = {**COMMON_LABELS, "category_id": "门类编号", "seed_name": "专栏一名称"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("industry_categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    # The name 专栏一 uses where it differs from the heading of 二 (储能材料 vs 新型储能材料).
    seed_name: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    category: Mapped[IndustryCategory] = relationship(back_populates="sectors")
    chains: Mapped[list["Chain"]] = relationship(back_populates="sector", order_by="Chain.sort_order")

    def __repr__(self) -> str:
        return f"<Sector {self.code} {self.name}>"


class Chain(db.Model):
    """An industry chain within a sector (铝合金, 聚氨酯 …), with the seed sentence it comes from."""

    __tablename__ = "chains"
    __audit_label__ = "产业链"
    __field_labels__ = {**COMMON_LABELS, "sector_id": "产业编号"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    seed_term: Mapped[str | None] = mapped_column(String(128))
    added: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    sector: Mapped[Sector] = relationship(back_populates="chains")
    products: Mapped[list["Product"]] = relationship(back_populates="chain", order_by="Product.sort_order")

    def __repr__(self) -> str:
        return f"<Chain {self.code} {self.name}>"


class Product(db.Model):
    """A product direction the seed names (高强高模耐蚀铝合金 …), with its sentence."""

    __tablename__ = "products"
    __audit_label__ = "产品方向"
    __field_labels__ = {**COMMON_LABELS, "chain_id": "产业链编号"}

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    seed_term: Mapped[str | None] = mapped_column(String(128))
    # The seed's collective term for a group of products (铜基粉末材料 for 低松比铜粉 …).
    seed_group: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    chain: Mapped[Chain] = relationship(back_populates="products")
    entry: Mapped["CatalogueEntry | None"] = relationship(back_populates="product")

    def __repr__(self) -> str:
        return f"<Product {self.code} {self.name}>"


class Cluster(db.Model):
    """A district cluster: the 8 重点 clusters of 专栏二 and the 5 特色 clusters of 三(二)."""

    __tablename__ = "clusters"
    __audit_label__ = "产业集群"
    __field_labels__ = {
        **COMMON_LABELS,
        "short_name": "简称",
        "kind": "类型",
        "seed_row": "专栏二序号",
        "text_name": "正文名称",
        "text_phrase": "正文表述",
        "open_ended": "名单以“等”结尾",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    short_name: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(4))
    seed_row: Mapped[int | None] = mapped_column(Integer)
    # The name the text of 三(二) uses (电子先进材料产业集群 for the table's 电子新材料产业集群).
    text_name: Mapped[str] = mapped_column(String(64))
    text_phrase: Mapped[str] = mapped_column(Text)
    open_ended: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)

    members: Mapped[list["ClusterDistrict"]] = relationship(
        back_populates="cluster", order_by="ClusterDistrict.position", cascade="all, delete-orphan"
    )

    @property
    def districts(self) -> list[District]:
        """The cluster's districts in the seed's order (专栏二's table for 重点 clusters)."""
        return [m.district for m in self.members if m.listed]

    @property
    def core_districts(self) -> list[District]:
        """The districts the text of 三(二) names for this cluster, in the text's order."""
        return [m.district for m in sorted(self.members, key=lambda m: m.core_position or 0) if m.core]

    def __repr__(self) -> str:
        return f"<Cluster {self.short_name}>"


class ClusterDistrict(db.Model):
    """A district's place in a cluster: listed in the table, named as core in the text, or both."""

    __tablename__ = "cluster_districts"
    __audit_label__ = "集群区县"
    __field_labels__ = {
        "cluster_id": "集群编号",
        "district_id": "区县编号",
        "listed": "表格所列",
        "core": "正文核心",
        "position": "表格位次",
        "core_position": "正文位次",
        "seed_name": "原文写法",
    }

    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), primary_key=True)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    core: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    core_position: Mapped[int | None] = mapped_column(Integer)
    # The name exactly as the seed writes it (秀山县, 大渡口), before alias resolution.
    seed_name: Mapped[str] = mapped_column(String(32))

    cluster: Mapped[Cluster] = relationship(back_populates="members")
    district: Mapped[District] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<ClusterDistrict {self.cluster_id}:{self.district_id}>"


class Target(db.Model):
    """A 2027 target of the plan (产值 > 10000 亿元 …)."""

    __tablename__ = "targets"
    __audit_label__ = "2027 年目标"
    __field_labels__ = {
        **COMMON_LABELS,
        "comparator": "比较",
        "value": "目标值",
        "unit": "单位",
        "year": "年份",
        "ambition": "表述",
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    comparator: Mapped[str] = mapped_column(String(2))
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    unit: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer, default=2027)
    ambition: Mapped[str] = mapped_column(String(8), default="目标")
    source: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def label(self) -> str:
        """The target as a reader says it: 全市先进材料产业产值 > 10000 亿元."""
        sign = {">": "＞", ">=": "≥"}[self.comparator]
        return f"{self.name} {sign} {self.value.normalize():f} {self.unit}"

    def __repr__(self) -> str:
        return f"<Target {self.code}>"


class TargetReport(db.Model):
    """A figure a person reports for a 2027 target the CRM cannot count itself (产值, innovation
    centres, cluster recognitions …): its value, the date it is true of, its source, who entered it.
    Never edited: a correction is a newer report; the dashboard and the briefs use the latest."""

    __tablename__ = "target_reports"
    __audit_label__ = "目标填报"
    __append_only__ = True
    __field_labels__ = {
        "target_id": "目标编号",
        "value": "数值",
        "as_of": "截至日期",
        "source": "数据来源",
        "note": "说明",
        "entered_by_id": "填报人编号",
    }
    __table_args__ = (CheckConstraint("value >= 0", name="value_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), index=True)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    as_of: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    target: Mapped[Target] = relationship()

    def __repr__(self) -> str:
        return f"<TargetReport {self.target_id} {self.value} {self.as_of}>"


entry_clusters = Table(
    "catalogue_entry_clusters",
    db.metadata,
    Column("entry_id", ForeignKey("catalogue_entries.id"), primary_key=True),
    Column("cluster_id", ForeignKey("clusters.id"), primary_key=True),
)


class CatalogueEntry(db.Model):
    """One chain link to attract (产业链招商目录): a product direction with its action, gap and clusters.

    The loader fills it from the data files; managers edit it in the app. `loaded` keeps the values
    the data file had at the last load, so a reload applies only what changed in the file and never
    undoes a manager's edit.
    """

    __tablename__ = "catalogue_entries"
    __audit_label__ = "招商目录条目"
    __field_labels__ = {
        "code": "代码",
        "title": "条目",
        "action": "招商动作",
        "verb": "原文用语",
        "gap": "环节类型",
        "priority": "优先级",
        "keywords": "关键词",
        "note": "备注",
        "retired": "已停用",
        "version": "版本",
        "clusters": "适宜集群",
        "added": "增设",
        "product_id": "产品方向编号",
        "id": "编号",
    }
    # Internal bookkeeping, never shown in histories.
    __audit_hidden__ = frozenset({"loaded", "search_text"})

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(4))
    verb: Mapped[str] = mapped_column(String(128))
    gap: Mapped[str] = mapped_column(String(8))
    priority: Mapped[str] = mapped_column(String(2))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    added: Mapped[bool] = mapped_column(Boolean, default=False)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    loaded: Mapped[dict] = mapped_column(JSON, default=dict)
    # Title and keywords normalised (half width, one dash, lower case): what the search box matches.
    search_text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    product: Mapped[Product] = relationship(back_populates="entry", lazy="joined")
    clusters: Mapped[list[Cluster]] = relationship(secondary=entry_clusters, order_by=Cluster.sort_order)

    # Optimistic locking: an UPDATE carries WHERE version = <the version the editor saw>. The
    # service bumps it, so a change of clusters alone (another table) also counts as an edit.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @classmethod
    def ids_in_sector(cls, sector_code: str) -> Select:
        """SELECT of the ids of a sector's entries: a lead or project belongs to a sector by its entry."""
        return (
            select(cls.id)
            .join(cls.product)
            .join(Product.chain)
            .join(Chain.sector)
            .where(Sector.code == sector_code)
        )

    @classmethod
    def ids_in_cluster(cls, cluster_code: str) -> Select:
        """SELECT of the ids of the entries that suit a cluster: a lead or project belongs to a cluster
        through its entry."""
        return select(entry_clusters.c.entry_id).join(Cluster).where(Cluster.code == cluster_code)

    @property
    def chain(self) -> Chain:
        return self.product.chain

    @property
    def sector(self) -> Sector:
        return self.product.chain.sector

    def refresh_search_text(self) -> None:
        """Recompute what the search box matches (call after changing the title or keywords)."""
        self.search_text = " ".join(normalise(term) for term in [self.code, self.title, *self.keywords])

    def suitable_districts(self) -> list[District]:
        """The districts of the entry's clusters, each cluster's core districts first, no repeats."""
        ordered = [d for c in self.clusters for d in c.core_districts]
        ordered += [d for c in self.clusters for d in c.districts]
        return list(dict.fromkeys(ordered))

    def __repr__(self) -> str:
        return f"<CatalogueEntry {self.code} {self.title}>"
