"""The deadlines of 督办 and 交办 and the lights they give, from a reviewed data file
(crm/supervision/data/deadlines.yaml, or DEADLINES_FILE): read and checked once at start, so a
bad file stops the start with a Chinese message instead of lighting items wrongly.

A light is judged for a day: red when the deadline has passed, yellow when it is within the
file's yellow days (that day included), green otherwise; work that is done has no light."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flask import current_app

from crm.core.datafile import load_file, review_log

DEFAULT_FILE = Path(__file__).parent / "data" / "deadlines.yaml"
RED, YELLOW, GREEN = "red", "yellow", "green"
LIGHTS = (RED, YELLOW, GREEN)  # worst first: the order a list sorts by and a record takes the worst of
LIGHT_LABELS = {RED: "红灯（已逾期）", YELLOW: "黄灯（临近期限）", GREEN: "绿灯（按期推进）"}
STEPS = ("respond", "assess", "reply", "report", "decide")
WORKING, CALENDAR = "working", "calendar"


class RulesError(ValueError):
    """A deadlines file that cannot be used; the message says why, in Chinese."""


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    days: int  # for `report`: the period between two reports
    count: str

    def due(self, start: date, calendar: "Calendar") -> date:
        if self.count == WORKING:
            return calendar.add_working_days(start, self.days)
        return start + timedelta(days=self.days)


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date]
    workdays: frozenset[date]  # weekend days worked (调休)

    def is_working(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (a Friday's 1 working day is the Monday)."""
        day = start
        for _ in range(days):
            day += timedelta(days=1)
            while not self.is_working(day):
                day += timedelta(days=1)
        return day


@dataclass(frozen=True)
class Rules:
    item_yellow_days: int
    item_default_days: int
    handover_yellow_days: int
    report_up_wan: int
    steps: dict[str, Step]
    calendar: Calendar
    reviewed: tuple[dict, ...]
    path: str

    def item_light(self, deadline: date, on: date) -> str:
        return light(deadline, on, self.item_yellow_days)

    def step_light(self, due: date, on: date) -> str:
        return light(due, on, self.handover_yellow_days)


def light(deadline: date, on: date, yellow_days: int) -> str:
    if deadline < on:
        return RED
    if (deadline - on).days < yellow_days:
        return YELLOW
    return GREEN


def worst(lights) -> str | None:
    present = [value for value in lights if value]
    return min(present, key=LIGHTS.index) if present else None


def _days(value, what: str, low: int = 0, high: int = 366) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RulesError(f"{what}须为 {low} 到 {high} 之间的整数")
    return value


def _day(value, what: str) -> date:
    if not isinstance(value, date):
        raise RulesError(f"{what}须为日期（如 2026-10-01）")
    return value


def parse(data, path: str) -> Rules:
    if not isinstance(data, dict):
        raise RulesError("内容须为 items、handovers、calendar、reviewed 四节")
    reviewed = review_log(data, RulesError, "时限规则")
    items, handovers, calendar = data.get("items"), data.get("handovers"), data.get("calendar")
    for name, section in (("items", items), ("handovers", handovers), ("calendar", calendar)):
        if not isinstance(section, dict):
            raise RulesError(f"缺少 {name} 一节")
    raw_steps = handovers.get("steps")
    if not isinstance(raw_steps, dict) or set(raw_steps) != set(STEPS):
        raise RulesError(f"handovers.steps 须恰好有 {'、'.join(STEPS)} {len(STEPS)} 步")
    steps = {}
    for key in STEPS:
        raw = raw_steps[key]
        if not isinstance(raw, dict) or not str(raw.get("label") or "").strip():
            raise RulesError(f"步骤 {key} 须写明 label")
        if raw.get("count") not in (WORKING, CALENDAR):
            raise RulesError(f"步骤 {key} 的 count 须为 working 或 calendar")
        amount = raw.get("every") if key == "report" else raw.get("days")
        field = "every" if key == "report" else "days"
        steps[key] = Step(
            key, str(raw["label"]).strip(), _days(amount, f"步骤 {key} 的 {field}", 1), raw["count"]
        )
    holidays: set[date] = set()
    for span in calendar.get("holidays") or []:
        if not isinstance(span, list) or len(span) != 2:
            raise RulesError("calendar.holidays 的每项须为 [起始日期, 结束日期]")
        first, last = _day(span[0], "节假日起始"), _day(span[1], "节假日结束")
        if last < first or (last - first).days > 31:
            raise RulesError(f"节假日 {first}—{last} 的起止不对")
        holidays.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    workdays = frozenset(_day(day, "调休上班日") for day in calendar.get("workdays") or [])
    if workdays & holidays:
        raise RulesError("同一天不能既是节假日又是调休上班日")
    return Rules(
        item_yellow_days=_days(items.get("yellow_days"), "items.yellow_days"),
        item_default_days=_days(items.get("default_days"), "items.default_days", 1),
        handover_yellow_days=_days(handovers.get("yellow_days"), "handovers.yellow_days"),
        report_up_wan=_days(handovers.get("report_up_wan"), "handovers.report_up_wan", 0, 10**9),
        steps=steps,
        calendar=Calendar(frozenset(holidays), workdays),
        reviewed=reviewed,
        path=path,
    )


EXTENSION_KEY = "lianzhao.deadlines"


def load(path: str | Path | None = None) -> Rules:
    return load_file(path, DEFAULT_FILE, parse, RulesError, "时限规则")


def install(app) -> None:
    """Read the rules once when the application is built: a bad file stops the start."""
    app.extensions[EXTENSION_KEY] = load(app.config.get("DEADLINES_FILE"))


def current() -> Rules:
    return current_app.extensions[EXTENSION_KEY]
