"""Import verbs: start a batch from a file, map its columns, preview every row, apply it.

The preview and the apply run the same checks (the services of enterprises and leads); apply
refuses a batch that has any problem and writes every row in one transaction, so a file is either
imported whole or not at all."""

import unicodedata
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import User
from crm.auth.permissions import scoped
from crm.core.timeutil import utcnow
from crm.core.transaction import Conflict, Refusal
from crm.core.validation import problems_of
from crm.enterprises.credit_code import normalise_credit_code
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    EnterpriseError,
    create_enterprise,
    current_values,
    find_duplicates,
    folded_name,
    update_enterprise,
    validate,
)
from crm.extensions import db
from crm.imports.fields import FIELDS, guess_mapping
from crm.imports.models import ImportBatch
from crm.imports.reader import read_table
from crm.leads.models import LOST, Lead
from crm.leads.service import LEAD_ASSIGNERS, LEAD_WORKERS, LeadError, create_lead
from crm.leads.service import validate as validate_lead

# What a row will do when the batch is applied.
ACTIONS = {
    "create": "新建",
    "update": "更新",
    "unchanged": "无变化",
    "duplicate": "疑似重复",
    "error": "有错误",
}


class ImportProblem(Refusal):
    """A batch that cannot be mapped or applied; the message says why, in Chinese."""


class BatchChanged(ImportProblem, Conflict):
    """Another request (a second click, another tab) changed or imported the batch meanwhile: the
    version check of the batch's UPDATE refused this one, and the rollback undoes its rows."""

    def __init__(self):
        super().__init__("该批次刚被另一操作修改或处理（如重复点击确认），本次操作未生效，请查看最新状态。")


def _flush_batch() -> None:
    try:
        db.session.flush()
    except StaleDataError as error:
        raise BatchChanged() from error


@dataclass
class RowResult:
    number: int  # the row's number in the file
    action: str
    title: str  # what the row is about (the enterprise or lead name)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, message)
    notes: list[str] = field(default_factory=list)
    existing_id: int | None = None  # the enterprise or lead on file the row updates or resembles
    apply: object = None  # how to write the row, set by the checks

    @property
    def action_label(self) -> str:
        return ACTIONS[self.action]


@dataclass
class Preview:
    rows: list[RowResult]
    missing: list[str]  # required fields no column is mapped to

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def error_count(self) -> int:
        return self.count("error")

    @property
    def ready(self) -> bool:
        return not self.missing and not self.error_count


FILENAME_LENGTH = 128  # ImportBatch.filename


def clean_filename(filename: str | None) -> str:
    """An upload's name as kept on its batch: the last part of a path (old browsers send the whole
    one), without control or format characters (a NUL cannot be stored on PostgreSQL; a right-to-left
    override would disguise the extension; a lone surrogate cannot be encoded), within the column's
    length with the extension kept; Chinese and other letters as they are."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = " ".join(name.split())  # tabs and line breaks (controls too) become single spaces
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Cs")).strip()
    if len(name) > FILENAME_LENGTH:
        _, dot, extension = name.rpartition(".")
        tail = dot + extension if dot and len(extension) <= 10 else ""
        name = name[: FILENAME_LENGTH - len(tail) - 1] + "…" + tail
    return name or "未命名文件"


def start_import(kind: str, filename: str, data: bytes, user: User) -> ImportBatch:
    """A pending batch holding the file's cells, with the columns mapped from their headers."""
    if kind not in FIELDS:
        raise ImportProblem("请选择导入内容：企业或招商线索")
    filename = clean_filename(filename)
    table = read_table(filename, data, kind)
    batch = ImportBatch(
        kind=kind,
        filename=filename,
        created_by=user,
        headers=table.headers,
        header_row=table.header_row,
        rows=table.rows,
        mapping=guess_mapping(kind, table.headers),
        create_duplicates=False,
        status="pending",
        result={},
        version=1,
    )
    db.session.add(batch)
    db.session.flush()
    return batch


def set_mapping(batch: ImportBatch, mapping: dict[str, str], create_duplicates: bool) -> None:
    """Save which column fills which field; a field may be filled by one column only."""
    if batch.status != "pending":
        raise ImportProblem("该批次已处理，不能再修改")
    known = {f.key: f.label for f in FIELDS[batch.kind]}
    clean: dict[str, str] = {}
    for column, key in mapping.items():
        if not key:
            continue
        if key not in known or not column.isdigit() or int(column) >= len(batch.headers):
            raise ImportProblem("列对应关系无效，请重新选择")
        if key in clean.values():
            raise ImportProblem(f"“{known[key]}”只能对应一列，请检查列对应关系")
        clean[column] = key
    batch.mapping = clean
    batch.create_duplicates = bool(create_duplicates)
    _flush_batch()


