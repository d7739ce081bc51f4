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
