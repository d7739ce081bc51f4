"""The commit step of every page that changes something: the service's refusal is flashed in
Chinese and nothing is kept; success is committed and flashed. The view then redirects (success)
or re-renders what the user typed (refusal)."""

from collections.abc import Callable
from typing import TypeVar

from flask import flash

from crm.core.transaction import Outcome, commit

T = TypeVar("T")


def save(
    action: Callable[[], T],
    success: str | Callable[[T], str] | None = None,
    shown_by_page: tuple[type[Exception], ...] = (),
) -> Outcome[T]:
    """Run a service call and commit it; flash `success` (text, or made from the result) or the
    refusal. A refusal of a type in `shown_by_page` is not flashed: the page shows it itself (the
    duplicates found, an edit conflict with what the other editor changed)."""
    outcome = commit(action)
    if outcome.ok:
        if success:
            flash(success(outcome.value) if callable(success) else success, "success")
    elif not isinstance(outcome.error, shown_by_page):
        flash(str(outcome.error), "danger")
    return outcome


def flash_form_errors(form) -> None:
    """A form whose own checks failed (a length, a choice, the CSRF token): its first message."""
    for errors in form.errors.values():
        flash(errors[0], "danger")
        return
