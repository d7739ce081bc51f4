"""URL converters."""

from werkzeug.routing import IntegerConverter

MAX_DB_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """<int:…> limited to 1 … 2³¹−1, the range of the primary keys: anything else does not match (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(url_map, *args, **kwargs)


def record_id(value) -> int | None:
    """A record number as a person or a query string gives it (1 … 2³¹−1), else None: an id no row
    can have names nothing, and must not reach the database (out of range there). isascii:
    "²".isdigit() is True."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_DB_INT else None
