"""Verbs on the investment catalogue: filtering, editing with optimistic locking, history, export."""

import re
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.audit.history import Change, changes_since, record_history
from crm.audit.models import AuditLog
from crm.core.excel import xlsx_bytes
from crm.core.memo import remembered, remembering
from crm.core.text import clean_text
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import Problems
from crm.extensions import db
from crm.industry.models import (
    ACTIONS,
    GAPS,
    PRIORITIES,
    CatalogueEntry,
    Chain,
    Cluster,
    Product,
    Sector,
    entry_clusters,
)
from crm.matching.terms import normalise

MAX_KEYWORDS = 40
KEYWORD_SPLIT = re.compile(r"[,，、;；\n]+")


class CatalogueError(Refusal):
    """An edit that cannot be saved; the message is for the manager."""


class EditConflict(CatalogueError, Conflict):
    """Someone else saved the entry since this editor opened it."""

    def __init__(self, entry: CatalogueEntry, changes: list["Change"]):
        self.entry = entry
        self.changes = changes
        super().__init__("此条目在您编辑期间已被他人修改，您的修改尚未保存。请核对下列变更后重新提交。")


@dataclass
class CatalogueFilter:
    """The filters of the catalogue list and its export, read from query parameters."""

    sector: str = ""
    cluster: str = ""
    action: str = ""
    gap: str = ""
    priority: str = ""
    q: str = ""
    retired: bool = False

    @classmethod
    def from_args(cls, args) -> "CatalogueFilter":
        """Unknown values are ignored rather than refused: a stale bookmark still opens the list."""
        pick = {
            key: (args.get(key) or "").strip()[:64]
            for key in ("sector", "cluster", "action", "gap", "priority", "q")
        }
        return cls(
            sector=pick["sector"],
            cluster=pick["cluster"],
            action=pick["action"] if pick["action"] in ACTIONS else "",
            gap=pick["gap"] if pick["gap"] in GAPS else "",
            priority=pick["priority"] if pick["priority"] in PRIORITIES else "",
            q=pick["q"],
            retired=args.get("retired") == "1",
        )

    def statement(self) -> Select:
        """The catalogue entries matching the filters, in map order."""
        stmt = (
            select(CatalogueEntry)
            .join(CatalogueEntry.product)
            .join(Product.chain)
            .join(Chain.sector)
            .options(
                joinedload(CatalogueEntry.product).joinedload(Product.chain).joinedload(Chain.sector),
                selectinload(CatalogueEntry.clusters).selectinload(Cluster.members),
            )
            .order_by(Sector.sort_order, Chain.sort_order, Product.sort_order)
        )
        if not self.retired:
            stmt = stmt.where(CatalogueEntry.retired.is_(False))
        if self.sector:
            stmt = stmt.where(Sector.code == self.sector.upper())
        if self.cluster:
            member = select(entry_clusters.c.entry_id).join(
                Cluster, Cluster.id == entry_clusters.c.cluster_id
            )
            stmt = stmt.where(CatalogueEntry.id.in_(member.where(Cluster.code == self.cluster.upper())))
        for column, value in (
            (CatalogueEntry.action, self.action),
            (CatalogueEntry.gap, self.gap),
            (CatalogueEntry.priority, self.priority),
        ):
            if value:
                stmt = stmt.where(column == value)
        needle = normalise(self.q)
        if needle:
            # Normalised on both sides (width, dashes, case): pa66, PA-66 and PA—66 all find PA—66.
            stmt = stmt.where(
                or_(
                    CatalogueEntry.search_text.contains(needle, autoescape=True),
                    Chain.name.contains(self.q, autoescape=True),
                )
            )
        return stmt

    def args(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        values = {k: v for k, v in vars(self).items() if v and k != "retired"}
        return {**values, **({"retired": "1"} if self.retired else {})}


def get_entry(code: str) -> CatalogueEntry | None:
    """The entry with this code (codes are case-insensitive in URLs)."""
    key = (code or "").upper()[:16]
    if remembering():  # an import checking thousands of rows: every entry, read once
        return _entries_by_code().get(key)
    return db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == key))


@remembered
def _entries_by_code() -> dict[str, CatalogueEntry]:
    return {entry.code: entry for entry in db.session.scalars(select(CatalogueEntry))}


