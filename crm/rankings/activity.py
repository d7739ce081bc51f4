"""招商活跃指数: the weekly index of investment-promotion work, per district and per division.

The definitions are a reviewed data file (crm/rankings/data/activity.yaml, or ACTIVITY_FILE),
read and checked when the application starts: six sub-indices, what records each counts, its
weight, and how a week's count becomes a score (relative to the week's best unit, or to the unit's
own average of the twelve weeks before). The file's header explains each option to its reviewers.

One rule per sub-index: `records()` is the query of the records a sub-index counts for a unit and
a period. The ranking counts it grouped by unit and day; the drill-down page lists it. So the
number on the ranking is the length of the list it opens.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import joinedload

from crm.auth.models import DISTRICT, User
from crm.core.datafile import fingerprint, load_file, review_log
from crm.core.ranks import competition_ranks
from crm.core.transaction import Refusal
from crm.core.weeks import parse_week, week_of, weeks_back
from crm.events.models import EVENT_KINDS, Event
from crm.extensions import db
from crm.leads.models import FOLLOW_UP_KINDS, FollowUp, Lead
from crm.places.models import District, Division
from crm.projects.models import Milestone, Project, ProjectStage
from crm.readmodels.cache import cached

DEFAULT_FILE = Path(__file__).parent / "data" / "activity.yaml"
CODE_ROOT = Path(__file__).resolve().parents[2]
EXTENSION_KEY = "activity_index"
BY = {"district": "区县", "division": "处室"}
COUNTS = {
    "projects_signed": "签约项目",
    "projects_started": "开工项目",
    "follow_ups": "跟进记录",
    "events": "招商活动",
}
NORMALISATIONS = {"best": "相对本周最高者", "own_average": "相对本单位前 12 周的周平均"}
AVERAGE_WEEKS = 12  # own_average: the weeks before this one a unit is compared with
# A sub-index's key names its field in every item of /api/v1/rankings/activity: it may not take the
# name of a field the contract fixes.
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$", re.ASCII)
RESERVED_KEYS = frozenset(
    {"unit", "unit_id", "score", "rank", "scores", "previous_score", "previous_rank", "change", "trend"}
)


class ActivityError(ValueError):
    """The definitions file cannot be used; the message says where and why, in Chinese."""


class RankingError(Refusal):
    """A ranking that cannot be shown (unknown unit or sub-index, malformed week): Chinese."""


@dataclass(frozen=True)
class SubIndex:
    key: str
    label: str
    weight: int
    counts: str  # one of COUNTS
    kinds: tuple[str, ...]  # the follow-up or event kinds counted; () for projects
    definition: str


@dataclass(frozen=True)
class ActivityRules:
    indices: tuple[SubIndex, ...]
    normalisation: str
    cap: int
    trend_weeks: int
    reviewed: tuple[dict, ...]
    source: str
    fingerprint: str

    def index(self, key: str) -> SubIndex:
        found = next((i for i in self.indices if i.key == key), None)
        if found is None:
            raise RankingError(
                f"没有名为“{str(key)[:20]}”的分项。可用：{'、'.join(i.key for i in self.indices)}"
            )
        return found

    @property
    def source_label(self) -> str:
        """The file in force as the bureau names it: relative to the code when it ships with it."""
        path = Path(self.source)
        return str(path.relative_to(CODE_ROOT)) if path.is_relative_to(CODE_ROOT) else str(path)

    @property
    def summary(self) -> str:
        """The index in one sentence: the page and the brief print it under the ranking."""
        parts = "、".join(f"{i.label} {i.weight}%" for i in self.indices)
        how = NORMALISATIONS[self.normalisation]
        cap = f"（最高 {self.cap} 分）" if self.normalisation == "own_average" else ""
        return (
            f"招商活跃指数 = 各分项得分按权重加权（{parts}）；分项得分由本周记录数{how}换算为 0–100 分{cap}；"
            "名次按指数从高到低，并列者同名次，全部单位均无记录时不排名。"
        )


# ---------------------------------------------------------------- the file


def _kinds(raw: dict, name: str, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    kinds = raw.get(name)
    if not isinstance(kinds, list) or not kinds:
        raise ActivityError(f"{where}：须在 {name} 中列出计入的类型")
    unknown = [str(k) for k in kinds if k not in allowed]
    if unknown:
        raise ActivityError(f"{where}：未知的类型 {'、'.join(unknown)}（可用：{'、'.join(allowed)}）")
    return tuple(dict.fromkeys(kinds))


def _index(raw: Any, position: int) -> SubIndex:
    if not isinstance(raw, dict):
        raise ActivityError(f"indices 第 {position} 项应为键值")
    where = f"分项 {raw.get('key') or position}"
    for key in ("key", "label", "weight", "counts", "definition"):
        if raw.get(key) in (None, ""):
            raise ActivityError(f"{where}：须写明 {key}")
    key = str(raw["key"])
    if not KEY.match(key) or key in RESERVED_KEYS:
        raise ActivityError(
            f"{where}：key 须为小写字母开头的英文、数字或下划线，且不能是 {'、'.join(sorted(RESERVED_KEYS))}"
            "（它也是接口中每个单位的字段名）"
        )
    counts = raw["counts"]
    if counts not in COUNTS:
        raise ActivityError(f"{where}：counts “{counts}”未知（可用：{'、'.join(COUNTS)}）")
    weight = raw["weight"]
    if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
        raise ActivityError(f"{where}：weight 应为正整数")
    kinds: tuple[str, ...] = ()
    if counts == "follow_ups":
        kinds = _kinds(raw, "follow_up_kinds", FOLLOW_UP_KINDS, where)
    elif counts == "events":
        kinds = _kinds(raw, "event_kinds", EVENT_KINDS, where)
    return SubIndex(str(raw["key"]), str(raw["label"]), weight, counts, kinds, str(raw["definition"]).strip())


def parse(data: Any, source: str = "") -> ActivityRules:
    """The rules from the file's parsed YAML; ActivityError in Chinese for anything unusable."""
    if not isinstance(data, dict):
        raise ActivityError("招商活跃指数口径文件应为 YAML 键值（normalisation、indices、reviewed）")
    normalisation = data.get("normalisation")
    if normalisation not in NORMALISATIONS:
        raise ActivityError(f"normalisation “{normalisation}”未知（可用：{'、'.join(NORMALISATIONS)}）")
    cap, trend = data.get("cap", 200), data.get("trend_weeks", 12)
    if not isinstance(cap, int) or cap < 100:
        raise ActivityError("cap 应为不小于 100 的整数")
    if not isinstance(trend, int) or not 2 <= trend <= 52:
        raise ActivityError("trend_weeks 应为 2–52 之间的整数")
    raw = data.get("indices")
    if not isinstance(raw, list) or not raw:
        raise ActivityError("须在 indices 中列出各分项")
    indices = tuple(_index(item, n) for n, item in enumerate(raw, 1))
    if len({i.key for i in indices}) != len(indices):
        raise ActivityError("分项的 key 重复")
    if sum(i.weight for i in indices) != 100:
        raise ActivityError(f"各分项权重之和应为 100（现为 {sum(i.weight for i in indices)}）")
    # A record counted in two sub-indices would be counted twice in the index.
    for counts in COUNTS:
        claimed: dict[str, str] = {}
        for index in (i for i in indices if i.counts == counts):
            for kind in index.kinds or ("",):
                if kind in claimed:
                    what = f"“{kind}”" if kind else COUNTS[counts]
                    raise ActivityError(f"{what}同时计入分项 {claimed[kind]} 和 {index.key}")
                claimed[kind] = index.key
    return ActivityRules(
        indices=indices,
        normalisation=normalisation,
        cap=cap,
        trend_weeks=trend,
        reviewed=review_log(data, ActivityError, "招商活跃指数口径"),
        source=source,
        fingerprint=fingerprint(data),
    )


