"""One way to commit a change made by a service: run it, flush, commit — or, when the service
refuses (a Refusal carrying a Chinese message) or a versioned UPDATE lost a race, roll everything
back and hand the refusal to the caller. Pages (crm.web.saving) and the API (crm.api.common) wrap
`commit`; a command runs inside crm.cli.common.committing, which classifies failures by the same
`as_refusal`. Anything else (a bug) is not caught here: it reaches the Chinese 500 page and the log."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from crm.extensions import db

T = TypeVar("T")


class Refusal(ValueError):
    """A change a service will not make, with the reason in Chinese for the person who asked. Every
    domain's error (LeadError, ProjectError, EnterpriseError …) is one. `field` names the input it
    concerns, so a form can show the message beside it (Problems sets it for every field it checks)."""

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        if field:
            self.field = field


class Conflict(Refusal):
    """A refusal because the record changed since it was read (an edit over a newer save, a probable
    duplicate to confirm): the API answers 409 instead of 400."""


class ChangedMeanwhile(Conflict):
    """A versioned UPDATE found the row moved on (a double click, another tab) and no service had
    a more precise word for it."""

    def __init__(self):
        super().__init__(
            "数据刚被另一操作修改（如重复点击或他人同时保存），本次操作未生效，请刷新页面查看最新状态后重试。"
        )


REFUSED = (Refusal, StaleDataError)  # what a commit turns into an answer instead of a 500


def as_refusal(error: Exception) -> Refusal:
    """A caught REFUSED error as the refusal to show."""
    return error if isinstance(error, Refusal) else ChangedMeanwhile()


@dataclass
class Outcome(Generic[T]):
    """What a committed action gave: its value, or the refusal that rolled it back."""

    value: T | None = None
    error: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def commit(action: Callable[[], T]) -> Outcome[T]:
    """Run `action`, flush and commit; a refusal rolls everything back and is returned, not raised."""
    try:
        value = action()
        db.session.flush()
    except REFUSED as error:
        db.session.rollback()
        return Outcome(error=as_refusal(error))
    db.session.commit()
    return Outcome(value=value)
