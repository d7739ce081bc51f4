"""Checking the rows of a batch: what each will do, and every problem of each, as the services would.

The rows are checked a slice at a time. What the database holds for a slice is fetched for all of
its rows at once — firms by credit code, firms by folded name and former names, enterprises and
owners of leads, leads of the same title — in a few queries; districts and catalogue codes are
resolved once per distinct value (crm.core.memo). The values themselves go through the services'
own validate(), so an import says exactly what a form or the API would. Nothing is written here:
each RowResult carries the closure that will write it, and the caller decides.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from sqlalchemy import literal, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.auth.permissions import scoped
from crm.core.validation import problems_of
from crm.enterprises.credit_code import normalise_credit_code
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    EnterpriseData,
    EnterpriseError,
    apply_values,
    current_values,
    folded_name,
    validate,
)
from crm.extensions import db
from crm.imports.fields import FIELDS
from crm.imports.models import ImportBatch
from crm.leads.models import LOST, Lead
from crm.leads.service import LEAD_ASSIGNERS, LEAD_WORKERS, LeadError, create_lead
from crm.leads.service import validate as validate_lead

# What a row will do when the batch is imported.
ACTIONS = {
    "create": "新建",
    "update": "更新",
    "unchanged": "无变化",
    "duplicate": "疑似重复",
    "error": "有错误",
}
# Values of one IN (…) list: well within SQLite's and PostgreSQL's limits on bound parameters.
LOOKUP_CHUNK = 1000


@dataclass
class RowResult:
    number: int  # the row's number in the file
    action: str
    title: str  # what the row is about (the enterprise or lead name)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    notes: list[str] = field(default_factory=list)
    existing_id: int | None = None  # the enterprise or lead on file the row updates or resembles
    apply: Callable[[], object] | None = None  # writes the row (a lead through create_lead, which flushes)

    @property
    def action_label(self) -> str:
        return ACTIONS[self.action]

    def cached(self) -> list:
        """The row's outcome as JSON keeps it on the batch (without `apply`)."""
        return [self.number, self.action, self.title, self.existing_id, self.problems, self.notes]

    @classmethod
    def from_cache(cls, item: list) -> "RowResult":
        number, action, title, existing_id, problems, notes = item
        return cls(number, action, title, [tuple(p) for p in problems], list(notes), existing_id)


def missing_fields(batch: ImportBatch) -> list[str]:
    """The labels of required fields no column is mapped to."""
    mapped = set(batch.mapping.values())
    missing = [f.label for f in FIELDS[batch.kind] if f.required and f.key not in mapped]
    if batch.kind == "leads" and not {"enterprise_name", "credit_code"} & mapped:
        missing.append("企业名称或统一社会信用代码")
    return missing


def column_label(batch: ImportBatch, field_key: str) -> str:
    """How a message names the column of a field: its header and letter, 企业名称（A 列）."""
    for column, key in batch.mapping.items():
        if key == field_key:
            return f"{batch.headers[int(column)]}（{get_column_letter(int(column) + 1)} 列）"
    return next((f.label for f in FIELDS[batch.kind] if f.key == field_key), field_key)


def _chunks(values: Iterable) -> Iterable[list]:
    ordered = sorted(values)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        yield ordered[start : start + LOOKUP_CHUNK]


def _seen_before(seen: dict[str, int], keys: list[str], number: int) -> int | None:
    """The earlier row of this file with one of `keys`; records this row's keys otherwise."""
    for key in keys:
        if key in seen:
            return seen[key]
    for key in keys:
        seen[key] = number
    return None


class RowChecks:
    """The checks of one kind of row, for one batch and the user importing it."""

    def __init__(self, batch: ImportBatch, user: User):
        self.batch = batch
        self.user = user
        self.columns = [(int(column), key) for column, key in batch.mapping.items()]
        self.labels: dict[str, str] = {}

    def values(self, row: list[str]) -> dict[str, str]:
        """The row's non-blank cells by field: a blank cell leaves the value on file alone."""
        cells = row[1:]
        return {key: cells[column] for column, key in self.columns if cells[column]}

    def label(self, field_key: str) -> str:
        if field_key not in self.labels:
            self.labels[field_key] = column_label(self.batch, field_key)
        return self.labels[field_key]

    def problems(self, error: Exception, default_field: str) -> list[tuple[str, str]]:
        return [(self.label(key), message) for key, message in problems_of(error, default_field)]

    def check(self, rows: list[list[str]], seen: dict[str, int]) -> list[RowResult]:
        raise NotImplementedError


