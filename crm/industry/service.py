"""Verbs of the industry map: loading the reviewed data files, resolving district names."""

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select

from crm.extensions import db
from crm.industry.models import DISTRICT_KINDS, District

DATA_DIR = Path(__file__).parent / "data"


class MapDataError(ValueError):
    """A data file that cannot be loaded as it stands."""


@dataclass
class LoadReport:
    """What one load changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}"


def normalise_name(text: str) -> str:
    """A name folded for comparison: full-width to half-width (NFKC), no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def read_districts_file(path: Path | None = None) -> list[dict]:
    """The districts data file, checked: unique names and aliases, known kinds."""
    path = path or DATA_DIR / "districts.yaml"
    rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("districts") or []
    seen: dict[str, str] = {}
    for row in rows:
        if row.get("kind") not in DISTRICT_KINDS:
            raise MapDataError(f"{path.name}：{row.get('name')} 的类型 {row.get('kind')} 无效")
        for label in [row["name"], *(row.get("aliases") or [])]:
            key = normalise_name(label)
            if key in seen and seen[key] != row["name"]:
                raise MapDataError(f"{path.name}：名称“{label}”同时指向 {seen[key]} 和 {row['name']}")
            seen[key] = row["name"]
    return rows


def load_districts(path: Path | None = None) -> LoadReport:
    """Upsert the districts by name; a second load of the same file changes nothing."""
    report = LoadReport()
    existing = {d.name: d for d in db.session.scalars(select(District))}
    for order, row in enumerate(read_districts_file(path), start=1):
        wanted = {"kind": row["kind"], "aliases": list(row.get("aliases") or []), "sort_order": order}
        district = existing.get(row["name"])
        if district is None:
            db.session.add(District(name=row["name"], **wanted))
            report.created += 1
        elif any(getattr(district, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(district, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    db.session.flush()
    return report


def all_districts() -> list[District]:
    """Every district and zone, in the data file's order."""
    return list(db.session.scalars(select(District).order_by(District.sort_order, District.id)))


def resolve_district(name: str) -> District | None:
    """The district a name or alias refers to (秀山县 → 秀山土家族苗族自治县), or None."""
    key = normalise_name(name)
    if not key:
        return None
    for district in all_districts():
        if key in {normalise_name(label) for label in [district.name, *(district.aliases or [])]}:
            return district
    return None