def load(path: str | Path | None = None) -> ActivityRules:
    return load_file(path, DEFAULT_FILE, parse, ActivityError, "招商活跃指数口径")


def install(app) -> None:
    """Read the definitions once when the application is built: a bad file stops the start."""
    app.extensions[EXTENSION_KEY] = load(app.config.get("ACTIVITY_FILE"))


def current() -> ActivityRules:
    return current_app.extensions[EXTENSION_KEY]


# ---------------------------------------------------------------- the one query per sub-index


def records(
    index: SubIndex, by: str, first: date, last: date, unit_id: int | None = None
) -> tuple[Select, Any, Any]:
    """The records `index` counts in the period, for one unit or all: (select of the records, the
    unit column, the date column). Listing it and counting it give the same number."""
    if index.counts in ("projects_signed", "projects_started"):
        stmt, day = select(Project), Project.signed_on
        if index.counts == "projects_started":
            stmt = stmt.join(
                Milestone, and_(Milestone.project_id == Project.id, Milestone.stage == ProjectStage.STARTED)
            )
            day = Milestone.actual_on
        if by == "district":
            unit = Project.district_id
        else:  # the division of the officer who owns the lead the project came from
            stmt = stmt.join(Lead, Lead.id == Project.lead_id).join(User, User.id == Lead.owner_id)
            unit = User.division_id
    elif index.counts == "follow_ups":
        stmt = select(FollowUp).join(Lead, Lead.id == FollowUp.lead_id).where(FollowUp.kind.in_(index.kinds))
        day = FollowUp.occurred_on
        if by == "district":
            unit = Lead.intended_district_id
        else:  # the lead owner's division, whoever logged the contact
            stmt = stmt.join(User, User.id == Lead.owner_id)
            unit = User.division_id
    else:
        stmt = select(Event).where(Event.kind.in_(index.kinds))
        day = Event.held_on
        unit = Event.district_id if by == "district" else Event.division_id
    stmt = stmt.where(day.between(first, last), unit.is_not(None))
    if unit_id is not None:
        stmt = stmt.where(unit == unit_id)
    return stmt, unit, day


