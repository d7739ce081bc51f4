"""The 2027 targets' figures that people report: entering one (validated, append-only) and reading
the latest of each. The targets the CRM counts itself (from the enterprise pool) are not reported."""

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from crm.core.amounts import parse_whole
from crm.core.text import clean_text
from crm.core.timeutil import parse_day, today_local
from crm.core.transaction import Refusal
from crm.core.validation import Problems
from crm.extensions import db
from crm.industry.models import Target, TargetReport

# Counted from the enterprise pool by the briefs' figures: no one types these.
MEASURED_TARGETS = ("enterprises_10bn", "enterprises_5bn", "listed_enterprises")
WHOLE_UNITS = ("个", "家")  # counts are whole; amounts (亿元) may carry two decimals
DECIMAL = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class TargetError(Refusal):
    """A reported figure that cannot be kept; the message says why, in Chinese."""


def reported_targets() -> list[Target]:
    """The targets a person reports, in the plan's order."""
    stmt = select(Target).where(Target.code.not_in(MEASURED_TARGETS)).order_by(Target.sort_order, Target.id)
    return list(db.session.scalars(stmt))


def get_reported_target(code: str) -> Target | None:
    """A target people report, by code."""
    return next((t for t in reported_targets() if t.code == code), None)


def _value(raw, target: Target) -> Decimal:
    label = f"数值（{target.unit}）"
    if target.unit in WHOLE_UNITS:
        number = parse_whole(raw, label, TargetError)
        if number is None:
            raise TargetError(f"请填写{label}")
        return Decimal(number)
    text = str(raw if raw is not None else "").replace(",", "").replace("，", "").strip()
    if not text:
        raise TargetError(f"请填写{label}")
    if not DECIMAL.fullmatch(text):
        raise TargetError(f"{label}“{text[:20]}”应为不小于 0 的数字，最多两位小数")
    number = Decimal(text)  # the pattern admits plain decimals only
    if number > Decimal("999999999999"):
        raise TargetError(f"{label}超出合理范围，请确认单位")
    return number


def report_target(target: Target, raw: dict, by, today: date | None = None) -> TargetReport:
    """Keep a figure for a target: its value, the date it is true of (not in the future), its source."""
    if target.code in MEASURED_TARGETS:
        raise TargetError("该目标由系统按企业库统计，无需人工填报")
    today = today or today_local()
    problems = Problems(TargetError)
    values: dict = {}
    with problems.field("value"):
        values["value"] = _value(raw.get("value"), target)
    with problems.field("as_of"):
        values["as_of"] = parse_day(raw.get("as_of"), "截至日期", TargetError)
        if values["as_of"] is None:
            raise TargetError("请填写截至日期（数据对应的日期）")
        if values["as_of"] > today:
            raise TargetError("截至日期不能晚于今天")
    with problems.field("source"):
        values["source"] = clean_text(raw.get("source"), "数据来源", 128, TargetError)
        if len(values["source"]) < 2:
            raise TargetError("请填写数据来源（如 市统计局 2026 年 1–10 月快报）")
    with problems.field("note"):
        values["note"] = clean_text(raw.get("note"), "说明", 1000, TargetError)
    problems.raise_first()
    report = TargetReport(target=target, entered_by_id=getattr(by, "id", None), **values)
    db.session.add(report)
    db.session.flush()
    return report


def latest_reports(on: date | None = None) -> dict[int, TargetReport]:
    """Target id → its latest report (the newest date — up to `on` if given, as a past week's brief
    saw it; among equal dates the last entered)."""
    dated = select(TargetReport.target_id, func.max(TargetReport.as_of).label("as_of"))
    if on is not None:
        dated = dated.where(TargetReport.as_of <= on)
    newest = dated.group_by(TargetReport.target_id).subquery()
    stmt = (
        select(TargetReport)
        .join(newest, (TargetReport.target_id == newest.c.target_id) & (TargetReport.as_of == newest.c.as_of))
        .order_by(TargetReport.id)
    )
    return {report.target_id: report for report in db.session.scalars(stmt)}


def report_history(target: Target) -> list[TargetReport]:
    """Every report of a target, newest first."""
    stmt = (
        select(TargetReport)
        .where(TargetReport.target_id == target.id)
        .order_by(TargetReport.as_of.desc(), TargetReport.id.desc())
    )
    return list(db.session.scalars(stmt))
