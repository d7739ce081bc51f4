"""Verbs of the industry map: loading the reviewed data files, resolving district names."""

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from crm.extensions import db
from crm.industry.models import (
    DISTRICT_KINDS,
    CatalogueEntry,
    Chain,
    Cluster,
    District,
    IndustryCategory,
    Product,
    Sector,
    Target,
)
from crm.matching.terms import normalise

DATA_DIR = Path(__file__).parent / "data"


class MapDataError(ValueError):
    """A data file that cannot be loaded as it stands."""


def read_districts_file(path: Path | None = None) -> list[dict]:
    """The districts data file, checked: unique names and aliases, known kinds."""
    path = path or DATA_DIR / "districts.yaml"
    rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("districts") or []
    seen: dict[str, str] = {}
    for row in rows:
        if row.get("kind") not in DISTRICT_KINDS:
            raise MapDataError(f"{path.name}：{row.get('name')} 的类型 {row.get('kind')} 无效")
        for label in [row["name"], *(row.get("aliases") or [])]:
            key = normalise(label)
            if key in seen and seen[key] != row["name"]:
                raise MapDataError(f"{path.name}：名称“{label}”同时指向 {seen[key]} 和 {row['name']}")
            seen[key] = row["name"]
    return rows


def all_districts() -> list[District]:
    """Every district and zone, in the data file's order."""
    return list(db.session.scalars(select(District).order_by(District.sort_order, District.id)))


def resolve_district(name: str) -> District | None:
    """The district a name or alias refers to (秀山县 → 秀山土家族苗族自治县), or None."""
    key = normalise(name)
    if not key:
        return None
    for district in all_districts():
        if key in {normalise(label) for label in [district.name, *(district.aliases or [])]}:
            return district
    return None


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def map_tree() -> list[IndustryCategory]:
    """Categories with their sectors, chains and products loaded in a few queries."""
    stmt = (
        select(IndustryCategory)
        .order_by(IndustryCategory.sort_order)
        .options(
            selectinload(IndustryCategory.sectors)
            .selectinload(Sector.chains)
            .selectinload(Chain.products)
            .selectinload(Product.entry)
        )
    )
    return list(db.session.scalars(stmt))


def all_clusters() -> list[Cluster]:
    """Every cluster in use, 重点 first in the table's order, then 特色."""
    stmt = (
        select(Cluster)
        .where(Cluster.retired.is_(False))
        .order_by(Cluster.sort_order)
        .options(selectinload(Cluster.members))
    )
    return list(db.session.scalars(stmt))


def catalogue_entries(include_retired: bool = True) -> list[CatalogueEntry]:
    """Every catalogue entry with its product, chain, sector and clusters."""
    stmt = (
        select(CatalogueEntry)
        .join(CatalogueEntry.product)
        .join(Product.chain)
        .join(Chain.sector)
        .order_by(Sector.sort_order, Chain.sort_order, Product.sort_order)
        .options(
            selectinload(CatalogueEntry.clusters).selectinload(Cluster.members),
            joinedload(CatalogueEntry.product).joinedload(Product.chain).joinedload(Chain.sector),
        )
    )
    if not include_retired:
        stmt = stmt.where(CatalogueEntry.retired.is_(False))
    return list(db.session.scalars(stmt).unique())


def entry_json(entry: CatalogueEntry) -> dict:
    """A catalogue entry as the export and the API show it."""
    return {
        "code": entry.code,
        "category": entry.sector.category.name,
        "sector": entry.sector.name,
        "chain": entry.chain.name,
        "product": entry.product.name,
        "title": entry.title,
        "action": entry.action,
        "verb": entry.verb,
        "gap": entry.gap,
        "priority": entry.priority,
        "clusters": [c.name for c in entry.clusters],
        "districts": [d.name for d in entry.suitable_districts()],
        "keywords": entry.keywords,
        "source": entry.product.source,
        "added": entry.added,
        "retired": entry.retired,
        "note": entry.note,
    }


