"""Verbs on enterprises: validate, find duplicates, create, update, add contacts.

Every caller — page, API, import, CLI — goes through these, so the rules are the same everywhere.
"""

import re
from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import ADMIN, MANAGER, OFFICER
from crm.auth.permissions import scoped
from crm.core.amounts import parse_whole
from crm.core.memo import remembered
from crm.core.text import EMAIL, clean_text, required_text
from crm.core.timeutil import parse_day, today_local
from crm.core.transaction import Conflict, Refusal, serialise
from crm.core.validation import Problems
from crm.enterprises.credit_code import credit_code_error, normalise_credit_code
from crm.enterprises.models import EXCHANGES, HONOURS, KINDS, OWNERSHIPS, Contact, Enterprise
from crm.enterprises.names import name_key
from crm.extensions import db
from crm.industry.catalogue import get_entry
from crm.matching.terms import normalise
from crm.places.service import all_districts, district_id_of

EDITORS = (OFFICER, MANAGER, ADMIN)  # who creates, edits and merges enterprises
MAX_REVENUE_WAN = 1_000_000_000  # 10 万亿元: larger is a typing error
PHONE = re.compile(r"^[0-9+\-() 转]{5,32}$")


class EnterpriseError(Refusal):
    """Input that cannot be saved; the message says which field and why, in Chinese."""


class DuplicateWarning(EnterpriseError, Conflict):
    """The enterprise looks like one already on file; the caller may confirm and create it anyway."""

    def __init__(self, matches: list[Enterprise]):
        self.matches = matches
        names = "、".join(f"{e.name}（编号 {e.id}）" for e in matches[:5])
        super().__init__(f"可能与已有企业重复：{names}。请先核对；确认不是同一企业后可勾选“仍然创建”。")


class CreditCodeTaken(EnterpriseError, Conflict):
    """The credit code belongs to a firm on file (the API answers 409, as for any unique key)."""


class VersionConflict(EnterpriseError, Conflict):
    """Someone saved the enterprise after this editor opened it."""

    def __init__(self):
        super().__init__(
            "该企业信息在您编辑期间已被他人修改，您的修改尚未保存。请刷新页面查看最新内容后重新修改。"
        )


@dataclass
class EnterpriseData:
    """Validated values of an enterprise, from a form, an API body or an import row."""

    name: str
    kind: str = "target"
    credit_code: str | None = None
    former_names: list[str] = field(default_factory=list)
    ownership: str | None = None
    hq_province: str | None = None
    hq_city: str | None = None
    district_id: int | None = None
    listed_exchange: str | None = None
    listed_code: str | None = None
    revenue_wan: int | None = None
    honours: list[str] = field(default_factory=list)
    products: str = ""
    description: str = ""
    legal_representative: str | None = None
    registered_capital: str | None = None
    established_on: date | None = None
    business_scope: str = ""
    catalogue_codes: list[str] = field(default_factory=list)


def _optional(value, label: str, max_length: int) -> str | None:
    return clean_text(value, label, max_length, EnterpriseError) or None


def _one_of(value, allowed, label: str) -> str | None:
    value = (value or "").strip() if isinstance(value, str) else value
    if not value:
        return None
    if value not in allowed:
        raise EnterpriseError(f"{label}“{value}”无效，可选：{'、'.join(allowed)}")
    return value


def _text_list(values, label: str) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[,，、;；\n]+", values)
    items = [clean_text(str(v), label, 128, EnterpriseError) for v in values or []]
    return list(dict.fromkeys(v for v in items if v))


