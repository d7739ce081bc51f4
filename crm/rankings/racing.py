"""赛马榜: the quarterly racing board of the districts — single rankings (招大引强, 招新引优,
重大项目开工, 重大项目投资, 外资引资) and the 综合排名, each within a group of districts.

The groups, what each single ranking counts, its weight and its definition are a reviewed data
file (crm/rankings/data/racing.yaml, or RACING_FILE), read and checked when the application
starts: an unknown district, a district in two groups or in none, an unknown kind, weights that do
not add up to 100 or a definition that does not name what is counted stop the start, in Chinese.

One rule per figure: a project-count ranking is a ProjectFilter (crm/projects/service.py) applied
to the projects and grouped by district; its link opens the project list with that same filter
and the district, so the number is the list's count. 外资引资 sums the entries that
crm/projects/funds.counted_entries counts (the 统计口径 in force), as the funds report does.
"""

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from crm.auth.models import DISTRICT, MANAGER, OFFICER
from crm.core.datafile import fingerprint, load_file, review_log
from crm.core.ranks import competition_ranks
from crm.core.timeutil import today_local
from crm.core.transaction import Refusal
from crm.core.weeks import FIRST_YEAR, LAST_YEAR
from crm.extensions import db
from crm.industry.models import ACTIONS, PLAN_START
from crm.industry.service import read_districts_file
from crm.matching.terms import normalise
from crm.places.service import all_districts
from crm.projects import measures
from crm.projects.funds import counted_entries
from crm.projects.models import SOURCE_REGIONS, FundEntry, Project, ProjectStage
from crm.projects.service import ProjectFilter

DEFAULT_FILE = Path(__file__).parent / "data" / "racing.yaml"
EXTENSION_KEY = "racing_board"
READERS = (OFFICER, MANAGER, DISTRICT)  # admins keep the system, not the figures
DEFAULT_ACTIONS = ("补链", "延链")  # projects that fill a weak or missing link, or extend the chain
DEFAULT_SOURCES = ("境外", "港澳台")


@dataclass(frozen=True)
class Kind:
    """What a single ranking can count: its unit, and the words its definition must contain."""

    summary: str
    unit: str
    says: str = ""


KINDS = {
    "big_signed": Kind("本季度签约的亿元以上项目个数", "个", "亿元以上"),
    "gap_signed": Kind("本季度签约、主目录条目招商动作为所列之一的项目个数", "个"),
    "big_started": Kind("“开工”实际日期在本季度的亿元以上项目个数", "个", "亿元以上"),
    "big_started_investment": Kind("本季度开工的亿元以上项目的协议投资额合计", "万元", "亿元以上"),
    "foreign_funds": Kind("本季度到位、来源地为所列之一的实际到位资金", "万元"),
}


class RacingError(ValueError):
    """The racing board's file cannot be used; the message says where and why, in Chinese."""


class QuarterError(Refusal):
    """A quarter that cannot be read (2026-Q4 is the form); the message is Chinese."""


@dataclass(frozen=True)
class Ranking:
    key: str
    label: str
    kind: str
    weight: int
    definition: str
    actions: tuple[str, ...] = ()  # gap_signed
    sources: tuple[str, ...] = ()  # foreign_funds

    @property
    def unit(self) -> str:
        return KINDS[self.kind].unit

    @property
    def money(self) -> bool:
        return self.unit == "万元"


@dataclass(frozen=True)
class Group:
    name: str
    districts: tuple[str, ...]  # canonical names, as districts.yaml spells them


@dataclass(frozen=True)
class RacingRules:
    groups: tuple[Group, ...]
    rankings: tuple[Ranking, ...]
    overall_label: str
    overall_definition: str
    reviewed: tuple[dict, ...]
    source: str
    fingerprint: str


# ---------------------------------------------------------------- the file