# ---- Enterprises ---------------------------------------------------------------------------------


def _kind(text: str) -> str:
    """招商目标 / 本地培育库 (or the codes themselves) as the stored code; anything else as typed."""
    return {"招商目标": "target", "本地培育库": "local", "培育库": "local"}.get(text.strip(), text.strip())


def _changed_fields(existing: Enterprise, data: EnterpriseData, values: dict) -> list[str]:
    """The labels of the fields the row fills that differ from what is on file."""
    try:
        before = vars(validate(current_values(existing)))
    except EnterpriseError:  # a record that predates a rule: treat every filled field as new
        before = {}
    after = vars(data)
    attribute = {"district": "district_id"}
    return [
        f.label
        for f in FIELDS["enterprises"]
        if f.key in values and before.get(attribute.get(f.key, f.key)) != after[attribute.get(f.key, f.key)]
    ]


def _new_enterprise(data: EnterpriseData) -> Enterprise:
    enterprise = apply_values(Enterprise(version=1), data, new=True)
    db.session.add(enterprise)
    return enterprise


class EnterpriseRows(RowChecks):
    """Enterprise rows: a credit code on file updates that firm (a merged one: the firm it went
    into); a name on file (folded, current or former, either side) is a probable duplicate,
    skipped unless the batch says to create it anyway; anything else is created."""

    def __init__(self, batch: ImportBatch, user: User):
        super().__init__(batch, user)
        self._former: dict[str, dict[int, str]] | None = None

    def _by_code(self, codes: set[str]) -> tuple[dict[str, Enterprise], dict[int, Enterprise]]:
        """The firms holding these codes (merged ones too) by code, and the firms those merged
        ones went into by id, with what current_values reads."""
        found: dict[str, Enterprise] = {}
        loads = (joinedload(Enterprise.district), selectinload(Enterprise.catalogue_entries))
        for part in _chunks(codes):
            stmt = scoped(select(Enterprise), Enterprise, self.user).where(Enterprise.credit_code.in_(part))
            for firm in db.session.scalars(stmt.options(*loads)):
                found[firm.credit_code] = firm
        merged_into = {firm.merged_into_id for firm in found.values() if firm.merged_into_id}
        kept: dict[int, Enterprise] = {}
        for part in _chunks(merged_into):
            for firm in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(part)).options(*loads)):
                kept[firm.id] = firm
        return found, kept

    def _former_names(self) -> dict[str, dict[int, str]]:
        """Folded former names of the firms on file that have one → {firm id: name}. Fetched once
        per check: a former name is matched by a firm's alias_keys, which no index serves, and the
        firms with former names are few beside those without."""
        if self._former is None:
            self._former = {}
            only_current = literal("|") + Enterprise.name_key + literal("|")
            stmt = select(Enterprise.id, Enterprise.name, Enterprise.alias_keys).where(
                Enterprise.merged_into_id.is_(None), Enterprise.alias_keys != only_current
            )
            for firm_id, name, alias_keys in db.session.execute(stmt):
                for key in alias_keys.strip("|").split("|")[1:]:
                    self._former.setdefault(key, {})[firm_id] = name
        return self._former

    def _by_name(self, keys: set[str]) -> dict[str, dict[int, str]]:
        """Firms on file (not merged) whose current or former name folds to one of `keys`: what
        find_duplicates matches, for many names in a few queries."""
        found: dict[str, dict[int, str]] = {}
        for part in _chunks(keys):
            stmt = select(Enterprise.id, Enterprise.name, Enterprise.alias_keys).where(
                Enterprise.name_key.in_(part), Enterprise.merged_into_id.is_(None)
            )
            for firm_id, name, alias_keys in db.session.execute(stmt):
                for key in alias_keys.strip("|").split("|"):
                    if key in keys:
                        found.setdefault(key, {})[firm_id] = name
        former = self._former_names()
        for key in keys & former.keys():
            found.setdefault(key, {}).update(former[key])
        return found

    def check(self, rows: list[list[str]], seen: dict[str, int]) -> list[RowResult]:
        cells = [self.values(row) for row in rows]
        holders, kept = self._by_code({normalise_credit_code(v.get("credit_code")) for v in cells} - {""})
        results: list[RowResult] = []
        to_create: list[tuple[RowResult, EnterpriseData, list[str]]] = []
        for row, values in zip(rows, cells, strict=True):
            result = RowResult(number=int(row[0]), action="error", title=values.get("name", ""))
            results.append(result)
            code = normalise_credit_code(values.get("credit_code")) or None
            holder = holders.get(code) if code else None
            existing = holder
            if holder is not None and holder.merged_into_id:
                existing = kept[holder.merged_into_id]
            raw = {**current_values(existing), **values} if existing else dict(values)
            if "kind" in values:
                raw["kind"] = _kind(values["kind"])
            try:
                data = validate(raw)
            except EnterpriseError as error:
                result.problems = self.problems(error, "name")
                continue
            result.title = data.name
            keys = [f"code:{data.credit_code}"] if data.credit_code else []
            keys.append(f"name:{folded_name(data.name)}")
            earlier = _seen_before(seen, keys, result.number)
            if earlier is not None:
                result.problems = [(self.label("name"), f"与第 {earlier} 行是同一企业，请合并为一行")]
                continue
            if existing is None:
                names = [folded_name(n) for n in [data.name, *data.former_names] if n]
                to_create.append((result, data, [key for key in names if key]))
                continue
            self._update(result, existing, holder, data, values)
        self._create_or_flag(to_create)
        return results

    def _update(self, result: RowResult, existing: Enterprise, holder: Enterprise, data, values) -> None:
        if existing.merged_into_id:  # a chain of merges: as update_enterprise refuses it
            result.problems = [
                (
                    self.label("credit_code"),
                    f"该企业已并入编号 {existing.merged_into_id} 的企业，请修改保留的那一条",
                )
            ]
            return
        if holder is not existing and data.credit_code == holder.credit_code:
            # The code stays with the merged firm: the firm it went into cannot take it as well.
            result.problems = [
                (
                    self.label("credit_code"),
                    f"统一社会信用代码 {data.credit_code} 已属于“{holder.name}”（编号 {holder.id}），"
                    "不能重复登记",
                )
            ]
            return
        result.existing_id = existing.id
        changed = _changed_fields(existing, data, values)
        result.action = "update" if changed else "unchanged"
        result.notes = [f"更新：{'、'.join(changed)}"] if changed else ["文件中的值与企业库一致"]
        if changed:
            result.apply = lambda: apply_values(existing, data)

    def _create_or_flag(self, rows: list[tuple[RowResult, EnterpriseData, list[str]]]) -> None:
        on_file = self._by_name({key for _, _, keys in rows for key in keys})
        for result, data, keys in rows:
            matches: dict[int, str] = {}
            for key in keys:
                matches.update(on_file.get(key, {}))
            if not matches:
                result.action = "create"
                result.apply = lambda data=data: _new_enterprise(data)
                continue
            first = min(matches)  # as find_duplicates orders them
            result.existing_id = first
            result.action = "duplicate"
            result.notes = [f"名称与已有企业“{matches[first]}”（编号 {first}）相同"]
            if self.batch.create_duplicates:
                result.notes.append("将仍然新建")
                result.apply = lambda data=data: _new_enterprise(data)
            else:
                result.notes.append("将跳过")


