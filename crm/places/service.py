"""Finding districts by the names people write (秀山县, 大渡口, 重庆高新区 …)."""

from sqlalchemy import select

from crm.core.forms import choices
from crm.core.memo import remembered
from crm.extensions import db
from crm.matching.terms import normalise
from crm.places.models import District


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
