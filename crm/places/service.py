"""Finding districts by the names people write (秀山县, 大渡口, 重庆高新区 …), and the bureau's divisions."""

from sqlalchemy import select

from crm.core.forms import choices
from crm.core.memo import remembered
from crm.extensions import db
from crm.matching.terms import normalise
from crm.places.models import District, Division


@remembered
def all_districts() -> list[District]:
    """Every district and zone, in the data file's order."""
    return list(db.session.scalars(select(District).order_by(District.sort_order, District.id)))


@remembered
def resolve_district(name: str) -> District | None:
    """The district a name or alias refers to (秀山县 → 秀山土家族苗族自治县), or None."""
    key = normalise(name)
    if not key:
        return None
    for district in all_districts():
        if key in {normalise(label) for label in [district.name, *(district.aliases or [])]}:
            return district
    return None


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
    return choices([("", empty_label), *((d.name, d.name) for d in all_districts())])


@remembered
def active_divisions() -> list[Division]:
    """The divisions offered in forms, in the data file's order."""
    stmt = select(Division).where(Division.active.is_(True)).order_by(Division.sort_order, Division.id)
    return list(db.session.scalars(stmt))


def _offered(keep: int | None) -> list[Division]:
    # The active divisions, and a retired one a record already names (editing that record must
    # not force a new organiser on it).
    offered = active_divisions()
    if keep is not None and all(d.id != keep for d in offered):
        kept = db.session.get(Division, keep)
        offered = [*offered, kept] if kept is not None else offered
    return offered


def division_id_of(value, error: type[Exception], keep: int | None = None) -> int | None:
    """The id of the division a submitted name names, None for a blank value; an unknown or retired
    name (other than `keep`'s, the one the record has) raises `error` listing the valid ones."""
    text = str(value or "").strip()[:64]
    if not text:
        return None
    found = next((d.id for d in _offered(keep) if d.name == text), None)
    if found is None:
        raise error(f"未知的处室“{text}”。可选：{'、'.join(d.name for d in active_divisions())}")
    return found


def division_choices(empty_label: str, keep: int | None = None):
    """Options of a division <select>: an empty choice labelled `empty_label`, then every active
    one (and `keep`, the division the record has, if it has been retired)."""
    return choices([("", empty_label), *((d.name, d.name) for d in _offered(keep))])