def daily_counts(indices: list[SubIndex], by: str, first: date, last: date) -> dict[str, dict]:
    """index key → unit id → day → records, for sub-indices that count the same kind of record
    (外出拜访 and 企业到访 are both follow-ups): one grouped query reads them all, and each record
    goes to the sub-index its kind belongs to (the file lets a kind belong to one only)."""
    merged = replace(indices[0], kinds=tuple(kind for index in indices for kind in index.kinds))
    stmt, unit, day = records(merged, by, first, last)
    kind = {"follow_ups": FollowUp.kind, "events": Event.kind}.get(merged.counts)
    columns = [unit, day] if kind is None else [unit, day, kind]
    rows = db.session.execute(
        stmt.with_only_columns(*columns, func.count()).group_by(*columns).order_by(None)
    )
    owner = {kind: index.key for index in indices for kind in index.kinds}
    counted: dict[str, dict] = {index.key: {} for index in indices}
    for unit_id, when, *of_kind, count in rows:
        key = owner[of_kind[0]] if of_kind else indices[0].key
        days = counted[key].setdefault(unit_id, {})
        days[when] = days.get(when, 0) + count
    return counted


# ---------------------------------------------------------------- the ranking


@dataclass(frozen=True)
class Unit:
    id: int
    name: str


def units(by: str) -> list[Unit]:
    """Every district and zone, or every division, in their sort order."""
    model = District if by == "district" else Division
    rows = db.session.execute(select(model.id, model.name).order_by(model.sort_order, model.id))
    return [Unit(ident, name) for ident, name in rows]


def check_by(by: str) -> str:
    if by not in BY:
        raise RankingError("排名对象应为 district（区县）或 division（处室）")
    return by


