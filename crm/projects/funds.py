"""The funds ledger (到位资金台账): record an arrival of money on a project, correct it by a new
entry, have the bureau review it (已核实 / 不予认定), plan a year's funds; and the SQL that counts
the entries as the 统计口径 in force says, for every list, total, rate, brief and report.

An entry is never edited (crm.audit refuses it): a correction is a new entry naming the one it
replaces; only the review changes afterwards, under an optimistic lock, and the audit log keeps
each verdict."""

from datetime import date

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import DISTRICT, MANAGER, OFFICER, User
from crm.core.amounts import parse_whole
from crm.core.text import clean_text
from crm.core.timeutil import parse_day, today_local, utcnow
from crm.core.transaction import UNIQUE_MESSAGES, Conflict, Refusal
from crm.core.validation import Problems, corrected_record, replaced_ids
from crm.extensions import db
from crm.projects import measures
from crm.projects.models import (
    EVIDENCE_TYPES,
    FUND_KINDS,
    SOURCE_REGIONS,
    UNSTATED,
    FundEntry,
    FundKind,
    FundPlan,
    Project,
    Review,
)

FUND_RECORDERS = (OFFICER, MANAGER, DISTRICT)  # district users: their district's projects (scope)
FUND_REVIEWERS = (MANAGER,)
VERDICTS = (Review.VERIFIED, Review.REJECTED)


class FundsError(Refusal):
    """An entry, a review or a plan that cannot be kept; the message says why, in Chinese."""


class ReviewConflict(FundsError, Conflict):
    def __init__(self):
        super().__init__("该笔到位资金刚被他人核实或更正，您的操作尚未保存。请刷新页面核对后重新提交。")


# ---------------------------------------------------------------- recording


def _choice(raw, label: str, allowed: tuple, error=FundsError, required: bool = True) -> str | None:
    value = raw.strip() if isinstance(raw, str) else raw
    if value in (None, ""):
        if required:
            raise error(f"请选择{label}：{'、'.join(allowed)}")
        return None
    if value not in allowed:
        raise error(f"{label}“{str(value)[:12]}”无效，可选：{'、'.join(allowed)}")
    return value