def _text(raw: dict, key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RacingError(f"{where} 缺少“{key}”（应为一段中文文字）")
    return value.strip()


def _listed(raw: dict, key: str, allowed: tuple[str, ...], default: tuple[str, ...], where: str) -> tuple:
    value = raw.get(key, list(default))
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise RacingError(f"{where} 的 {key} 应列出一项或多项，可选：{'、'.join(allowed)}")
    return tuple(dict.fromkeys(value))


def _district_names(path: Path | None) -> dict[str, str]:
    """Every name and alias of districts.yaml (normalised as resolve_district does) → its name.
    The file, not the database: a fresh install starts before the map is loaded."""
    names: dict[str, str] = {}
    for row in read_districts_file(path):
        for label in [row["name"], *(row.get("aliases") or [])]:
            names[normalise(label)] = row["name"]
    return names


def _groups(raw: Any, known: dict[str, str]) -> tuple[Group, ...]:
    if not isinstance(raw, list) or not raw:
        raise RacingError("groups 一节应列出各组（name 组名、districts 区县）")
    groups, placed = [], {}
    for position, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise RacingError(f"groups 第 {position} 项应为键值（name、districts）")
        name = _text(item, "name", f"groups 第 {position} 组")
        if any(g.name == name for g in groups):
            raise RacingError(f"组名“{name}”重复")
        listed = item.get("districts")
        if not isinstance(listed, list) or not listed:
            raise RacingError(f"组“{name}”的 districts 应列出区县")
        members = []
        for written in listed:
            district = known.get(normalise(str(written or "")))
            if district is None:
                raise RacingError(f"组“{name}”中的区县“{written}”不认识（应为区县名称或简称）")
            if district in placed:
                raise RacingError(f"区县“{district}”同时分在“{placed[district]}”和“{name}”两组")
            placed[district] = name
            members.append(district)
        groups.append(Group(name, tuple(members)))
    missing = [name for name in dict.fromkeys(known.values()) if name not in placed]
    if missing:
        raise RacingError(f"下列区县没有分组：{'、'.join(missing)}（每个区县和功能区须恰在一组）")
    return tuple(groups)


def _ranking(item: Any, position: int) -> Ranking:
    if not isinstance(item, dict):
        raise RacingError(f"rankings 第 {position} 项应为键值")
    where = f"单项 {item.get('key') or position}"
    key = item.get("key")
    if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", key):
        raise RacingError(f"{where} 的 key 应为英文小写标识（如 big_signed）")
    label = _text(item, "label", where)
    kind = item.get("kind")
    if kind not in KINDS:
        raise RacingError(f"{where} 的 kind“{kind}”不认识，可选：{'、'.join(KINDS)}")
    weight = item.get("weight")
    if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
        raise RacingError(f"{where} 的 weight 应为不小于 0 的整数")
    definition = _text(item, "definition", where)
    actions = _listed(item, "actions", ACTIONS, DEFAULT_ACTIONS, where) if kind == "gap_signed" else ()
    sources = (
        _listed(item, "sources", SOURCE_REGIONS, DEFAULT_SOURCES, where) if kind == "foreign_funds" else ()
    )
    # The sentence people read must name what is counted, so the two cannot drift apart.
    for words in (KINDS[kind].says, *actions, *sources):
        if words and words not in definition:
            raise RacingError(f"{where} 的定义须写明“{words}”，以免说明与计算不一致")
    return Ranking(key, label, kind, weight, definition, actions, sources)


def parse(data: Any, source: str = "", districts_file: Path | None = None) -> RacingRules:
    """The rules from the file's parsed YAML; RacingError in Chinese for anything unusable."""
    if not isinstance(data, dict):
        raise RacingError("赛马榜文件应为 YAML 键值（groups、rankings、overall、reviewed）")
    reviewed = review_log(data, RacingError, "赛马榜")
    groups = _groups(data.get("groups"), _district_names(districts_file))
    raw = data.get("rankings")
    if not isinstance(raw, list) or not raw:
        raise RacingError("rankings 一节应列出各单项排名")
    rankings = tuple(_ranking(item, n) for n, item in enumerate(raw, 1))
    for attribute, what in (("key", "key"), ("label", "名称")):
        values = [getattr(r, attribute) for r in rankings]
        if len(set(values)) != len(values):
            raise RacingError(f"单项的{what}重复")
    total = sum(r.weight for r in rankings)
    if total != 100:
        raise RacingError(f"各单项权重之和应为 100（现为 {total}）")
    overall = data.get("overall")
    if not isinstance(overall, dict):
        raise RacingError("缺少 overall（综合排名的 label 和 definition）一节")
    return RacingRules(
        groups=groups,
        rankings=rankings,
        overall_label=_text(overall, "label", "overall"),
        overall_definition=_text(overall, "definition", "overall"),
        reviewed=reviewed,
        source=source,
        fingerprint=fingerprint(data),
    )


def load(path: str | Path | None = None) -> RacingRules:
    return load_file(path, DEFAULT_FILE, parse, RacingError, "赛马榜")


def install(app) -> None:
    """Read the file once when the application is built: a bad file stops the start."""
    app.extensions[EXTENSION_KEY] = load(app.config.get("RACING_FILE"))


def current() -> RacingRules:
    """The racing board's rules in force for this application."""
    return current_app.extensions[EXTENSION_KEY]


# ---------------------------------------------------------------- quarters

QUARTER = re.compile(r"^([0-9]{4})-?Q([1-4])$", re.ASCII)
QUARTER_NAMES = ("一", "二", "三", "四")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def code(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def title(self) -> str:
        return f"{self.year} 年第{QUARTER_NAMES[self.number - 1]}季度"

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    def __str__(self) -> str:
        return self.code


def parse_quarter(text: str) -> Quarter:
    """A quarter as written by a person (2026-Q4, ２０２６-q4, 2026Q4); QuarterError in Chinese for
    anything else."""
    folded = unicodedata.normalize("NFKC", str(text or "")).strip().upper()
    match = QUARTER.match(folded)
    if not match:
        raise QuarterError(f"季度“{str(text).strip()[:20]}”格式不对，应为如 2026-Q4（年-Q季度，季度为 1–4）")
    year = int(match.group(1))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise QuarterError(f"季度的年份应在 {FIRST_YEAR}–{LAST_YEAR} 年之间（收到 {year} 年）")
    return Quarter(year, int(match.group(2)))


def recent_quarters(today: date) -> list[Quarter]:
    """The quarters from the action plan's first (2023-Q1) to today's, newest first: the picker."""
    quarter, first, found = Quarter.of(today), Quarter.of(PLAN_START), []
    while quarter >= first:
        found.append(quarter)
        quarter = quarter.previous()
    return found


# ---------------------------------------------------------------- counting


def project_filter(ranking: Ranking, quarter: Quarter, district: str = "") -> ProjectFilter | None:
    """The project list's filter that selects exactly what a project ranking counts (None for
    外资引资, which counts funds): the count is grouped over it, its link opens the list with it."""
    if ranking.kind == "big_signed":
        return ProjectFilter(district=district, signed_from=quarter.first, signed_to=quarter.last, big=True)
    if ranking.kind == "gap_signed":
        return ProjectFilter(
            district=district,
            signed_from=quarter.first,
            signed_to=quarter.last,
            live=True,
            actions=ranking.actions,
        )
    if ranking.kind in ("big_started", "big_started_investment"):
        return ProjectFilter(
            district=district,
            big=True,
            milestone=ProjectStage.STARTED,
            milestone_from=quarter.first,
            milestone_to=quarter.last,
        )
    return None


def link(ranking: Ranking, quarter: Quarter, district: str) -> tuple[str, dict[str, str]]:
    """(endpoint, query arguments) of the list behind one district's figure of a ranking."""
    filters = project_filter(ranking, quarter, district)
    if filters is not None:
        return "projects.index", filters.query_args()
    # The funds report of the district and the quarter: its 按资金来源地 table shows the sources.
    return "funds.funds_report", {
        "district": district,
        "arrived_from": quarter.first.isoformat(),
        "arrived_to": quarter.last.isoformat(),
    }


def values_by_district(
    ranking: Ranking, quarter: Quarter, today: date, read: dict | None = None
) -> dict[int, int]:
    """district id → the ranking's figure for the quarter, every district in one grouped query
    (districts without any absent). Project rankings that share a filter (重大项目开工 and its
    投资) share the query through `read`, where what was read is kept for the next ranking."""
    if ranking.kind == "foreign_funds":
        stmt = (
            counted_entries(quarter.first, quarter.last, ranking.sources)
            .join(Project, Project.id == FundEntry.project_id)
            .with_only_columns(Project.district_id, func.sum(FundEntry.amount_wan))
            .group_by(Project.district_id)
        )
        return {district_id: int(value or 0) for district_id, value in db.session.execute(stmt)}
    filters = project_filter(ranking, quarter)
    read = {} if read is None else read
    key = tuple(sorted(filters.query_args().items()))
    if key not in read:
        columns = Project.district_id, func.count(Project.id), func.sum(Project.agreed_investment_wan)
        stmt = filters.apply(select(*columns), today).group_by(Project.district_id)
        read[key] = {district_id: (int(n), int(wan or 0)) for district_id, n, wan in db.session.execute(stmt)}
    return {district_id: wan if ranking.money else n for district_id, (n, wan) in read[key].items()}


@dataclass
class Cell:
    value: int
    rank: int | None
    endpoint: str
    args: dict[str, str]


@dataclass
class Row:
    district: str
    district_id: int
    cells: dict[str, Cell]
    score: float  # 综合得分, 0–100, two decimals (ranks come from the exact fractions)
    rank: int | None
    order: int  # the district's place in the districts' order: how equal ranks are listed


@dataclass
class GroupBoard:
    name: str
    size: int  # districts in the group: "组内第 N / 共 M"
    rows: list[Row]  # by 综合排名, ties and the unranked in the districts' order
    ranked: dict[str, bool]  # ranking key → whether anybody in the group has more than 0

    @property
    def overall_ranked(self) -> bool:
        return any(self.ranked.values())


@dataclass
class Board:
    quarter: Quarter
    as_of: date
    current: bool  # the quarter is under way: figures 截至今日
    rankings: tuple[Ranking, ...]
    overall_label: str
    overall_definition: str
    groups: list[GroupBoard]
    notes: list[tuple[str, str]]  # the 统计口径 the figures rest on: (label, definition)
    reviewed: tuple[dict, ...]
    fingerprint: str
    own: bool = False  # cut to one district's row (what a district user sees)
    district: str | None = None  # that district, when it is on the board

    @property
    def row_count(self) -> int:
        return sum(len(group.rows) for group in self.groups)

    @property
    def has_records(self) -> bool:
        return any(group.overall_ranked for group in self.groups)

    def only(self, district_id: int) -> "Board":
        """The board as one district sees it: its own row in its own group (with its ranks and the
        group's size), nothing of another district."""
        groups = []
        for group in self.groups:
            rows = [row for row in group.rows if row.district_id == district_id]
            if rows:
                groups.append(replace(group, rows=rows))
        name = groups[0].rows[0].district if groups else None
        return replace(self, groups=groups, own=True, district=name)


def _group_board(group: Group, districts: list, rankings, values, quarter: Quarter) -> GroupBoard:
    members = [d for d in districts if d.name in group.districts]
    cells: dict[int, dict[str, Cell]] = {d.id: {} for d in members}
    ranked, scores = {}, {d.id: Fraction(0) for d in members}
    for ranking in rankings:
        figures = {d.id: values[ranking.key].get(d.id, 0) for d in members}
        ranks = competition_ranks(figures)
        best = max(figures.values(), default=0)
        ranked[ranking.key] = best > 0
        for district in members:
            endpoint, args = link(ranking, quarter, district.name)
            cells[district.id][ranking.key] = Cell(figures[district.id], ranks[district.id], endpoint, args)
            if best > 0:  # a ranking the whole group has nothing in adds 0 to everyone
                scores[district.id] += Fraction(ranking.weight * figures[district.id], best)
    overall = competition_ranks(scores) if any(ranked.values()) else dict.fromkeys(scores)
    order = {d.id: position for position, d in enumerate(members)}
    rows = [
        Row(d.name, d.id, cells[d.id], round(float(scores[d.id]), 2), overall[d.id], order[d.id])
        for d in sorted(members, key=lambda d: (overall[d.id] is None, overall[d.id] or 0, order[d.id]))
    ]
    return GroupBoard(group.name, len(members), rows, ranked)


def racing_board(quarter: Quarter, today: date | None = None) -> Board:
    """The whole board of a quarter (every group, every district): what the page, the XLSX, the
    PDF and the API show, cut to one district's row for district users (`visible_board`)."""
    today = today or today_local()
    rules = current()
    read: dict = {}
    values = {r.key: values_by_district(r, quarter, today, read) for r in rules.rankings}
    districts = all_districts()  # in the data file's order: how ties are listed
    counts = measures.current()
    notes = [
        (counts.label("big_projects"), counts.definition("big_projects")),
        (counts.label("funds"), counts.definition("funds")),
    ]
    return Board(
        quarter=quarter,
        as_of=min(quarter.last, today),
        current=quarter.first <= today <= quarter.last,
        rankings=rules.rankings,
        overall_label=rules.overall_label,
        overall_definition=rules.overall_definition,
        groups=[_group_board(g, districts, rules.rankings, values, quarter) for g in rules.groups],
        notes=notes,
        reviewed=rules.reviewed,
        fingerprint=rules.fingerprint,
    )


def visible_board(board: Board, user) -> Board:
    """What `user` may see of the board: district users their own row only; the bureau all of it.
    Every route (page, XLSX, PDF, API) goes through here."""
    if user.role == DISTRICT:
        return board.only(user.district_id)
    return board