def parse_keywords(text: str) -> list[str]:
    """Keywords typed by a manager: separated by commas, 、, semicolons or new lines; no repeats."""
    words = [clean_text(w, "关键词", 64, CatalogueError) for w in KEYWORD_SPLIT.split(text or "")]
    words = list(dict.fromkeys(w for w in words if w))
    if len(words) > MAX_KEYWORDS:
        raise CatalogueError(f"关键词最多 {MAX_KEYWORDS} 个")
    return words


def entry_history(entry: CatalogueEntry, after_version: int = 0) -> list[AuditLog]:
    """The audit entries of this catalogue entry, oldest first (optionally only after a version)."""
    return record_history(entry, after_version)


def update_entry(entry: CatalogueEntry, values: dict, seen_version: int) -> CatalogueEntry:
    """Save a manager's edit; refused with the other editor's changes if the entry moved on meanwhile."""
    if not 1 <= seen_version <= entry.version:
        raise CatalogueError("版本号无效，请刷新页面后重新编辑")
    if seen_version != entry.version:
        raise EditConflict(entry, changes_since(entry, seen_version))
    if entry.product.retired and not values["retired"]:
        raise CatalogueError("此条目的产品方向已从产业地图数据中移除，不能重新启用")
    if values["action"] not in ACTIONS or values["gap"] not in GAPS or values["priority"] not in PRIORITIES:
        raise CatalogueError("招商动作、环节类型或优先级无效")
    problems = Problems(CatalogueError)
    with problems.field("clusters"):
        clusters = list(db.session.scalars(select(Cluster).where(Cluster.code.in_(values["clusters"]))))
        if len(clusters) != len(set(values["clusters"])):
            raise CatalogueError("所选产业集群无效")
    with problems.field("verb"):
        verb = clean_text(values["verb"], "原文用语", 128, CatalogueError) or entry.verb
    with problems.field("keywords"):
        keywords = parse_keywords(values["keywords"])
    with problems.field("note"):
        note = clean_text(values["note"], "备注", 2000, CatalogueError)
    problems.raise_first()
    # No autoflush while assigning: loading the old cluster list would flush the first changes
    # before the version is bumped.
    with db.session.no_autoflush:
        entry.action, entry.gap, entry.priority = values["action"], values["gap"], values["priority"]
        entry.verb, entry.keywords, entry.note = verb, keywords, note
        entry.retired = bool(values["retired"])
        entry.clusters = sorted(clusters, key=lambda c: c.sort_order)
        entry.refresh_search_text()
        if db.session.is_modified(entry):
            # Bump even when only the clusters changed: the version is what the next editor checks.
            entry.version += 1
    try:
        db.session.flush()
    except StaleDataError as error:
        # Another save committed between our read and our UPDATE (the WHERE version = … matched nothing).
        db.session.rollback()
        fresh = get_entry(entry.code)
        raise EditConflict(fresh, changes_since(fresh, seen_version)) from error
    return entry


EXPORT_COLUMNS = [
    ("代码", lambda e: e.code, 10),
    ("门类", lambda e: e.sector.category.name, 12),
    ("产业", lambda e: e.sector.name, 18),
    ("产业链", lambda e: e.chain.name, 18),
    ("招商环节（产品方向）", lambda e: e.title, 28),
    ("招商动作", lambda e: e.action, 8),
    ("原文用语", lambda e: e.verb, 24),
    ("环节类型", lambda e: e.gap, 10),
    ("优先级", lambda e: e.priority, 6),
    ("适宜集群", lambda e: "、".join(c.name for c in e.clusters), 36),
    ("适宜区县", lambda e: "、".join(d.name for d in e.suitable_districts()), 40),
    ("关键词", lambda e: "、".join(e.keywords), 40),
    ("原文出处", lambda e: e.product.source, 60),
    ("增设", lambda e: "是" if e.added else "", 6),
    ("已停用", lambda e: "是" if e.retired else "", 6),
    ("备注", lambda e: e.note, 30),
]


def export_xlsx(entries: list[CatalogueEntry]) -> bytes:
    """The entries as an XLSX workbook, one row each, Chinese headers."""
    return xlsx_bytes("产业链招商目录", EXPORT_COLUMNS, entries)
