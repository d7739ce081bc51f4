"""统计口径: the one definition of every rate and count the pages, the briefs and the reports show.

The definitions are a reviewed data file (crm/projects/data/measures.yaml, or MEASURES_FILE): which
funds entries count as 实际到位资金, each rate's numerator, denominator and period, the threshold
of 亿元以上项目, the sources of 省外到位资金, each with the sentence users read beside the figure.
The file is checked when the application starts: an option the code does not know, or a
definition that does not say what its option counts, stops the start with a Chinese message
(a figure must never be computed one way and explained another).

This module knows the rules, not the tables: crm.projects.service turns them into SQL, and
`FundsRule.total` counts a project's loaded entries by the same rule.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app

from crm.core.datafile import fingerprint, load_file, review_log
from crm.core.validation import replaced_ids
from crm.projects.models import FUND_KINDS, MEASURES_KEY, SOURCE_REGIONS, Review

DEFAULT_FILE = Path(__file__).parent / "data" / "measures.yaml"

# Each option and the words its definition must contain, so the sentence cannot contradict it.
DENOMINATORS = {
    "agreed_investment": "协议投资额",
    "year_plan": "年度计划到位资金",
    "signed": "签约项目数",
    "planned_this_year": "当年计划",
}
NUMERATORS = {"funds": "实际到位资金", "reached": "", "on_schedule": "无逾期", "not_terminated": "未终止"}
PERIODS = {
    "since_signing": "统计期内签约的项目",
    "calendar_year": "自然年",
}
# Which options each rate may take, and which period goes with each denominator.
RATE_OPTIONS = {
    "funds_rate": ({"funds"}, {"agreed_investment", "year_plan"}),
    "start_rate": ({"reached"}, {"signed", "planned_this_year"}),
    "production_rate": ({"reached"}, {"signed", "planned_this_year"}),
    "performance_rate": ({"on_schedule", "not_terminated"}, {"signed"}),
}
PERIOD_OF = {
    "agreed_investment": "since_signing",
    "signed": "since_signing",
    "year_plan": "calendar_year",
    "planned_this_year": "calendar_year",
}
COUNTS = ("big_projects", "outside_province_funds")


class MeasuresError(ValueError):
    """The definitions file cannot be used; the message says where and why, in Chinese."""


@dataclass(frozen=True)
class FundsRule:
    """Which entries of the funds ledger count as 实际到位资金."""

    label: str
    count_unverified: bool
    kinds: tuple[str, ...]
    definition: str

    @property
    def every_kind(self) -> bool:
        """Both kinds count: so do migrated entries, whose kind was never recorded."""
        return set(self.kinds) == set(FUND_KINDS)

    def counts(self, entry: Any, corrected: set[int]) -> bool:
        """Whether an entry counts, given the ids of the entries its project's corrections replace."""
        return (
            entry.id not in corrected
            and entry.counts_as_investment
            and entry.review != Review.REJECTED
            and (self.count_unverified or entry.review == Review.VERIFIED)
            and (self.every_kind or entry.kind in self.kinds)
        )

    def counted(self, entries: Iterable[Any]) -> list:
        """The entries of one project that count."""
        entries = list(entries)
        corrected = replaced_ids(entries)
        return [e for e in entries if self.counts(e, corrected)]

    def total(
        self, entries: Iterable[Any], sources: Iterable[str] | None = None, until: date | None = None
    ) -> int:
        """实际到位资金 of one project's entries (only the given sources, and arrived by `until`, if
        given: a figure as of a past day)."""
        wanted = set(sources) if sources is not None else None
        return sum(
            e.amount_wan
            for e in self.counted(entries)
            if (wanted is None or e.source_region in wanted) and (until is None or e.arrived_on <= until)
        )


