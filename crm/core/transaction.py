"""One way to commit a change made by a service: run it, flush, commit — or, when the service
refuses (a ValueError carrying a Chinese message), roll everything back and hand the refusal to
the caller. Pages (crm.web.saving) and the API (crm.api.common) wrap it; a command runs inside
crm.cli.common.committing, the same rule as a context manager around the whole command."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from crm.extensions import db

T = TypeVar("T")


class Conflict(ValueError):
    """Marks a refusal because the record changed since it was read (an edit over a newer save, a
    probable duplicate to confirm): the API answers 409 instead of 400."""


@dataclass
class Outcome(Generic[T]):
    """What a committed action gave: its value, or the refusal that rolled it back."""

    value: T | None = None
    error: ValueError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ChangedMeanwhile(Conflict):
    """A versioned UPDATE found the row moved on (a double click, another tab) and no service had
    a more precise word for it."""

    def __init__(self):
        super().__init__(
            "数据刚被另一操作修改（如重复点击或他人同时保存），本次操作未生效，请刷新页面查看最新状态后重试。"
        )


def commit(action: Callable[[], T]) -> Outcome[T]:
    """Run `action`, flush and commit; a ValueError rolls back and is returned, not raised, and so
    is a lost optimistic-lock race (as ChangedMeanwhile)."""
    try:
        value = action()
        db.session.flush()
    except ValueError as error:
        db.session.rollback()
        return Outcome(error=error)
    except StaleDataError:
        db.session.rollback()
        return Outcome(error=ChangedMeanwhile())
    db.session.commit()
    return Outcome(value=value)
