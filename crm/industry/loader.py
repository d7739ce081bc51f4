"""Loads the reviewed data files of the industry map into the database, idempotently.

Rows are matched by their stable `code` (districts by name). A second load of unchanged files
changes nothing; an edited file updates the rows it touches (the audit log records each change);
a row that disappears from the files is retired, never deleted, because leads and projects refer
to catalogue codes. Catalogue entries remember the file's values at the last load (`loaded`), so
a reload applies only what changed in the file and keeps what managers edited in the app.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from crm.extensions import db
from crm.industry.models import (
    ACTION_WORDS,
    CATEGORY_SYSTEMS,
    CLUSTER_KINDS,
    GAPS,
    PRIORITIES,
    CatalogueEntry,
    Chain,
    Cluster,
    ClusterDistrict,
    IndustryCategory,
    Product,
    Sector,
    Target,
)
from crm.industry.service import DATA_DIR, MapDataError, read_districts_file
from crm.matching.terms import find_terms, normalise
from crm.places.models import District, Division

# Catalogue fields that come from the data files (a manager may change each in the app).
CATALOGUE_FIELDS = ("title", "action", "verb", "gap", "priority", "keywords", "added", "clusters", "retired")


@dataclass
class Counts:
    """What one load did to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0

    def __str__(self) -> str:
        text = f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"
        return text + (f"，停用 {self.retired}" if self.retired else "")


@dataclass
class MapReport:
    """What one load did, by kind of row (in loading order)."""

    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))

    def lines(self) -> list[str]:
        return [f"{label}：{counts}" for label, counts in self.counts.items()]

    @property
    def changed(self) -> int:
        return sum(c.created + c.updated + c.retired for c in self.counts.values())


def _read(name: str, data_dir: Path) -> dict:
    path = data_dir / name
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise MapDataError(f"无法读取数据文件 {name}：{error}") from error


def _require(row: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if row.get(key) in (None, "")]
    if missing:
        raise MapDataError(f"{where}：缺少字段 {'、'.join(missing)}")
    for key in ("name", "seed_term", "seed_group", "source", "verb"):
        # YAML reads an unquoted 1,3—丙二醇 in a flow mapping as two keys: insist on text.
        if key in row and row[key] is not None and not isinstance(row[key], str):
            raise MapDataError(f"{where}：字段 {key} 应为文本（含逗号时请加引号）")


