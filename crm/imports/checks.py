"""Checking the rows of a batch: what each will do, and every problem of each, as the services would.

The rows are checked a slice at a time. What the database holds for a slice is fetched for all of
its rows at once — firms by credit code, firms by folded name and former names, enterprises and
owners of leads, leads of the same title, the firms events met and events of the same title and
day — in a few queries; districts, divisions and catalogue codes are resolved once per distinct
value (crm.core.memo). The values themselves go through the services'
own validate(), so an import says exactly what a form or the API would. Nothing is written here:
each RowResult carries the closure that will write it, and the caller decides.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from sqlalchemy import literal, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import DISTRICT, User
from crm.auth.permissions import scoped
from crm.core.validation import problems_of
from crm.enterprises.credit_code import looks_like_credit_code, normalise_credit_code
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    EnterpriseData,
    EnterpriseError,
    apply_values,
    current_values,
    folded_name,
    validate,
)
from crm.events.models import Event
from crm.events.service import MAX_MET, EventError, create_event, link_enterprise, same_events
from crm.events.service import validate as validate_event
from crm.extensions import db
from crm.imports.fields import FIELDS
from crm.imports.models import ImportBatch
from crm.leads.models import LOST, Lead
from crm.leads.service import LEAD_ASSIGNERS, LEAD_WORKERS, LeadError, create_lead
from crm.leads.service import validate as validate_lead
from crm.places.service import district_id_of

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

    def duplicate(self, result: RowResult, existing_id: int, note: str) -> None:
        """A row like a record on file: said so, and skipped unless the batch asks to create such
        rows anyway."""
        result.existing_id = existing_id
        result.action = "duplicate"
        result.notes = [note, "将仍然新建" if self.batch.create_duplicates else "将跳过"]
        if not self.batch.create_duplicates:
            result.apply = None


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
            result.apply = lambda data=data: _new_enterprise(data)
            self.duplicate(result, first, f"名称与已有企业“{matches[first]}”（编号 {first}）相同")


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
            self.duplicate(result, lead.id, f"该企业已有同名线索（编号 {lead.id}，{lead.stage}）")
        return results


# ---- Events --------------------------------------------------------------------------------------

# The enterprises of one cell: 、 ； ; (half width too, as NFKC folds the full-width one) or line breaks.
MET_SEPARATORS = re.compile(r"[、；;\r\n]+")
ORGANISER_LABEL = "主办单位（主办处室或主办区县）"


def met_names(cell: str) -> list[str]:
    """The enterprises a 接洽企业 cell names, in order, each once."""
    names: list[str] = []
    for part in MET_SEPARATORS.split(cell or ""):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


class EventRows(RowChecks):
    """Event rows: every field through the events service's own validate (a district user's rows
    are their district's events, and may name no other organiser); the enterprises met, by credit
    code or name, must be on file and visible to the importer; an event on file with the same
    title, start date and organiser is a probable duplicate, skipped unless the batch says to
    create it anyway; the same event twice in the file is an error."""

    def label(self, field_key: str) -> str:
        if field_key == "organiser":
            return ORGANISER_LABEL
        return super().label(field_key)

    def _firms(self, cells: list[dict]) -> tuple[dict[str, Enterprise], dict[str, list[Enterprise]]]:
        """The visible firms (not merged) the rows name: by credit code, and by folded name."""
        codes, names = set(), set()
        for values in cells:
            for name in met_names(values.get("enterprises", "")):
                code = normalise_credit_code(name)
                if looks_like_credit_code(code):
                    codes.add(code)
                elif folded_name(name):
                    names.add(folded_name(name))
        visible = scoped(select(Enterprise), Enterprise, self.user).where(Enterprise.merged_into_id.is_(None))
        by_code: dict[str, Enterprise] = {}
        for part in _chunks(codes):
            by_code.update(
                (firm.credit_code, firm)
                for firm in db.session.scalars(visible.where(Enterprise.credit_code.in_(part)))
            )
        by_name: dict[str, list[Enterprise]] = {}
        for part in _chunks(names):
            stmt = visible.where(Enterprise.name_key.in_(part)).order_by(Enterprise.id)
            for firm in db.session.scalars(stmt):
                by_name.setdefault(firm.name_key, []).append(firm)
        return by_code, by_name

    def _met(self, cell: str, by_code, by_name) -> tuple[list[Enterprise], list[str]]:
        """The firms a cell names, and a problem for each it names that cannot be linked."""
        firms: list[Enterprise] = []
        problems: list[str] = []
        for name in met_names(cell):
            code = normalise_credit_code(name)
            if looks_like_credit_code(code):
                found = [by_code[code]] if code in by_code else []
                if not found:
                    problems.append(f"企业库中没有统一社会信用代码为 {code} 的企业，请先导入企业")
                    continue
            else:
                found = by_name.get(folded_name(name), [])
                if not found:
                    problems.append(f"企业库中没有“{name[:64]}”，请先导入或新建该企业")
                    continue
                if len(found) > 1:
                    problems.append(f"“{name[:64]}”对应多家企业，请填写统一社会信用代码")
                    continue
            if found[0] not in firms:
                firms.append(found[0])
        if len(firms) > MAX_MET:
            problems.append(f"一次活动最多登记 {MAX_MET} 家接洽企业")
        return firms, problems

    def _organiser_problem(self, values: dict) -> tuple[str, str] | None:
        """A district user's row naming another organiser than their own district."""
        if self.user.role != DISTRICT:
            return None
        if values.get("division", "").strip():
            return self.label("division"), "区县专员导入的活动由本区县主办，请不要填写主办处室"
        named = values.get("district", "").strip()
        if named:
            try:
                district_id = district_id_of(named, EventError)
            except EventError as error:
                return self.label("district"), str(error)
            if district_id != self.user.district_id:
                own = self.user.district.name
                return self.label("district"), f"区县专员只能导入本区县（{own}）主办的活动"
        return None

    def check(self, rows: list[list[str]], seen: dict[str, int]) -> list[RowResult]:
        cells = [self.values(row) for row in rows]
        by_code, by_name = self._firms(cells)
        results: list[RowResult] = []
        ready: list[tuple[RowResult, dict, tuple, list[Enterprise]]] = []
        for row, values in zip(rows, cells, strict=True):
            result = RowResult(number=int(row[0]), action="error", title=values.get("title", ""))
            results.append(result)
            problems: list[tuple[str, str]] = []
            data = None
            try:
                data = validate_event(values, self.user)
            except EventError as error:
                problems += self.problems(error, "title")
            organiser = self._organiser_problem(values)
            if organiser:
                problems.append(organiser)
            firms, unknown = self._met(values.get("enterprises", ""), by_code, by_name)
            problems += [(self.label("enterprises"), message) for message in unknown]
            if problems or data is None:
                result.problems = problems
                continue
            result.title = f"{data.held_on.isoformat()} {data.title}"
            key = (data.title, data.held_on, data.division_id, data.district_id)
            earlier = _seen_before(seen, ["event:" + "|".join(map(str, key))], result.number)
            if earlier is not None:
                result.problems = [
                    (
                        self.label("title"),
                        f"与第 {earlier} 行是同一活动（名称、开始日期和主办单位相同），请合并为一行",
                    )
                ]
                continue
            ready.append((result, values, key, firms))
        same = same_events({key for _, _, key, _ in ready})
        by = self.user
        for result, values, key, firms in ready:
            result.apply = lambda v=values, f=firms: _new_event(v, f, by)
            result.notes = [
                f"接洽企业 {len(firms)} 家：{'、'.join(f.name for f in firms)}" if firms else "无接洽企业"
            ]
            existing = same.get(key)
            if existing is None:
                result.action = "create"
                continue
            self.duplicate(
                result, existing.id, f"疑似重复：已有同名、同日、同主办单位的活动（编号 {existing.id}）"
            )
        return results


def _new_event(values: dict, firms: list[Enterprise], by: User) -> Event:
    event = create_event(values, by)
    for firm in firms:
        link_enterprise(event, firm)
    return event


CHECKS: dict[str, type[RowChecks]] = {"enterprises": EnterpriseRows, "leads": LeadRows, "events": EventRows}


def checks_for(batch: ImportBatch, user: User) -> RowChecks:
    """The checks of the batch's kind of row."""
    return CHECKS[batch.kind](batch, user)