def validate(raw: dict) -> EnterpriseData:
    """Check every field. Problems are raised as one EnterpriseError: its message is the first,
    its `.problems` lists each (field, message)."""
    problems = Problems(EnterpriseError)
    values: dict = {}
    with problems.field("name"):
        values["name"] = required_text(raw.get("name"), "企业名称", 128, EnterpriseError)
    with problems.field("kind"):
        values["kind"] = raw.get("kind") or "target"
        if values["kind"] not in KINDS:
            raise EnterpriseError(
                f"企业类别“{str(values['kind'])[:16]}”无效，可选：target（招商目标）、local（本地培育库）"
            )
    with problems.field("credit_code"):
        values["credit_code"] = normalise_credit_code(raw.get("credit_code")) or None
        if values["credit_code"] and (error := credit_code_error(values["credit_code"])):
            raise EnterpriseError(error)
    with problems.field("district"):
        values["district_id"] = district_id_of(raw.get("district"), EnterpriseError)
        if values.get("kind") == "local" and values["district_id"] is None:
            raise EnterpriseError("本地培育库企业须填写所在区县")
    with problems.field("honours"):
        values["honours"] = _text_list(raw.get("honours"), "荣誉资质")
        unknown = [h for h in values["honours"] if h not in HONOURS]
        if unknown:
            raise EnterpriseError(f"荣誉资质“{'、'.join(unknown)}”无效，可选：{'、'.join(HONOURS)}")
    with problems.field("listed_exchange"):
        values["listed_exchange"] = _one_of(raw.get("listed_exchange"), EXCHANGES, "上市地")
    with problems.field("listed_code"):
        values["listed_code"] = _optional(raw.get("listed_code"), "股票代码", 16)
        if (
            values["listed_code"]
            and not values.get("listed_exchange")
            and "listed_exchange" not in dict(problems.items)
        ):
            raise EnterpriseError("填写股票代码时请同时选择上市地")
    with problems.field("established_on"):
        values["established_on"] = parse_day(raw.get("established_on"), "成立日期", EnterpriseError)
        if values["established_on"] and values["established_on"] > today_local():
            raise EnterpriseError("成立日期不能晚于今天")
    with problems.field("catalogue_codes"):
        codes = _text_list(raw.get("catalogue_codes"), "目录条目")
        for code_text in codes:
            if get_entry(code_text) is None:
                raise EnterpriseError(f"未知的目录条目代码“{code_text}”")
        values["catalogue_codes"] = sorted({c.upper() for c in codes})
    with problems.field("former_names"):
        values["former_names"] = [
            n for n in _text_list(raw.get("former_names"), "曾用名") if n != values.get("name")
        ]
    with problems.field("ownership"):
        values["ownership"] = _one_of(raw.get("ownership"), OWNERSHIPS, "所有制")
    with problems.field("revenue_wan"):
        values["revenue_wan"] = parse_whole(
            raw.get("revenue_wan"), "年营业收入（万元）", EnterpriseError, MAX_REVENUE_WAN
        )
    for key, label, max_length in TEXT_FIELDS:
        with problems.field(key):
            text = clean_text(raw.get(key), label, max_length, EnterpriseError)
            values[key] = text if key in ("products", "description", "business_scope") else text or None
    problems.raise_first()
    return EnterpriseData(**values)


# Free-text fields: (field, label, longest length).
TEXT_FIELDS = (
    ("hq_province", "总部省份", 16),
    ("hq_city", "总部城市", 32),
    ("products", "主要产品", 4000),
    ("description", "简介", 4000),
    ("legal_representative", "法定代表人", 32),
    ("registered_capital", "注册资本", 64),
    ("business_scope", "经营范围", 4000),
)


def current_values(enterprise: Enterprise) -> dict:
    """An enterprise's editable values in the shape validate() takes: what a partial update (API
    PATCH, an import row that fills some columns, a merge) starts from."""
    return {
        "name": enterprise.name,
        "kind": enterprise.kind,
        "credit_code": enterprise.credit_code,
        "former_names": list(enterprise.former_names),
        "ownership": enterprise.ownership,
        "hq_province": enterprise.hq_province,
        "hq_city": enterprise.hq_city,
        "district": enterprise.district.name if enterprise.district else None,
        "listed_exchange": enterprise.listed_exchange,
        "listed_code": enterprise.listed_code,
        "revenue_wan": enterprise.revenue_wan,
        "honours": list(enterprise.honours),
        "products": enterprise.products,
        "description": enterprise.description,
        "legal_representative": enterprise.legal_representative,
        "registered_capital": enterprise.registered_capital,
        "established_on": enterprise.established_on.isoformat() if enterprise.established_on else None,
        "business_scope": enterprise.business_scope,
        "catalogue_codes": [c.code for c in enterprise.catalogue_entries],
    }


@remembered
def _district_names() -> tuple[str, ...]:
    names = []
    for district in all_districts():
        names += [district.name, *district.aliases]
    return tuple(names)


def name_lock(name: str) -> str:
    """The lock (crm.core.transaction.serialise) that one firm's creation under this name takes."""
    return f"enterprise-name:{folded_name(name)}"


@remembered
def folded_name(name: str) -> str:
    """The name as duplicate detection compares it (see crm.enterprises.names.name_key)."""
    return name_key(name, _district_names())


def find_duplicates(
    name: str, credit_code: str | None = None, former_names=(), exclude_id: int | None = None
):
    """Enterprises on file that are probably the same firm: same credit code, or same folded name
    (the name or a former name on either side)."""
    districts = _district_names()
    keys = {name_key(n, districts) for n in [name, *former_names] if n}
    clauses = [Enterprise.alias_keys.contains(f"|{key}|", autoescape=True) for key in keys if key]
    if credit_code:
        clauses.append(Enterprise.credit_code == credit_code)
    if not clauses:
        return []
    stmt = (
        select(Enterprise).where(or_(*clauses), Enterprise.merged_into_id.is_(None)).order_by(Enterprise.id)
    )
    if exclude_id:
        stmt = stmt.where(Enterprise.id != exclude_id)
    return list(db.session.scalars(stmt))