def _flag(raw, label: str) -> bool:
    """A yes/no from a JSON body (true/false) or a form (a checkbox sends "y" or "1"; absent: no)."""
    if raw is None or raw == "":
        return True  # not said: money recorded here is 招商引资 money unless marked otherwise
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("1", "y", "yes", "true", "on", "是"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("0", "n", "no", "false", "off", "否"):
        return False
    raise FundsError(f"{label}应为“是”或“否”")


def add_entry(project: Project, raw: dict, by: User, today: date | None = None) -> FundEntry:
    """Append an arrival of money (or a correction of an earlier entry) to a project's ledger."""
    today = today or today_local()
    problems = Problems(FundsError)
    values: dict = {}
    corrects = None
    with problems.field("corrects_id"):
        corrects = corrected_record(
            project.fund_entries, raw.get("corrects_id"), FundsError, "到位资金登记", "最新的那一笔"
        )
        if corrects is not None and corrects.review != Review.PENDING and by.role not in FUND_REVIEWERS:
            # Else a resubmission would put refused money back into the figures, or replace
            # verified money by more, without the bureau looking again.
            raise FundsError(f"第 {corrects.id} 号登记已“{corrects.review}”，其更正须由处室负责人办理")
    with problems.field("amount_wan"):
        amount = parse_whole(raw.get("amount_wan"), "到位金额（万元）", FundsError)
        if amount is None:
            raise FundsError("请填写到位金额（万元，整数）")
        if amount == 0 and corrects is None:
            raise FundsError("到位金额须大于 0（万元）；要撤销一笔登记，请对它提交金额为 0 的更正")
        values["amount_wan"] = amount
    with problems.field("arrived_on"):
        day = parse_day(raw.get("arrived_on"), "到位日期", FundsError)
        if day is None:
            raise FundsError("请填写到位日期（如 2026-12-01）")
        if day > today:
            raise FundsError("到位日期不能晚于今天")
        if day < project.signed_on:
            raise FundsError(f"到位日期不能早于签约日期（{project.signed_on.isoformat()}）")
        values["arrived_on"] = day
    with problems.field("source_region"):
        values["source_region"] = _choice(raw.get("source_region"), "资金来源地", SOURCE_REGIONS)
    with problems.field("kind"):
        values["kind"] = _choice(raw.get("kind"), "资金类型", FUND_KINDS)
    with problems.field("counts_as_investment"):
        values["counts_as_investment"] = _flag(raw.get("counts_as_investment"), "是否计入招商引资到位资金")
    with problems.field("evidence_type"):
        values["evidence_type"] = _choice(
            raw.get("evidence_type"), "凭证类型", EVIDENCE_TYPES, required=False
        )
    with problems.field("note"):
        values["note"] = clean_text(raw.get("note"), "说明", 2000, FundsError)
        if corrects is not None and not values["note"]:
            raise FundsError("更正到位资金须在“说明”中写明更正原因")
    problems.raise_first()
    if corrects is not None:
        _claim(corrects)
    entry = FundEntry(project=project, corrects=corrects, created_by=by, **values)
    db.session.add(entry)
    db.session.flush()
    return entry


def entry_of(project: Project, ident) -> FundEntry | None:
    """The project's entry with this id (as a URL or a form gives it), or None: an entry of
    another project is not found through this one."""
    ident = str(ident or "").strip()
    return next((e for e in project.fund_entries if ident.isdigit() and e.id == int(ident)), None)


def _claim(entry: FundEntry) -> None:
    """Move the version of the entry a correction replaces: a review of it read before this
    correction then fails as a conflict instead of landing on money no longer counted."""
    # On the table, not the model: only the lock token moves (no recorded value), which the audit
    # log, refusing ORM bulk updates, does not need to hear about.
    table = FundEntry.__table__
    moved = db.session.execute(
        update(table)
        .where(table.c.id == entry.id, table.c.version == entry.version)
        .values(version=table.c.version + 1)
    )
    if moved.rowcount != 1:
        raise ReviewConflict()
    set_committed_value(entry, "version", entry.version + 1)


def review_entry(entry: FundEntry, raw: dict, by: User, seen_version) -> FundEntry:
    """The bureau's verdict on an entry: 已核实, or 不予认定 with the reason (and back, audited)."""
    try:
        seen = int(seen_version)
    except (TypeError, ValueError):
        seen = 0
    if not 1 <= seen <= entry.version:
        raise FundsError("版本号无效，请刷新页面后重新核实")
    if seen != entry.version:
        raise ReviewConflict()
    if entry.id in replaced_ids(entry.project.fund_entries):
        raise FundsError("该笔登记已被更正，请核实更正后的那一笔")
    problems = Problems(FundsError)
    verdict = reason = None
    with problems.field("review"):
        verdict = _choice(raw.get("review"), "核实结论", VERDICTS)
    with problems.field("review_reason"):
        reason = clean_text(raw.get("review_reason"), "核实意见", 1000, FundsError) or None
        if verdict == Review.REJECTED and not reason:
            raise FundsError("不予认定须写明理由")
    problems.raise_first()
    entry.review, entry.review_reason = verdict, reason
    entry.reviewed_by, entry.reviewed_at = by, utcnow()
    try:
        db.session.flush()
    except StaleDataError as error:
        raise ReviewConflict() from error
    return entry


def set_plan(project: Project, year: int, raw) -> None:
    """The funds planned to arrive in `year` (万元); blank removes the plan."""
    amount = parse_whole(raw, f"{year} 年计划到位资金（万元）", FundsError)
    plan = next((p for p in project.fund_plans if p.year == year), None)
    if amount is None:
        if plan is not None:
            project.fund_plans.remove(plan)
            db.session.delete(plan)
    elif plan is None:
        project.fund_plans.append(FundPlan(year=year, amount_wan=amount))
    elif plan.amount_wan != amount:
        plan.amount_wan = amount


# ---------------------------------------------------------------- counting, in SQL


def counted_sql() -> list:
    """The conditions under which an entry counts, as FundsRule.counts says for a loaded entry."""
    rule = measures.current().funds
    conditions = [
        entry_is_current(),
        FundEntry.counts_as_investment.is_(True),
        FundEntry.review != Review.REJECTED,
    ]
    if not rule.count_unverified:
        conditions.append(FundEntry.review == Review.VERIFIED)
    if not rule.every_kind:
        conditions.append(FundEntry.kind.in_(rule.kinds))
    return conditions


def counted_entries(first: date | None = None, last: date | None = None, sources=None) -> Select:
    """SELECT of the entries that count, arrived between `first` and `last` (inclusive, if given)
    and from `sources` (if given): what every funds figure sums and every funds report lists."""
    stmt = select(FundEntry).where(*counted_sql())
    if first is not None:
        stmt = stmt.where(FundEntry.arrived_on >= first)
    if last is not None:
        stmt = stmt.where(FundEntry.arrived_on <= last)
    if sources is not None:
        stmt = stmt.where(FundEntry.source_region.in_(tuple(sources)))
    return stmt


def funds_by_project(first: date | None = None, last: date | None = None, sources=None):
    """Subquery (project_id, funds_wan) of the counted funds of each project with any."""
    return (
        counted_entries(first, last, sources)
        .with_only_columns(FundEntry.project_id, func.sum(FundEntry.amount_wan).label("funds_wan"))
        .group_by(FundEntry.project_id)
        .subquery()
    )


def funds_total(project_ids, first: date | None = None, last: date | None = None, sources=None) -> int:
    """The counted funds of the projects a scalar subquery of ids finds, in a period."""
    stmt = counted_entries(first, last, sources).where(FundEntry.project_id.in_(project_ids))
    total = db.session.scalar(
        stmt.with_only_columns(func.coalesce(func.sum(FundEntry.amount_wan), 0)).order_by(None)
    )
    return int(total or 0)


def plans_of_year(year: int):
    """Subquery (project_id, plan_wan) of the funds planned for `year`."""
    return (
        select(FundPlan.project_id, FundPlan.amount_wan.label("plan_wan"))
        .where(FundPlan.year == year)
        .subquery()
    )


def entry_is_current():
    """SQL: the entry has not been replaced by a correction (replaced_ids, in SQL)."""
    # NOT IN over the replaced ids, read once per statement: a correlated NOT EXISTS probed the
    # index for every entry summed (a third of a dashboard's time at province scale).
    replacement = aliased(FundEntry)
    return FundEntry.id.not_in(select(replacement.corrects_id).where(replacement.corrects_id.is_not(None)))


# ---------------------------------------------------------------- reports by 口径


def _counted_in(projects: Select, first: date | None, last: date | None):
    """SELECT of the counted entries of the projects a SELECT finds, arrived in a period."""
    ids = projects.order_by(None).with_only_columns(Project.id).scalar_subquery()
    return counted_entries(first, last).where(FundEntry.project_id.in_(ids))


def funds_by(projects: Select, first: date | None, last: date | None, keys: dict, *joins) -> dict:
    """The counted funds of a set of projects that arrived in a period, summed per each of `keys`
    (name → a column expression over FundEntry, or over Project and what `joins` add), all from
    one grouped query: {name: {value: (万元, entries)}}. Every breakdown of a report goes through
    here, so each adds up to the same total as funds_total's."""
    stmt = _counted_in(projects, first, last).join(Project, Project.id == FundEntry.project_id)
    for target, on in joins:
        stmt = stmt.join(target, on)
    columns = [key.label(f"k{n}") for n, key in enumerate(keys.values())]
    rows = db.session.execute(
        stmt.with_only_columns(*columns, func.sum(FundEntry.amount_wan), func.count(FundEntry.id))
        .group_by(*columns)
        .order_by(None)
    )
    sums: dict[str, dict] = {name: {} for name in keys}
    for *values, total, count in rows:
        for name, value in zip(keys, values, strict=True):
            amount, entries = sums[name].get(value, (0, 0))
            sums[name][value] = (amount + int(total or 0), entries + int(count))
    return sums


def funds_per_project(projects: Select, first: date | None, last: date | None) -> dict[int, dict]:
    """Each project's counted funds of a period split as a statistics office asks for them: total,
    per source region, fixed-asset part, verified part (project id → figures; projects without
    arrivals in the period absent). One aggregate query."""
    one = lambda condition: func.sum(case((condition, FundEntry.amount_wan), else_=0))  # noqa: E731
    sources = [one(FundEntry.source_region == region) for region in SOURCE_REGIONS]
    stmt = _counted_in(projects, first, last).with_only_columns(
        FundEntry.project_id,
        func.sum(FundEntry.amount_wan),
        *sources,
        one(FundEntry.source_region.is_(None)),
        one(FundEntry.kind == FundKind.FIXED_ASSETS),
        one(FundEntry.review == Review.VERIFIED),
        func.count(FundEntry.id),
    )
    result = {}
    for row in db.session.execute(stmt.group_by(FundEntry.project_id).order_by(None)):
        project_id, total, *by_source = row[: 2 + len(SOURCE_REGIONS) + 1]
        fixed, verified, entries = row[-3:]
        result[project_id] = {
            "total": int(total or 0),
            "sources": {
                **{region: int(v or 0) for region, v in zip(SOURCE_REGIONS, by_source[:-1], strict=True)},
                UNSTATED: int(by_source[-1] or 0),
            },
            "fixed_assets": int(fixed or 0),
            "verified": int(verified or 0),
            "entries": int(entries),
        }
    return result


# Two corrections of one entry at the same moment: the unique key lets one through.
UNIQUE_MESSAGES["fund_entries.corrects_id"] = (
    "该笔登记刚被他人更正，本次更正未生效；请刷新页面核对后重新提交。"
)
