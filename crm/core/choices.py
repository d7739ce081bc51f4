"""Stored codes that users read as they are (阶段, 方式 …): the CHECK constraint that holds a column
to them is written from the same tuple the code and the forms use, so the three cannot drift."""

from collections.abc import Iterable


def one_of(column: str, values: Iterable[str]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`: stage IN ('线索', '签约', …)."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"{column} IN ({quoted})"