@dataclass
class Row:
    """One unit's week: its counts and scores per sub-index, index, rank, change and trend."""

    unit: Unit
    counts: dict[str, int]
    scores: dict[str, float]
    score: float
    rank: int | None = None
    previous_score: float = 0.0
    previous_rank: int | None = None
    trend: list[float] = field(default_factory=list)  # the scores of the trend weeks, oldest first

    exact_change: Fraction = Fraction(0)

    @property
    def change(self) -> float:
        """The index's change against last week, from the exact values, rounded for display."""
        return round(float(self.exact_change), 1)

    @property
    def rank_change(self) -> int | None:
        """Places gained since last week (negative: lost); None when either week had no ranking."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass
class Board:
    week: str
    monday: date
    sunday: date
    by: str
    rules: ActivityRules
    rows: list[Row]
    weeks: list[str]  # the trend's weeks, oldest first (the last is this one)

    @property
    def ranked(self) -> bool:
        return any(row.rank is not None for row in self.rows)

    def row(self, unit_id: int) -> Row | None:
        return next((row for row in self.rows if row.unit.id == unit_id), None)


def _normalised(rules: ActivityRules, value: int, best: int, history: list[int]) -> Fraction:
    """A count as a sub-index score, exactly (fractions: rounding is for display only)."""
    if rules.normalisation == "best":
        return Fraction(100 * value, best) if best else Fraction(0)
    if not sum(history):
        return Fraction(100 if value else 0)
    return min(Fraction(100 * value * len(history), sum(history)), Fraction(rules.cap))


def _shown(value: Fraction) -> float:
    return round(float(value), 1)


def board(week: str, by: str, rules: ActivityRules | None = None) -> Board:
    """The ranking of `by` (district or division) for an ISO week, with last week's and the trend.
    Under the definitions in force it is remembered until the data changes (crm.readmodels.cache):
    the page, the API and the briefs of a week ask for the same ranking many times."""
    by = check_by(by)
    week = week_of(parse_week(week, RankingError)[0])
    if rules is None or rules is current():
        return _remembered(week, by, current().fingerprint)
    return _board(week, by, rules)


@cached
def _remembered(week: str, by: str, fingerprint: str) -> Board:
    # The fingerprint is part of the key: another definitions file, another ranking.
    return _board(week, by, current())


def _board(week: str, by: str, rules: ActivityRules) -> Board:
    monday, sunday = parse_week(week, RankingError)
    history = AVERAGE_WEEKS if rules.normalisation == "own_average" else 0
    mondays = weeks_back(monday, rules.trend_weeks + history)
    first = mondays[0]
    everyone = units(by)
    # counts[index key][unit id] = [records per week, oldest first]
    counts: dict[str, dict[int, list[int]]] = {}
    for kind in COUNTS:
        alike = [index for index in rules.indices if index.counts == kind]
        if not alike:
            continue
        for key, per_unit_days in daily_counts(alike, by, first, sunday).items():
            per_unit = {unit.id: [0] * len(mondays) for unit in everyone}
            for unit_id, days in per_unit_days.items():
                weekly = per_unit[unit_id]  # a foreign key: every unit counted is one of everyone
                for day, count in days.items():
                    weekly[(day - first).days // 7] += count
            counts[key] = per_unit

    def week_scores(position: int) -> tuple[dict[int, dict[str, Fraction]], dict[int, Fraction]]:
        subs: dict[int, dict[str, Fraction]] = {u.id: {} for u in everyone}
        for index in rules.indices:
            values = {u.id: counts[index.key][u.id][position] for u in everyone}
            best = max(values.values(), default=0)
            for u in everyone:
                past = counts[index.key][u.id][max(0, position - AVERAGE_WEEKS) : position]
                subs[u.id][index.key] = _normalised(rules, values[u.id], best, past)
        totals = {unit: sum(s[i.key] * i.weight for i in rules.indices) / 100 for unit, s in subs.items()}
        return subs, totals

    trend_positions = range(history, len(mondays))
    by_week = {position: week_scores(position) for position in trend_positions}
    this, before = len(mondays) - 1, len(mondays) - 2
    subs, totals = by_week[this]
    ranks, previous_ranks = competition_ranks(totals), competition_ranks(by_week[before][1])
    rows = [
        Row(
            unit=u,
            counts={i.key: counts[i.key][u.id][this] for i in rules.indices},
            scores={key: _shown(score) for key, score in subs[u.id].items()},
            score=_shown(totals[u.id]),
            rank=ranks[u.id],
            previous_score=_shown(by_week[before][1][u.id]),
            previous_rank=previous_ranks[u.id],
            trend=[_shown(by_week[p][1][u.id]) for p in trend_positions],
            exact_change=totals[u.id] - by_week[before][1][u.id],
        )
        for u in everyone
    ]
    order = {u.id: n for n, u in enumerate(everyone)}
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, order[r.unit.id]))
    return Board(
        week=week_of(monday),
        monday=monday,
        sunday=sunday,
        by=by,
        rules=rules,
        rows=rows,
        weeks=[week_of(m) for m in mondays[history:]],
    )


def unit_of(by: str, unit_id: int) -> Unit:
    """A district or division by id; RankingError when there is none."""
    found = next((u for u in units(check_by(by)) if u.id == unit_id), None)
    if found is None:
        raise RankingError(f"没有编号为 {unit_id} 的{BY[by]}")
    return found


def counted(index: SubIndex, by: str, unit_id: int, week: str) -> list:
    """The records behind one cell of the ranking (ordered by date), for its drill-down."""
    monday, sunday = parse_week(week, RankingError)
    stmt, _unit, day = records(index, by, monday, sunday, unit_id)
    entity = stmt.column_descriptions[0]["entity"]
    # What the drill-down prints of each record, loaded with the records: statements stay the
    # same however many there are.
    shown = {
        Project: (joinedload(Project.district),),
        FollowUp: (joinedload(FollowUp.lead),),
        Event: (joinedload(Event.division), joinedload(Event.district)),
    }[entity]
    return list(db.session.scalars(stmt.options(*shown).order_by(day, entity.id)).unique())


# ---------------------------------------------------------------- who sees what


def may_rank(user, by: str) -> bool:
    """Everyone may see the district ranking (a district user only their own row of it, below);
    the divisions' ranking is the bureau's own business."""
    return by == "district" or getattr(user, "role", None) != DISTRICT


def visible_rows(ranking: Board, user) -> list[Row]:
    """The rows `user` may read: a district user reads their own district's row (with its rank
    among all), never another district's counts."""
    if getattr(user, "role", None) == DISTRICT:
        return [row for row in ranking.rows if ranking.by == "district" and row.unit.id == user.district_id]
    return ranking.rows


def may_open(user, by: str, unit_id: int) -> bool:
    """Whether `user` may open the records behind a unit's figures."""
    if getattr(user, "role", None) == DISTRICT:
        return by == "district" and unit_id == user.district_id
    return True
