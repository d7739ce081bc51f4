"""One way to commit a change made by a service: run it, flush, commit — or, when the service
refuses (a Refusal carrying a Chinese message) or a versioned UPDATE lost a race, roll everything
back and hand the refusal to the caller. Pages (crm.web.saving) and the API (crm.api.common) wrap
`commit`; a command runs inside crm.cli.common.committing, which classifies failures by the same
`as_refusal`. Anything else (a bug) is not caught here: it reaches the Chinese 500 page and the log."""

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
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


class Collided(Conflict):
    """Two requests stored the same unique value at the same moment (a double click on 保存, two
    officers registering one credit code): the database's unique key let one through."""

    def __init__(self, message: str | None = None):
        super().__init__(
            message
            or "该记录刚被他人同时登记（与已有记录重复），本次操作未生效，请刷新页面查看最新状态后重试。"
        )


class Busy(Conflict):
    """The database could not take the write now: another transaction held the rows (SQLite's
    single writer past its wait, a PostgreSQL deadlock or serialization failure)."""

    def __init__(self):
        super().__init__("另一操作正在保存相同的数据，本次操作未生效，请稍后重试。")


# A unique key's message, by "table.column", registered by the domain that owns the table (core
# knows no domain): e.g. enterprises.credit_code → 统一社会信用代码已被登记.
UNIQUE_MESSAGES: dict[str, str] = {}
# PostgreSQL SQLSTATEs of a lost race: serialization_failure, deadlock_detected, lock_not_available.
_PG_RACES = {"40001", "40P01", "55P03"}
_PG_UNIQUE = "23505"


def _unique_key(error: IntegrityError) -> str | None:
    """ "table.column" of a unique violation, or None when the error is another integrity error (a
    NOT NULL or CHECK failure is a bug, not a race, and must stay loud)."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) == _PG_UNIQUE:
        diag = orig.diag
        column = re.search(r"Key \(([^)]*)\)", diag.message_detail or "")
        return f"{diag.table_name}.{column.group(1) if column else ''}"
    match = re.search(r"UNIQUE constraint failed: ([\w.]+)", str(orig))
    return match.group(1) if match else None


def lost_race(error: Exception) -> Refusal | None:
    """The refusal to show when a database error means another request won a race; None when it
    means something else."""
    if isinstance(error, StaleDataError):
        return ChangedMeanwhile()
    if isinstance(error, IntegrityError):
        key = _unique_key(error)
        return None if key is None else Collided(UNIQUE_MESSAGES.get(key))
    if isinstance(error, OperationalError | DBAPIError):
        orig = getattr(error, "orig", None)
        if getattr(orig, "sqlstate", None) in _PG_RACES:
            return Busy()
        if isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig):
            return Busy()
    return None


def as_refusal(error: Exception) -> Refusal | None:
    """A service's refusal as it is, a lost race as the refusal that says so, else None (a bug)."""
    return error if isinstance(error, Refusal) else lost_race(error)


LOCK_SPACE = 0x4C5A  # "LZ": the first half of our advisory lock keys, apart from other programs'
LOCK_SLOTS = 256


def serialise(*keys: str) -> None:
    """Hold locks named `keys` until the transaction ends, so that a check-then-insert (is this
    firm already on file?) cannot interleave with the same one in another request: the second
    waits, then its check sees the first one's row. PostgreSQL: advisory transaction locks on the
    keys. SQLite has a single writer: the transaction takes the write lock now (BEGIN IMMEDIATE)
    instead of at its first write, after the check."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # Keys share LOCK_SLOTS locks: an import of 20 000 firms must not take 20 000 locks (the
        # server's lock table holds a few thousand); two names in one slot only wait for each other.
        # Several keys are taken in one statement in slot order, so two callers cannot deadlock.
        if keys:
            connection.execute(
                text(
                    "SELECT count(pg_advisory_xact_lock(:space, slot)) FROM (SELECT DISTINCT"
                    " mod(hashtext(key), :slots) AS slot FROM unnest(CAST(:keys AS text[])) AS key"
                    " ORDER BY slot) AS slots"
                ),
                {"space": LOCK_SPACE, "slots": LOCK_SLOTS, "keys": sorted(set(keys))},
            )
        return
    raw = connection.connection.dbapi_connection
    if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


@dataclass
class Outcome(Generic[T]):
    """What a committed action gave: its value, or the refusal that rolled it back."""

    value: T | None = None
    error: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def commit(action: Callable[[], T]) -> Outcome[T]:
    """Run `action`, flush and commit; a refusal or a lost race rolls everything back and is
    returned, not raised. The commit itself is inside: PostgreSQL reports some races only there."""
    try:
        value = action()
        db.session.flush()
        db.session.commit()
    except (Refusal, SQLAlchemyError) as error:
        refusal = as_refusal(error)
        db.session.rollback()
        if refusal is None:
            raise
        return Outcome(error=refusal)
    return Outcome(value=value)