def _one_of(value: Any, allowed: tuple, what: str, where: str) -> None:
    if value not in allowed:
        raise MapDataError(f"{where}：{what}“{value}”无效，可选：{'、'.join(map(str, allowed))}")


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    """Set the values that differ; True when something changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _upsert(model: type, rows: list[dict[str, Any]], counts: Counts, extra=None) -> dict[str, Any]:
    """Create or update `model` rows by code; retire those no longer in the file. Returns code → row.

    `extra(obj, code)` applies what the row owns in other tables and says whether it changed.
    """
    existing = {obj.code: obj for obj in db.session.scalars(select(model))}
    result = {}
    for values in rows:
        obj = existing.pop(values["code"], None)
        if hasattr(model, "retired"):
            values = {**values, "retired": False}
        if obj is None:
            obj = model(**values)
            db.session.add(obj)
            if extra:
                extra(obj, values["code"])
            counts.created += 1
        elif _apply(obj, values) | bool(extra and extra(obj, values["code"])):
            counts.updated += 1
        else:
            counts.unchanged += 1
        result[values["code"]] = obj
    for obj in existing.values():
        if getattr(obj, "retired", True) is False:
            obj.retired = True
            counts.retired += 1
    return result


class MapFiles:
    """The data files, read and checked before anything is written."""

    def __init__(self, data_dir: Path = DATA_DIR):
        self.districts = read_districts_file(data_dir / "districts.yaml")
        self.divisions = [
            str(name).strip() for name in _read("divisions.yaml", data_dir).get("divisions") or []
        ]
        self.categories = _read("map.yaml", data_dir).get("categories") or []
        self.clusters = _read("clusters.yaml", data_dir).get("clusters") or []
        self.targets = _read("targets.yaml", data_dir).get("targets") or []
        self.synonyms = [
            list(map(str, group)) for group in _read("synonyms.yaml", data_dir).get("synonyms") or []
        ]
        self._check()

    def district_name(self, label: str, where: str) -> str:
        """The canonical district name of a name or alias in the files."""
        key = normalise(label)
        for row in self.districts:
            if key in {normalise(n) for n in [row["name"], *(row.get("aliases") or [])]}:
                return row["name"]
        raise MapDataError(f"{where}：未知的区县“{label}”")

    def products(self):
        """(category, sector, chain, product) for every product, in file order."""
        for category in self.categories:
            for sector in category.get("sectors") or []:
                for chain in sector.get("chains") or []:
                    for product in chain.get("products") or []:
                        yield category, sector, chain, product

    def _check(self) -> None:
        if any(not name or len(name) > 32 for name in self.divisions):
            raise MapDataError("divisions.yaml：处室名称不能为空，且不超过 32 个字")
        if len(set(self.divisions)) != len(self.divisions):
            raise MapDataError("divisions.yaml：处室名称重复")
        codes: set[str] = set()

        def unique(code: str, where: str) -> None:
            if code in codes:
                raise MapDataError(f"{where}：代码 {code} 重复")
            codes.add(code)

        cluster_names: set[str] = set()
        short_names: set[str] = set()
        for row in self.clusters:
            where = f"clusters.yaml {row.get('code') or row.get('name')}"
            _require(row, ("code", "name", "short_name", "kind", "districts", "core_districts"), where)
            _one_of(row["kind"], CLUSTER_KINDS, "集群类型", where)
            unique(row["code"], where)
            if row["name"] in cluster_names or row["short_name"] in short_names:
                raise MapDataError(f"{where}：集群名称或简称重复")
            for key in ("districts", "core_districts"):
                resolved = [self.district_name(label, where) for label in row[key]]
                if len(set(resolved)) != len(resolved):
                    raise MapDataError(f"{where}：{key} 中有重复的区县")
            cluster_names.add(row["name"])
            short_names.add(row["short_name"])
        for row in self.targets:
            where = f"targets.yaml {row.get('code')}"
            _require(row, ("code", "name", "comparator", "value", "unit", "source"), where)
            _one_of(row["comparator"], (">", ">="), "比较符", where)
            unique(row["code"], where)
            if not isinstance(row["value"], int | float) or isinstance(row["value"], bool):
                raise MapDataError(f"{where}：目标值“{row['value']}”应为数字")
            if not isinstance(row.get("year", 2027), int):
                raise MapDataError(f"{where}：年份“{row.get('year')}”应为整数")
        for category in self.categories:
            where = f"map.yaml {category.get('code')}"
            _require(category, ("code", "name", "system", "heading", "source", "basis"), where)
            _one_of(str(category["system"]), CATEGORY_SYSTEMS, "体系", where)
            if not any(word in category["basis"] for words in ACTION_WORDS.values() for word in words):
                raise MapDataError(f"{where}：basis 须含 DOMAIN 的动作用语（做大做强、培育……）")
            unique(category["code"], where)
            for sector in category.get("sectors") or []:
                where = f"map.yaml {sector.get('code')}"
                _require(sector, ("code", "name"), where)
                unique(sector["code"], where)
                for chain in sector.get("chains") or []:
                    where = f"map.yaml {chain.get('code')}"
                    _require(chain, ("code", "name", "source", "verb", "gap", "priority"), where)
                    unique(chain["code"], where)
                    for product in chain.get("products") or []:
                        if not isinstance(product, dict):
                            raise MapDataError(f"{where}：产品“{product}”应写成 {{code: …, name: …}}")
                        where = f"map.yaml {product.get('code')}"
                        _require(product, ("code", "name"), where)
                        unique(product["code"], where)
                        merged = {**chain, **product}
                        if "action" in merged:
                            raise MapDataError(f"{where}：招商动作由原文用语推出，不能直接填写 action")
                        _one_of(merged["gap"], GAPS, "环节类型", where)
                        _one_of(merged["priority"], PRIORITIES, "优先级", where)
                        for name in merged.get("clusters") or []:
                            if name not in cluster_names:
                                raise MapDataError(f"{where}：未知的产业集群“{name}”")

    def keywords(self, name: str) -> list[str]:
        """The product name and the synonyms of every term it contains (PA—66 → 尼龙66 …)."""
        found = set(find_terms(name, [t for group in self.synonyms for t in group]))
        words = {normalise(name): name}
        for group in self.synonyms:
            if any(normalise(t) in found for t in group):
                for term in group:
                    words.setdefault(normalise(term), term)
        return list(words.values())


def load_map(data_dir: Path = DATA_DIR) -> MapReport:
    """Load every data file; the caller commits."""
    files = MapFiles(data_dir)
    report = MapReport()
    _load_districts(files, report.counts["区县与功能区"])
    _load_divisions(files, report.counts["处室"])
    clusters = _load_clusters(files, report.counts["产业集群"])
    categories = _upsert(
        IndustryCategory,
        [
            {
                "code": c["code"],
                "name": c["name"],
                "system": str(c["system"]),
                "heading": c["heading"],
                "source": c["source"],
                "sort_order": i,
            }
            for i, c in enumerate(files.categories, 1)
        ],
        report.counts["产业门类"],
    )
    db.session.flush()
    sector_rows, chain_rows, product_rows = [], [], []
    for category in files.categories:
        for sector in category.get("sectors") or []:
            sector_rows.append(
                {
                    "code": sector["code"],
                    "category_id": categories[category["code"]].id,
                    "name": sector["name"],
                    "seed_name": sector.get("seed_name"),
                    "source": sector.get("source"),
                    "sort_order": len(sector_rows) + 1,
                }
            )
    sectors = _upsert(Sector, sector_rows, report.counts["产业"])
    db.session.flush()
    # Positions count within the parent: inserting one product renumbers only its siblings.
    for category in files.categories:
        for sector in category.get("sectors") or []:
            for position, chain in enumerate(sector.get("chains") or [], 1):
                chain_rows.append(
                    {
                        "code": chain["code"],
                        "sector_id": sectors[sector["code"]].id,
                        "name": chain["name"],
                        "seed_term": chain.get("seed_term"),
                        "added": bool(chain.get("added")),
                        "source": chain["source"],
                        "sort_order": position,
                    }
                )
    chains = _upsert(Chain, chain_rows, report.counts["产业链"])
    db.session.flush()
    for category in files.categories:
        for sector in category.get("sectors") or []:
            for chain in sector.get("chains") or []:
                for position, product in enumerate(chain.get("products") or [], 1):
                    product_rows.append(
                        {
                            "code": product["code"],
                            "chain_id": chains[chain["code"]].id,
                            "name": product["name"],
                            "seed_term": product.get("seed_term"),
                            "seed_group": product.get("seed_group"),
                            "source": product.get("source") or chain["source"],
                            "sort_order": position,
                        }
                    )
    products = _upsert(Product, product_rows, report.counts["产品方向"])
    db.session.flush()
    _load_targets(files, report.counts["2027 年目标"])
    _load_catalogue(files, products, clusters, report.counts["招商目录条目"])
    db.session.flush()
    return report


def _load_districts(files: MapFiles, counts: Counts) -> None:
    # Districts are matched by name: they have no code of their own and are never retired.
    existing = {d.name: d for d in db.session.scalars(select(District))}
    for order, row in enumerate(files.districts, start=1):
        wanted = {"kind": row["kind"], "aliases": list(row.get("aliases") or []), "sort_order": order}
        district = existing.get(row["name"])
        if district is None:
            db.session.add(District(name=row["name"], **wanted))
            counts.created += 1
        elif _apply(district, wanted):
            counts.updated += 1
        else:
            counts.unchanged += 1
    db.session.flush()


def _load_divisions(files: MapFiles, counts: Counts) -> None:
    # Matched by name, like districts; one dropped from the file is kept, only no longer active.
    existing = {d.name: d for d in db.session.scalars(select(Division))}
    for order, name in enumerate(files.divisions, start=1):
        division = existing.pop(name, None)
        if division is None:
            db.session.add(Division(name=name, sort_order=order, active=True))
            counts.created += 1
        elif _apply(division, {"sort_order": order, "active": True}):
            counts.updated += 1
        else:
            counts.unchanged += 1
    for division in existing.values():
        if division.active:
            division.active = False
            counts.retired += 1
    db.session.flush()


def _load_clusters(files: MapFiles, counts: Counts) -> dict[str, Cluster]:
    rows = [
        {
            "code": c["code"],
            "name": c["name"],
            "short_name": c["short_name"],
            "kind": c["kind"],
            "seed_row": c.get("seed_row"),
            "text_name": c.get("text_name") or c["name"],
            "text_phrase": c.get("text_phrase") or "",
            "open_ended": bool(c.get("open_ended")),
            "sort_order": i,
        }
        for i, c in enumerate(files.clusters, 1)
    ]
    districts = {d.name: d for d in db.session.scalars(select(District))}
    files_by_code = {c["code"]: c for c in files.clusters}

    def members(cluster: Cluster, code: str) -> bool:
        row = files_by_code[code]
        wanted: dict[int, dict[str, Any]] = {}
        for position, label in enumerate(row["districts"], 1):
            district = districts[files.district_name(label, code)]
            wanted[district.id] = {
                "listed": True,
                "core": False,
                "position": position,
                "core_position": None,
                "seed_name": label,
            }
        for position, label in enumerate(row["core_districts"], 1):
            district = districts[files.district_name(label, code)]
            member = wanted.setdefault(
                district.id, {"listed": False, "position": 100 + position, "seed_name": label}
            )
            member.update(core=True, core_position=position)
        current = {m.district_id: m for m in cluster.members}
        changed = False
        for district_id, values in wanted.items():
            member = current.pop(district_id, None)
            if member is None:
                cluster.members.append(ClusterDistrict(district_id=district_id, **values))
                changed = True
            else:
                changed = _apply(member, values) or changed
        for member in current.values():
            cluster.members.remove(member)
            changed = True
        return changed

    clusters = _upsert(Cluster, rows, counts, extra=members)
    return {c.name: c for c in clusters.values()}


def _load_targets(files: MapFiles, counts: Counts) -> None:
    _upsert(
        Target,
        [
            {
                "code": t["code"],
                "name": t["name"],
                "comparator": t["comparator"],
                "value": Decimal(str(t["value"])),
                "unit": t["unit"],
                "year": int(t.get("year") or 2027),
                "ambition": t.get("ambition") or "目标",
                "source": t["source"],
                "sort_order": i,
            }
            for i, t in enumerate(files.targets, 1)
        ],
        counts,
    )


def derive_action(verb: str, basis: str) -> tuple[str, str]:
    """(action, verb) by DOMAIN.md's rule: the first of its words in the verb decides; a verb with
    none of them takes its category's basis (做大做强先进基础材料 → 强链), which is then kept beside it."""
    hits = [(verb.find(w), action) for action, words in ACTION_WORDS.items() for w in words if w in verb]
    if hits:
        return min(hits)[1], verb
    return derive_action(basis, basis)[0], f"{verb}；{basis}"


