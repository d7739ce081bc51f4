"""Competition ranks (1, 1, 3): how the bureau's rankings place units with equal figures."""

from typing import Any


def competition_ranks(values: dict[Any, Any]) -> dict[Any, int | None]:
    """Ranks by value, highest first, equal values sharing a rank and the next skipping (1, 1, 3);
    all None when nobody has more than 0 (nothing to rank). Values compare exactly: pass exact
    numbers (ints, fractions), never figures rounded for display."""
    ordered = sorted(values.values(), reverse=True)
    if not ordered or ordered[0] <= 0:
        return dict.fromkeys(values)
    first_place: dict[Any, int] = {}
    for position, value in enumerate(ordered, 1):
        first_place.setdefault(value, position)
    return {key: first_place[value] for key, value in values.items()}