def cancel_import(batch: ImportBatch) -> ImportBatch:
    """Drop a pending batch; the file's cells are not kept once the batch is dropped."""
    if batch.status != "pending":
        raise ImportProblem(f"该批次{batch.status_label}，不能取消")
    batch.status = "cancelled"
    batch.rows = []
    _flush_batch()
    return batch


def _column_label(batch: ImportBatch, field_key: str) -> str:
    for column, key in batch.mapping.items():
        if key == field_key:
            return f"{batch.headers[int(column)]}（{get_column_letter(int(column) + 1)} 列）"
    return next((f.label for f in FIELDS[batch.kind] if f.key == field_key), field_key)


def _values(batch: ImportBatch, row: list[str]) -> dict[str, str]:
    """The row's non-blank cells by field: a blank cell leaves the value on file alone."""
    cells = row[1:]
    return {key: cells[int(column)] for column, key in batch.mapping.items() if cells[int(column)]}


def preview(batch: ImportBatch, user: User) -> Preview:
    """Check every row as apply() would, writing nothing."""
    missing = [f.label for f in FIELDS[batch.kind] if f.required and f.key not in batch.mapping.values()]
    if batch.kind == "leads" and not {"enterprise_name", "credit_code"} & set(batch.mapping.values()):
        missing.append("企业名称或统一社会信用代码")
    check = _check_enterprise if batch.kind == "enterprises" else _check_lead
    seen: dict[str, int] = {}
    with db.session.no_autoflush:
        rows = [check(batch, row, user, seen) for row in batch.rows]
    return Preview(rows=rows, missing=missing)


def _problems(batch: ImportBatch, error: Exception, default_field: str) -> list[tuple[str, str]]:
    return [(_column_label(batch, key), message) for key, message in problems_of(error, default_field)]


def _seen_before(seen: dict[str, int], keys: list[str], number: int) -> int | None:
    """The earlier row of this file with one of `keys`; records this row's keys otherwise."""
    for key in keys:
        if key in seen:
            return seen[key]
    for key in keys:
        seen[key] = number
    return None


def _check_enterprise(batch: ImportBatch, row: list[str], user: User, seen: dict[str, int]) -> RowResult:
    number, values = int(row[0]), _values(batch, row)
    result = RowResult(number=number, action="error", title=values.get("name", ""))
    code = normalise_credit_code(values.get("credit_code")) or None
    existing = None
    if code:
        existing = db.session.scalar(
            scoped(select(Enterprise), Enterprise, user).where(Enterprise.credit_code == code)
        )
    if existing is not None and existing.merged_into_id:
        existing = db.session.get(Enterprise, existing.merged_into_id)
    raw = {**current_values(existing), **values} if existing else dict(values)
    if "kind" in values:
        raw["kind"] = _kind(values["kind"])
    try:
        data = validate(raw)
    except EnterpriseError as error:
        result.problems = _problems(batch, error, "name")
        return result
    result.title = data.name
    keys = [f"code:{data.credit_code}"] if data.credit_code else []
    keys.append(f"name:{folded_name(data.name)}")
    earlier = _seen_before(seen, keys, number)
    if earlier is not None:
        result.problems = [(_column_label(batch, "name"), f"与第 {earlier} 行是同一企业，请合并为一行")]
        return result
    if existing is not None:
        result.existing_id = existing.id
        changed = _changed_fields(existing, data, values)
        result.action = "update" if changed else "unchanged"
        result.notes = [f"更新：{'、'.join(changed)}"] if changed else ["文件中的值与企业库一致"]
        if changed:
            version = existing.version
            result.apply = lambda: update_enterprise(existing, raw, version)
        return result
    matches = find_duplicates(data.name, data.credit_code, data.former_names)
    if matches:
        result.existing_id = matches[0].id
        result.action = "duplicate"
        result.notes = [f"名称与已有企业“{matches[0].name}”（编号 {matches[0].id}）相同"]
        if batch.create_duplicates:
            result.notes.append("将仍然新建")
            result.apply = lambda: create_enterprise(raw, confirm_duplicate=True)
        else:
            result.notes.append("将跳过")
        return result
    result.action = "create"
    result.apply = lambda: create_enterprise(raw, confirm_duplicate=True)
    return result


def _kind(text: str) -> str:
    """招商目标 / 本地培育库 (or the codes themselves) as the stored code; anything else as typed."""
    return {"招商目标": "target", "本地培育库": "local", "培育库": "local"}.get(text.strip(), text.strip())


def _changed_fields(existing: Enterprise, data, values: dict) -> list[str]:
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


