"""Collecting every problem of a record, field by field.

A form shows the first problem; an import preview lists them all by row and column. Services
check each field inside `problems.field(name)` and call `raise_first()` at the end, so both get
what they need from one validation."""

from collections.abc import Iterator
from contextlib import contextmanager


class Problems:
    """The problems found so far, as (field, Chinese message) pairs."""

    def __init__(self, error_type: type[ValueError]):
        self.error_type = error_type
        self.items: list[tuple[str, str]] = []

    @contextmanager
    def field(self, name: str) -> Iterator[None]:
        """Run one field's checks; a failure is noted against `name` and validation goes on."""
        try:
            yield
        except self.error_type as error:
            self.items.append((getattr(error, "field", None) or name, str(error)))

    def raise_first(self) -> None:
        """Raise the first problem, carrying all of them in `.problems`."""
        if self.items:
            error = self.error_type(self.items[0][1])
            error.problems = list(self.items)
            raise error


def problems_of(error: Exception, default_field: str = "") -> list[tuple[str, str]]:
    """Every (field, message) an error carries; a plain error is one problem of `default_field`."""
    return list(
        getattr(error, "problems", None) or [(getattr(error, "field", None) or default_field, str(error))]
    )


def replaced_ids(records) -> set[int]:
    """The ids of the records of an append-only history that a later correction replaces."""
    return {r.corrects_id for r in records if r.corrects_id}


def corrected_record(records, raw_id, error: type[Exception], what: str, latest: str):
    """The record of an append-only history (a project's updates, its funds entries) that a
    correction names by `raw_id`; None when it names none. Refused with `error` in Chinese when it
    is not in `records`, or has been corrected already (a correction replaces the newest one)."""
    if raw_id in (None, ""):
        return None
    ident = str(raw_id).strip()
    found = next((r for r in records if ident.isdigit() and r.id == int(ident)), None)
    if found is None:
        raise error(f"要更正的{what}不存在或不属于本项目")
    if any(r.corrects_id == found.id for r in records):
        raise error(f"该{what}已被更正过，请更正{latest}")
    return found
