"""URL converters."""

from werkzeug.routing import IntegerConverter

MAX_DB_INT = 2**31 - 1


class BoundedIntConverter(IntegerConverter):
    """<int:…> limited to 1 … 2³¹−1, the range of the primary keys: anything else does not match (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DB_INT)
        super().__init__(url_map, *args, **kwargs)