def _owner(values: dict, user: User) -> User:
    name = values.get("owner", "").strip()
    if not name or name in (user.username, user.display_name):
        return user
    if user.role not in LEAD_ASSIGNERS:
        raise LeadError("只有处室负责人可以把线索指定给其他负责人；招商专员导入的线索负责人为本人")
    matches = db.session.scalars(
        select(User).where(
            (func.lower(User.username) == name.lower()) | (User.display_name == name),
            User.role.in_(LEAD_WORKERS),
            User.active.is_(True),
        )
    ).all()
    if len(matches) != 1:
        raise LeadError(
            f"负责人“{name[:32]}”不是在职的招商专员或处室负责人"
            if not matches
            else f"姓名“{name}”对应多个用户，请填写用户名"
        )
    return matches[0]


def _enterprise_of(values: dict, user: User) -> Enterprise:
    visible = scoped(select(Enterprise), Enterprise, user).where(Enterprise.merged_into_id.is_(None))
    code = normalise_credit_code(values.get("credit_code")) or None
    if code:
        found = db.session.scalar(visible.where(Enterprise.credit_code == code))
        if found is None:
            raise LeadError(f"企业库中没有统一社会信用代码为 {code[:18]} 的企业，请先导入企业")
        return found
    name = values.get("enterprise_name", "")
    found = db.session.scalars(visible.where(Enterprise.name_key == folded_name(name)).limit(3)).all()
    if not found:
        raise LeadError(f"企业库中没有“{name[:64]}”，请先导入或新建该企业")
    if len(found) > 1:
        raise LeadError(f"“{name[:64]}”对应多家企业，请填写统一社会信用代码")
    return found[0]


def _check_lead(batch: ImportBatch, row: list[str], user: User, seen: dict[str, int]) -> RowResult:
    number, values = int(row[0]), _values(batch, row)
    result = RowResult(number=number, action="error", title=values.get("title", ""))
    problems: list[tuple[str, str]] = []
    enterprise = owner = None
    try:
        enterprise = _enterprise_of(values, user)
    except LeadError as error:
        problems.append(
            (
                _column_label(batch, "credit_code" if values.get("credit_code") else "enterprise_name"),
                str(error),
            )
        )
    try:
        owner = _owner(values, user)
    except LeadError as error:
        problems.append((_column_label(batch, "owner"), str(error)))
    try:
        validate_lead(values)
    except LeadError as error:
        problems += _problems(batch, error, "title")
    if problems:
        result.problems = problems
        return result
    result.title = f"{enterprise.name} · {values['title'].strip()}"
    earlier = _seen_before(seen, [f"{enterprise.id}:{values['title'].strip()}"], number)
    if earlier is not None:
        result.problems = [(_column_label(batch, "title"), f"与第 {earlier} 行是同一条线索，请合并为一行")]
        return result
    same = db.session.scalar(
        select(Lead).where(
            Lead.enterprise_id == enterprise.id, Lead.title == values["title"].strip(), Lead.stage != LOST
        )
    )
    result.apply = lambda: create_lead(enterprise, values, owner, by=user)
    if same is not None:
        result.existing_id = same.id
        result.action = "duplicate"
        result.notes = [
            f"该企业已有同名线索（编号 {same.id}，{same.stage}）",
            "将仍然新建" if batch.create_duplicates else "将跳过",
        ]
        if not batch.create_duplicates:
            result.apply = None
        return result
    result.action = "create"
    return result


def apply(batch: ImportBatch, user: User, seen_version: int) -> dict[str, int]:
    """Write every row of a batch with no problems, in the caller's transaction; counts by action.

    Refused if the mapping changed since the user saw the preview, or if any row has a problem."""
    if batch.status != "pending":
        raise ImportProblem(f"该批次{batch.status_label}，不能再次导入")
    if seen_version != batch.version:
        raise ImportProblem("列对应关系在您查看预览后已被修改，请重新核对预览后再确认导入")
    result = preview(batch, user)
    if result.missing:
        raise ImportProblem(f"还没有对应到必填项：{'、'.join(result.missing)}")
    if result.error_count:
        raise ImportProblem(f"有 {result.error_count} 行存在问题，请修改文件后重新上传；本次未导入任何数据")
    # Claim the batch first: a second confirm racing this one (a double click, another tab) fails
    # on the batch's version here, before it writes a single row, instead of importing twice.
    batch.status = "applied"
    batch.applied_at = utcnow()
    _flush_batch()
    counts = {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    for row in result.rows:
        try:
            if row.apply is not None:
                row.apply()
        except (EnterpriseError, LeadError) as error:
            raise ImportProblem(f"第 {row.number} 行：{error}；本次未导入任何数据") from error
        if row.apply is None:
            counts["unchanged" if row.action == "unchanged" else "skipped"] += 1
        else:
            counts["updated" if row.action == "update" else "created"] += 1
    batch.result = counts
    _flush_batch()
    return counts
