"""Stored codes that users read as they are (阶段, 方式 …): the CHECK constraint that holds a column
to them is written from the same tuple the code and the forms use, so the three cannot drift."""

from collections.abc import Iterable
from enum import StrEnum


class Choice(StrEnum):
    """A stored code that is also the Chinese word users read (签约, 开工 …): members compare equal
    to the plain strings the database returns, and print as themselves: the value is the label."""


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`: stage IN ('线索', '签约', …)."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"
