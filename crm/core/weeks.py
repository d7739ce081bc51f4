"""ISO weeks as people write them (2026-W47): read, checked and made canonical; their Monday and
Sunday; the week of a day. Briefs, the 招商活跃指数 and their pages all read weeks here."""

import re
import unicodedata
from datetime import date, timedelta

from crm.core.timeutil import today_local
from crm.core.transaction import Refusal

# ASCII digits only (\d would take ２ and ٢); the text is NFKC-folded first, so full-width input
# is read, and what is stored and printed is always the canonical 2026-W47.
WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$", re.ASCII)
# Years a week can be in. Outside them Python's dates overflow (9999-W52 ends past 9999-12-31,
# 0001-W01 starts before 1 January of year 1 in UTC) or do not exist (year 0).
FIRST_YEAR, LAST_YEAR = 2000, 2099


class WeekError(Refusal):
    """A week that cannot be read; the message is Chinese."""


def normal_week(text: str, error: type[Exception] = WeekError) -> str:
    """An ISO week as written by a person (2026-W47, ２０２６-w47, with spaces) in its canonical form
    2026-W47; `error` in Chinese for anything else."""
    folded = unicodedata.normalize("NFKC", str(text or "")).strip().upper()
    match = WEEK.match(folded)
    if not match:
        raise error(f"周次“{str(text).strip()[:20]}”格式不对，应为 ISO 周，如 2026-W47（年-W周）")
    year, week = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise error(f"周次的年份应在 {FIRST_YEAR}–{LAST_YEAR} 年之间（收到 {year} 年）")
    last = date(year, 12, 28).isocalendar().week
    if not 1 <= week <= last:
        raise error(f"{year} 年没有第 {week} 周（ISO 周次为 01–{last:02d}）")
    return f"{year}-W{week:02d}"


def parse_week(text: str, error: type[Exception] = WeekError) -> tuple[date, date]:
    """Monday and Sunday of an ISO week written 2026-W47."""
    year, week = normal_week(text, error).split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return monday, monday + timedelta(days=6)


def week_of(day: date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def weeks_back(monday: date, count: int) -> list[date]:
    """The Mondays of `count` weeks ending with the week of `monday`, oldest first."""
    return [monday - timedelta(days=7 * n) for n in range(count - 1, -1, -1)]


def last_week() -> str:
    """The last complete ISO week: what Monday's brief and ranking are about."""
    return week_of(today_local() - timedelta(days=7))


def recent_weeks(count: int = 13) -> list[str]:
    """This week and the ones before it, newest first: the week pickers' choices."""
    return [week_of(monday) for monday in reversed(weeks_back(today_local(), count))]