# ---- Leads ---------------------------------------------------------------------------------------


class LeadRows(RowChecks):
    """Lead rows: the enterprise (by credit code, else by folded name) must be on file and visible;
    the owner is the importer unless a manager names another; a lead of the same title on the
    same firm (not lost) is a probable duplicate."""

    def __init__(self, batch: ImportBatch, user: User):
        super().__init__(batch, user)
        self._owners: list[User] | None = None

    def _visible(self):
        return scoped(select(Enterprise), Enterprise, self.user).where(Enterprise.merged_into_id.is_(None))

    def _firms(self, cells: list[dict]) -> tuple[dict[str, Enterprise], dict[str, list[Enterprise]]]:
        codes, names = set(), set()
        for values in cells:
            code = normalise_credit_code(values.get("credit_code"))
            if code:
                codes.add(code)
            else:
                names.add(folded_name(values.get("enterprise_name", "")))
        by_code: dict[str, Enterprise] = {}
        for part in _chunks(codes):
            by_code.update(
                (f.credit_code, f)
                for f in db.session.scalars(self._visible().where(Enterprise.credit_code.in_(part)))
            )
        by_name: dict[str, list[Enterprise]] = {}
        for part in _chunks(names):
            stmt = self._visible().where(Enterprise.name_key.in_(part)).order_by(Enterprise.id)
            for firm in db.session.scalars(stmt):
                by_name.setdefault(firm.name_key, []).append(firm)
        return by_code, by_name

    def _enterprise(self, values: dict, by_code, by_name) -> Enterprise:
        code = normalise_credit_code(values.get("credit_code")) or None
        if code:
            found = by_code.get(code)
            if found is None:
                raise LeadError(f"企业库中没有统一社会信用代码为 {code[:18]} 的企业，请先导入企业")
            return found
        name = values.get("enterprise_name", "")
        found = by_name.get(folded_name(name), [])
        if not found:
            raise LeadError(f"企业库中没有“{name[:64]}”，请先导入或新建该企业")
        if len(found) > 1:
            raise LeadError(f"“{name[:64]}”对应多家企业，请填写统一社会信用代码")
        return found[0]

    def _owner(self, values: dict) -> User:
        name = values.get("owner", "").strip()
        user = self.user
        if not name or name in (user.username, user.display_name):
            return user
        if user.role not in LEAD_ASSIGNERS:
            raise LeadError("只有处室负责人可以把线索指定给其他负责人；招商专员导入的线索负责人为本人")
        if self._owners is None:  # the people who may own leads: a few hundred at most, read once
            self._owners = list(
                db.session.scalars(select(User).where(User.role.in_(LEAD_WORKERS), User.active.is_(True)))
            )
        # Usernames are ASCII letters, digits and Chinese: lower() here is SQL's lower() on them.
        matches = [u for u in self._owners if u.username.lower() == name.lower() or u.display_name == name]
        if len(matches) != 1:
            raise LeadError(
                f"负责人“{name[:32]}”不是在职的招商专员或处室负责人"
                if not matches
                else f"姓名“{name}”对应多个用户，请填写用户名"
            )
        return matches[0]

    def _same_leads(self, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], Lead]:
        """Leads on file (not lost) with one of these (enterprise id, title)."""
        found: dict[tuple[int, str], Lead] = {}
        firm_ids = {firm_id for firm_id, _ in pairs}
        titles = {title for _, title in pairs}
        for part in _chunks(firm_ids):
            for title_part in _chunks(titles):
                stmt = (
                    select(Lead)
                    .where(Lead.enterprise_id.in_(part), Lead.title.in_(title_part), Lead.stage != LOST)
                    .order_by(Lead.id)
                )
                for lead in db.session.scalars(stmt):
                    found.setdefault((lead.enterprise_id, lead.title), lead)
        return found

    def check(self, rows: list[list[str]], seen: dict[str, int]) -> list[RowResult]:
        cells = [self.values(row) for row in rows]
        by_code, by_name = self._firms(cells)
        results: list[RowResult] = []
        ready: list[tuple[RowResult, Enterprise, User, dict]] = []
        for row, values in zip(rows, cells, strict=True):
            result = RowResult(number=int(row[0]), action="error", title=values.get("title", ""))
            results.append(result)
            problems: list[tuple[str, str]] = []
            enterprise = owner = None
            try:
                enterprise = self._enterprise(values, by_code, by_name)
            except LeadError as error:
                column = "credit_code" if values.get("credit_code") else "enterprise_name"
                problems.append((self.label(column), str(error)))
            try:
                owner = self._owner(values)
            except LeadError as error:
                problems.append((self.label("owner"), str(error)))
            try:
                validate_lead(values)
            except LeadError as error:
                problems += self.problems(error, "title")
            if problems:
                result.problems = problems
                continue
            title = values["title"].strip()
            result.title = f"{enterprise.name} · {title}"
            earlier = _seen_before(seen, [f"{enterprise.id}:{title}"], result.number)
            if earlier is not None:
                result.problems = [(self.label("title"), f"与第 {earlier} 行是同一条线索，请合并为一行")]
                continue
            ready.append((result, enterprise, owner, values))
        same = self._same_leads(
            {(enterprise.id, values["title"].strip()) for _, enterprise, _, values in ready}
        )
        by = self.user
        for result, enterprise, owner, values in ready:
            result.apply = lambda e=enterprise, v=values, o=owner: create_lead(e, v, o, by=by)
            lead = same.get((enterprise.id, values["title"].strip()))
            if lead is None:
                result.action = "create"
                continue
            result.existing_id = lead.id
            result.action = "duplicate"
            result.notes = [
                f"该企业已有同名线索（编号 {lead.id}，{lead.stage}）",
                "将仍然新建" if self.batch.create_duplicates else "将跳过",
            ]
            if not self.batch.create_duplicates:
                result.apply = None
        return results


CHECKS: dict[str, type[RowChecks]] = {"enterprises": EnterpriseRows, "leads": LeadRows}


def checks_for(batch: ImportBatch, user: User) -> RowChecks:
    """The checks of the batch's kind of row."""
    return CHECKS[batch.kind](batch, user)