@dataclass(frozen=True)
class Rate:
    key: str
    label: str
    numerator: str
    denominator: str
    period: str
    definition: str


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    definition: str
    threshold_wan: int | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measures:
    funds: FundsRule
    rates: dict[str, Rate]
    counts: dict[str, Count]
    reviewed: tuple[dict, ...]
    source: str
    fingerprint: str  # changes with any definition: what kept figures are keyed by

    def _item(self, key: str) -> "FundsRule | Rate | Count | None":
        return self.funds if key == "funds" else self.rates.get(key) or self.counts.get(key)

    def definition(self, key: str) -> str:
        """The sentence of a rate, a count or 'funds', for a tooltip or a footnote."""
        item = self._item(key)
        return item.definition if item else ""

    def label(self, key: str) -> str:
        item = self._item(key)
        return item.label if item else key

    def listed(self) -> list[tuple[str, str, str]]:
        """(label, option summary, definition) of every measure, in the file's order."""
        rows = [(self.funds.label, _funds_summary(self.funds), self.funds.definition)]
        for rate in self.rates.values():
            rows.append(
                (
                    rate.label,
                    f"分子：{NUMERATOR_WORDS[rate.numerator]}；分母：{DENOMINATOR_WORDS[rate.denominator]}；"
                    f"期间：{PERIOD_WORDS[rate.period]}",
                    rate.definition,
                )
            )
        for count in self.counts.values():
            summary = (
                f"门槛：协议投资额 ≥ {count.threshold_wan} 万元"
                if count.threshold_wan is not None
                else f"来源地：{'、'.join(count.sources)}"
            )
            rows.append((count.label, summary, count.definition))
        return rows


NUMERATOR_WORDS = {
    "funds": "实际到位资金",
    "reached": "已达到该阶段的项目数（不含终止）",
    "on_schedule": "未终止且无逾期节点的项目数",
    "not_terminated": "未终止的项目数",
}
DENOMINATOR_WORDS = {
    "agreed_investment": "协议投资额",
    "year_plan": "当年的年度计划到位资金（分子分母均只含有当年计划的项目）",
    "signed": "签约项目数",
    "planned_this_year": "当年计划达到该阶段的项目数",
}
PERIOD_WORDS = {
    "since_signing": "统计期内签约的项目，自签约至统计日",
    "calendar_year": "统计日所在自然年（1 月 1 日至统计日）",
}


def _funds_summary(rule: FundsRule) -> str:
    verified = "含待核实" if rule.count_unverified else "仅已核实"
    return f"{verified}；资金类型：{'、'.join(rule.kinds)}；不含不予认定与被更正的登记"


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MeasuresError(f"{where} 缺少“{key}”（应为一段中文文字）")
    return value.strip()


def _option(raw: dict, key: str, allowed: Iterable[str], where: str) -> str:
    value = raw.get(key)
    allowed = list(allowed)
    if value not in allowed:
        raise MeasuresError(f"{where} 的 {key}“{value}”无效，可选：{'、'.join(allowed)}")
    return value


def _says(definition: str, words: str, where: str, what: str) -> None:
    if words and words not in definition:
        raise MeasuresError(f"{where} 的定义须写明{what}“{words}”，以免说明与计算不一致")


def _funds(raw: Any) -> FundsRule:
    where = "funds（实际到位资金）"
    if not isinstance(raw, dict):
        raise MeasuresError(f"缺少 {where} 一节")
    kinds = raw.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(k not in FUND_KINDS for k in kinds):
        raise MeasuresError(f"{where} 的 kinds 应列出计入的资金类型，可选：{'、'.join(FUND_KINDS)}")
    unverified = raw.get("count_unverified")
    if not isinstance(unverified, bool):
        raise MeasuresError(f"{where} 的 count_unverified 应为 true 或 false")
    definition = _text(raw, "definition", where)
    _says(definition, "含待核实" if unverified else "已核实", where, "是否计入待核实登记")
    for kind in kinds:
        _says(definition, kind, where, "计入的资金类型")
    return FundsRule(_text(raw, "label", where), unverified, tuple(dict.fromkeys(kinds)), definition)


