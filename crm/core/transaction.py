"""One way to commit a change made by a service: run it, flush, commit — or, when the service
refuses (a ValueError carrying a Chinese message), roll everything back and hand the refusal to
the caller. Pages (crm.web.saving) and the API (crm.api.common) wrap it; a command runs inside
crm.cli.common.committing, the same rule as a context manager around the whole command."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

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


def commit(action: Callable[[], T]) -> Outcome[T]:
    """Run `action`, flush and commit; a ValueError rolls back and is returned, not raised."""
    try:
        value = action()
        db.session.flush()
    except ValueError as error:
        db.session.rollback()
        return Outcome(error=error)
    db.session.commit()
    return Outcome(value=value)