def apply_values(enterprise: Enterprise, data: EnterpriseData, new: bool = False) -> Enterprise:
    """Set a firm's values and its duplicate and search keys from validated data: the one place
    a firm's derived columns are written (forms, the API, imports, merges). A `new` firm gets every
    column set, even to None, so that an import's firms share one INSERT statement (the ORM groups
    rows by the columns they set). Inside remembered_lookups (an import's chunk) the districts,
    entries and folded names come from memory."""
    # Every value but the catalogue codes, which become the entries relationship below.
    for key in (f.name for f in fields(EnterpriseData) if f.name != "catalogue_codes"):
        if new or getattr(enterprise, key) != getattr(data, key):
            setattr(enterprise, key, getattr(data, key))
    keys = list(dict.fromkeys(folded_name(n) for n in [data.name, *data.former_names]))
    enterprise.name_key = keys[0]
    enterprise.alias_keys = "|" + "|".join(keys) + "|"
    entries = [get_entry(code) for code in data.catalogue_codes]
    if new or [e.id for e in enterprise.catalogue_entries] != [e.id for e in entries]:
        enterprise.catalogue_entries = entries
    enterprise.search_text = " ".join(
        normalise(part) for part in [data.name, *data.former_names, data.credit_code or "", data.products]
    )
    return enterprise


def _check_credit_code_free(code: str | None, exclude_id: int | None = None) -> None:
    if not code:
        return
    stmt = select(Enterprise).where(Enterprise.credit_code == code)
    if exclude_id:
        stmt = stmt.where(Enterprise.id != exclude_id)
    holder = db.session.scalar(stmt)
    if holder is not None:
        raise CreditCodeTaken(
            f"统一社会信用代码 {code} 已属于“{holder.name}”（编号 {holder.id}），不能重复登记"
        )


def create_enterprise(raw: dict, confirm_duplicate: bool = False) -> Enterprise:
    """A new enterprise; a probable duplicate is refused unless the caller confirms."""
    data = validate(raw)
    # Twenty clicks on 保存 at once make one firm: the checks below run one request at a time per name.
    serialise(name_lock(data.name))
    _check_credit_code_free(data.credit_code)
    if not confirm_duplicate:
        matches = find_duplicates(data.name, data.credit_code, data.former_names)
        if matches:
            raise DuplicateWarning(matches)
    enterprise = Enterprise(version=1)
    apply_values(enterprise, data)
    db.session.add(enterprise)
    db.session.flush()
    return enterprise


def update_enterprise(enterprise: Enterprise, raw: dict, seen_version: int) -> Enterprise:
    """Save an edit; refused if someone saved the enterprise since the editor opened it."""
    if enterprise.merged_into_id:
        raise EnterpriseError(f"该企业已并入编号 {enterprise.merged_into_id} 的企业，请修改保留的那一条")
    if seen_version != enterprise.version:
        raise VersionConflict()
    data = validate(raw)
    _check_credit_code_free(data.credit_code, exclude_id=enterprise.id)
    with db.session.no_autoflush:
        apply_values(enterprise, data)
    try:
        db.session.flush()
    except StaleDataError as error:
        raise VersionConflict() from error
    return enterprise


def add_contact(enterprise: Enterprise, raw: dict) -> Contact:
    """A contact person of the enterprise."""
    problems = Problems(EnterpriseError)
    with problems.field("name"):
        name = clean_text(raw.get("name"), "联系人姓名", 32, EnterpriseError)
        if not name:
            raise EnterpriseError("请填写联系人姓名")
    with problems.field("title"):
        title = clean_text(raw.get("title"), "职务", 64, EnterpriseError)
    with problems.field("phone"):
        phone = clean_text(raw.get("phone"), "电话", 32, EnterpriseError)
        if phone and not PHONE.match(phone):
            raise EnterpriseError(f"电话“{phone}”格式不正确")
    with problems.field("email"):
        email = clean_text(raw.get("email"), "邮箱", 128, EnterpriseError)
        if email and not EMAIL.match(email):
            raise EnterpriseError(f"邮箱“{email}”格式不正确")
    problems.raise_first()
    contact = Contact(enterprise=enterprise, name=name, title=title, phone=phone, email=email, active=True)
    db.session.add(contact)
    db.session.flush()
    return contact


# What a page of firms shows beside each firm, loaded with the page (not one query per row).
LISTED = (selectinload(Enterprise.catalogue_entries), selectinload(Enterprise.district))


def visible_enterprises(q: str = ""):
    """SELECT of the enterprises the current user may see (merged ones hidden), matching `q` if given.

    The one query behind the enterprise list, its export and its API.
    """
    stmt = scoped(select(Enterprise), Enterprise).where(Enterprise.merged_into_id.is_(None))
    needle = normalise(q[:64])
    if needle:
        stmt = stmt.where(
            or_(
                Enterprise.search_text.contains(needle, autoescape=True),
                Enterprise.name.contains(needle, autoescape=True),
            )
        )
    return stmt


def refresh_keys(enterprise: Enterprise) -> None:
    """Recompute the duplicate-detection and search keys (and normalise the values) after the
    enterprise's values were changed directly, as a merge does; raises EnterpriseError if the
    result would not pass validate()."""
    apply_values(enterprise, validate(current_values(enterprise)))