def export_map() -> dict:
    """The whole map and catalogue, as `flask map export` prints it."""
    return {
        "categories": [
            {
                "code": category.code,
                "name": category.name,
                "system": category.system,
                "heading": category.heading,
                "source": category.source,
                "sectors": [
                    {
                        "code": sector.code,
                        "name": sector.name,
                        "seed_name": sector.seed_name,
                        "source": sector.source,
                        "chains": [
                            {
                                "code": chain.code,
                                "name": chain.name,
                                "added": chain.added,
                                "retired": chain.retired,
                                "source": chain.source,
                                "products": [
                                    {
                                        "code": product.code,
                                        "name": product.name,
                                        "seed_term": product.seed_term or product.name,
                                        "seed_group": product.seed_group,
                                        "source": product.source,
                                        "retired": product.retired,
                                    }
                                    for product in chain.products
                                ],
                            }
                            for chain in sector.chains
                        ],
                    }
                    for sector in category.sectors
                ],
            }
            for category in map_tree()
        ],
        "clusters": [
            {
                "code": cluster.code,
                "name": cluster.name,
                "short_name": cluster.short_name,
                "kind": cluster.kind,
                "text_name": cluster.text_name,
                "districts": [d.name for d in cluster.districts],
                "core_districts": [d.name for d in cluster.core_districts],
                "districts_as_written": [m.seed_name for m in cluster.members if m.listed],
                "open_ended": cluster.open_ended,
                "text_phrase": cluster.text_phrase,
            }
            for cluster in all_clusters()
        ],
        "districts": [{"name": d.name, "kind": d.kind, "aliases": d.aliases} for d in all_districts()],
        "targets": [
            {
                "code": t.code,
                "name": t.name,
                "comparator": t.comparator,
                "value": _number(t.value),
                "unit": t.unit,
                "year": t.year,
                "ambition": t.ambition,
                "source": t.source,
            }
            for t in db.session.scalars(select(Target).order_by(Target.sort_order))
        ],
        "catalogue": [entry_json(entry) for entry in catalogue_entries()],
    }


ATTACHMENT_KINDS = ("enterprises", "leads", "projects")


def attachment_counts(user=None) -> dict[str, dict[str, int]]:
    """How many enterprises, leads and projects attach to each map node, keyed by code.

    Catalogue (= product) codes carry their own counts; chain and sector codes the sum of their
    products'. Counts go through the permission scope: a district user counts only what they see.
    """
    from crm.auth.permissions import scoped
    from crm.enterprises.models import Enterprise, enterprise_entries
    from crm.leads.models import Lead
    from crm.projects.models import Project

    queries = {
        "enterprises": scoped(
            select(CatalogueEntry.code, func.count(func.distinct(Enterprise.id)))
            .join(enterprise_entries, enterprise_entries.c.entry_id == CatalogueEntry.id)
            .join(Enterprise, Enterprise.id == enterprise_entries.c.enterprise_id)
            .where(Enterprise.merged_into_id.is_(None)),
            Enterprise,
            user,
        ),
        "leads": scoped(
            select(CatalogueEntry.code, func.count(Lead.id)).join(
                Lead, Lead.catalogue_entry_id == CatalogueEntry.id
            ),
            Lead,
            user,
        ),
        "projects": scoped(
            select(CatalogueEntry.code, func.count(Project.id)).join(
                Project, Project.catalogue_entry_id == CatalogueEntry.id
            ),
            Project,
            user,
        ),
    }
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ATTACHMENT_KINDS, 0))
    hierarchy = (
        select(CatalogueEntry.code, Chain.code, Sector.code)
        .join(CatalogueEntry.product)
        .join(Product.chain)
        .join(Chain.sector)
    )
    parents = {code: (chain, sector) for code, chain, sector in db.session.execute(hierarchy)}
    for kind, stmt in queries.items():
        for code, number in db.session.execute(stmt.group_by(CatalogueEntry.code)):
            for node in (code, *parents.get(code, ())):
                counts[node][kind] += number
    return counts


def district_id_of(value, error: type[Exception]) -> int | None:
    """The id of the district a submitted name or alias names, None for a blank value; an unknown
    name raises `error` with a Chinese message. One rule for every form, API body and import."""
    text = str(value or "").strip()[:64]
    if not text:
        return None
    district = resolve_district(text)
    if district is None:
        raise error(f"未知的区县或功能区：“{text}”")
    return district.id


def district_choices(empty_label: str):
    """Options of a district <select>: an empty choice labelled `empty_label`, then every district."""
    from crm.core.forms import choices

    return choices([("", empty_label), *((d.name, d.name) for d in all_districts())])
