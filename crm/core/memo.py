"""Reference lookups remembered for the length of one bulk operation.

Checking a row of an import resolves its district and catalogue codes the way a form does
(`district_id_of`, `get_entry`): one query per row. Inside `remembered_lookups()` the functions
marked `@remembered` answer each distinct argument once, from memory; outside such a block they
query as always, so nothing else sees a cached district or entry. A block should not outlive its
transaction: the objects it remembers expire with a commit.
"""

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

F = TypeVar("F", bound=Callable)

_memo: ContextVar[dict | None] = ContextVar("lookup_memo", default=None)


@contextmanager
def remembered_lookups() -> Iterator[None]:
    """Within the block, each `@remembered` function computes each distinct call once."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def remembering() -> bool:
    """Whether a `remembered_lookups` block is open (a lookup may then read a whole small table once)."""
    return _memo.get() is not None


def remembered(function: F) -> F:
    """Mark a lookup (positional, hashable arguments) as one `remembered_lookups` may answer."""

    @functools.wraps(function)
    def wrapper(*args):
        memo = _memo.get()
        if memo is None:
            return function(*args)
        key = (function, args)
        if key not in memo:
            memo[key] = function(*args)
        return memo[key]

    return wrapper  # type: ignore[return-value]
