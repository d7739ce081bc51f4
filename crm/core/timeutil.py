"""Times are stored in UTC and shown in Asia/Shanghai."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


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
