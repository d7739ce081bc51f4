"""Reading the industry map: its data files, the tree, the clusters, the catalogue entries, the export."""

from decimal import Decimal
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.core.transaction import Refusal
from crm.extensions import db
from crm.industry.models import CatalogueEntry, Chain, Cluster, IndustryCategory, Product, Sector, Target
from crm.matching.terms import normalise
from crm.places.models import DISTRICT_KINDS
from crm.places.service import all_districts

DATA_DIR = Path(__file__).parent / "data"


class MapDataError(Refusal):
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


def all_sectors() -> list[Sector]:
    """The sectors in the map's order (the lists' sector filter)."""
    return list(db.session.scalars(select(Sector).order_by(Sector.sort_order)))


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


@cache
def synonym_groups() -> tuple[tuple[str, ...], ...]:
    """The groups of equivalent spellings in synonyms.yaml (PA-66 = PA66 = 尼龙66 …), read once."""
    rows = (yaml.safe_load((DATA_DIR / "synonyms.yaml").read_text(encoding="utf-8")) or {}).get(
        "synonyms"
    ) or []
    return tuple(tuple(str(term) for term in group) for group in rows)


def spellings_of(term: str) -> list[str]:
    """Every other spelling of `term` in its synonym group (normalised), or none."""
    key = normalise(term)
    for group in synonym_groups():
        folded = [normalise(t) for t in group]
        if key in folded:
            return [t for t in dict.fromkeys(folded) if t != key]
    return []