def _rates(raw: Any) -> dict[str, Rate]:
    if not isinstance(raw, dict) or set(raw) != set(RATE_OPTIONS):
        raise MeasuresError(f"rates 一节应恰好定义：{'、'.join(RATE_OPTIONS)}")
    rates = {}
    for key, (numerators, denominators) in RATE_OPTIONS.items():
        item = raw[key]
        where = f"rates.{key}"
        if not isinstance(item, dict):
            raise MeasuresError(f"{where} 应为一组键值")
        numerator = _option(item, "numerator", sorted(numerators), where)
        denominator = _option(item, "denominator", sorted(denominators), where)
        period = _option(item, "period", PERIODS, where)
        if PERIOD_OF[denominator] != period:
            raise MeasuresError(
                f"{where} 的分母 {denominator} 须配期间 {PERIOD_OF[denominator]}（现为 {period}）"
            )
        definition = _text(item, "definition", where)
        _says(definition, NUMERATORS[numerator], where, "分子")
        _says(definition, DENOMINATORS[denominator], where, "分母")
        _says(definition, PERIODS[period], where, "期间")
        rates[key] = Rate(key, _text(item, "label", where), numerator, denominator, period, definition)
    return rates


def _counts(raw: Any) -> dict[str, Count]:
    if not isinstance(raw, dict) or set(raw) != set(COUNTS):
        raise MeasuresError(f"counts 一节应恰好定义：{'、'.join(COUNTS)}")
    big, outside = raw["big_projects"], raw["outside_province_funds"]
    if not isinstance(big, dict) or not isinstance(outside, dict):
        raise MeasuresError("counts 的每一项应为一组键值")
    threshold = big.get("threshold_wan")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
        raise MeasuresError("counts.big_projects 的 threshold_wan 应为正整数（万元）")
    big_definition = _text(big, "definition", "counts.big_projects")
    _says(big_definition, str(threshold), "counts.big_projects", "门槛（万元）")
    sources = outside.get("sources")
    if not isinstance(sources, list) or not sources or any(s not in SOURCE_REGIONS for s in sources):
        raise MeasuresError(
            f"counts.outside_province_funds 的 sources 应列出来源地，可选：{'、'.join(SOURCE_REGIONS)}"
        )
    outside_definition = _text(outside, "definition", "counts.outside_province_funds")
    for source in sources:
        _says(outside_definition, source, "counts.outside_province_funds", "来源地")
    return {
        "big_projects": Count(
            "big_projects",
            _text(big, "label", "counts.big_projects"),
            big_definition,
            threshold_wan=threshold,
        ),
        "outside_province_funds": Count(
            "outside_province_funds",
            _text(outside, "label", "counts.outside_province_funds"),
            outside_definition,
            sources=tuple(dict.fromkeys(sources)),
        ),
    }


def parse(data: Any, source: str = "") -> Measures:
    """Measures from the file's parsed YAML; MeasuresError in Chinese for anything unusable."""
    if not isinstance(data, dict):
        raise MeasuresError("统计口径文件应为 YAML 键值（funds、rates、counts、reviewed）")
    return Measures(
        funds=_funds(data.get("funds")),
        rates=_rates(data.get("rates")),
        counts=_counts(data.get("counts")),
        reviewed=review_log(data, MeasuresError, "统计口径"),
        source=source,
        fingerprint=fingerprint(data),
    )


def load(path: str | Path | None = None) -> Measures:
    return load_file(path, DEFAULT_FILE, parse, MeasuresError, "统计口径")


def install(app) -> None:
    """Read the definitions once when the application is built: a bad file stops the start."""
    app.extensions[MEASURES_KEY] = load(app.config.get("MEASURES_FILE"))


def current() -> Measures:
    """The definitions in force for this application."""
    return current_app.extensions[MEASURES_KEY]
