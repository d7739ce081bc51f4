"""Times are stored in UTC and shown in Asia/Shanghai; values are shown the way a reader says them."""

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def today_local() -> date:
    """Today's date in Asia/Shanghai (what "today" means to every user)."""
    return datetime.now(SHANGHAI).date()


def local_moment(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """That Shanghai day at that hour, as the UTC time stored for it (demo and scale data)."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Shanghai days first … last as a UTC interval [start, end): what a stored time is compared with
    (SQLite compares the stored UTC text, so the bounds go to the database in UTC)."""
    start = datetime.combine(first, time.min, SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, SHANGHAI).astimezone(UTC)
    return start, end


def to_local(value: datetime | None) -> datetime | None:
    """A stored time in Asia/Shanghai; naive values (SQLite returns them) are UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time as Shanghai wall-clock text, or an empty string."""
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def shown_value(value) -> str:
    """A stored value as a reader reads it: lists joined with 、, yes/no, （空） for nothing."""
    if value is None or value == "" or value == []:
        return "（空）"
    if value is True:
        return "是"
    if value is False:
        return "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if isinstance(value, datetime):
        return format_local(value)
    if isinstance(value, str) and _STORED_TIME.match(value):
        # A time the audit log kept as ISO text (UTC, with seconds and microseconds or an offset —
        # never what a person types): shown as Beijing time, like every other time.
        try:
            return format_local(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


_STORED_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6}([+-]\d{2}:\d{2})?|[+-]\d{2}:\d{2})$"
)


def format_wan(value: int | None) -> str:
    """Money in 万元 as officials read it: 亿元 with two decimals from 1 亿 up, else 万元."""
    if value is None:
        return ""
    if abs(value) >= 10_000:
        yi = (Decimal(value) / 10_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return f"{yi:,} 亿元"
    return f"{value:,} 万元"


_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")


# Every date the CRM keeps lies within these (the oldest firms were founded in the 19th century;
# plans do not reach past the 22nd): year 1 or 9999 is a typing slip, and a day's UTC bounds at
# either end of Python's calendar would overflow. List filters are held within them too.
DATE_RANGE = (date(1800, 1, 1), date(2199, 12, 31))


def parse_day(value, label: str, error: type[Exception] = ValueError) -> date | None:
    """A date a user submitted (parse_date_text's spellings), None for blank; anything else raises
    `error` naming the field, in Chinese. One message for every form, API body and import."""
    try:
        day = parse_date_text(value if not isinstance(value, str) else value[:32])
    except (ValueError, TypeError) as exc:
        raise error(f"{label}“{str(value)[:32]}”不是有效日期（格式：2026-12-01）") from exc
    if day is not None and not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        first, last = DATE_RANGE[0].year, DATE_RANGE[1].year
        raise error(f"{label}“{day.isoformat()}”超出有效范围（{first}—{last} 年），请检查年份")
    return day


def filter_day(value) -> date | None:
    """A date from a list's query string (2026-12-01, 20261201, 2026年12月1日 …); a malformed one is
    ignored (None), not an error, so a stale bookmark still opens the list."""
    text = str(value or "")[:32]
    try:
        day = parse_date_text(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
    return min(max(day, DATE_RANGE[0]), DATE_RANGE[1]) if day else None


def parse_date_text(value) -> date | None:
    """A calendar date as people type it or spreadsheets export it: 2026-12-01, 2026/12/1,
    2026.12.01, 2026年12月1日 (a midnight time is accepted, as Excel adds one). None for blank;
    ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_TEXT.match(str(value).strip())
    if not match:
        raise ValueError(value)
    return date(*(int(part) for part in match.groups()))