def _catalogue_values(files: MapFiles, category: dict, chain: dict, product: dict) -> dict[str, Any]:
    merged = {**chain, **product}
    action, verb = derive_action(merged["verb"], category["basis"])
    return {
        "title": product["name"],
        "action": action,
        "verb": verb,
        "gap": merged["gap"],
        "priority": merged["priority"],
        "keywords": files.keywords(product["name"]),
        "added": bool(product.get("added") or chain.get("added")),
        "clusters": list(merged.get("clusters") or []),
        "retired": False,
    }


def _load_catalogue(
    files: MapFiles, products: dict[str, Product], clusters: dict[str, Cluster], counts: Counts
) -> None:
    existing = {e.code: e for e in db.session.scalars(select(CatalogueEntry))}
    for category, _sector, chain, product in files.products():
        wanted = _catalogue_values(files, category, chain, product)
        entry = existing.pop(product["code"], None)
        if entry is None:
            entry = CatalogueEntry(
                code=product["code"], product=products[product["code"]], note="", version=1
            )
            _set_catalogue_field(entry, wanted, clusters, CATALOGUE_FIELDS)
            entry.loaded = wanted
            entry.refresh_search_text()
            db.session.add(entry)
            counts.created += 1
            continue
        # Only what the file changed since the last load: a manager's edit in the app stays.
        changed = [key for key in CATALOGUE_FIELDS if entry.loaded.get(key) != wanted[key]]
        if changed:
            _set_catalogue_field(entry, wanted, clusters, changed)
            entry.loaded = wanted
            entry.refresh_search_text()
            entry.version += 1
            counts.updated += 1
        else:
            counts.unchanged += 1
    for entry in existing.values():
        if not entry.loaded.get("retired"):
            entry.retired = True
            entry.loaded = {**entry.loaded, "retired": True}
            entry.version += 1
            counts.retired += 1


def _set_catalogue_field(entry: CatalogueEntry, values: dict, clusters: dict[str, Cluster], keys) -> None:
    for key in keys:
        if key == "clusters":
            entry.clusters = [clusters[name] for name in values["clusters"]]
        else:
            setattr(entry, key, values[key])
