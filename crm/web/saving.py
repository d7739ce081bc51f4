"""The commit step of every page that changes something: the service's refusal is shown in Chinese
and nothing is kept; success is committed and flashed. The view then redirects (success) or
renders the same form again with everything the user typed, each message beside the field it
concerns and the first one flashed at the top as a summary."""

from collections.abc import Callable
from typing import TypeVar

from flask import flash

from crm.core.transaction import Outcome, commit
from crm.core.validation import problems_of

T = TypeVar("T")


def save(
    action: Callable[[], T],
    success: str | Callable[[T], str] | None = None,
    form=None,
    shown_by_page: tuple[type[Exception], ...] = (),
) -> Outcome[T]:
    """Run a service call and commit it; flash `success` (text, or made from the result) or the
    refusal, whose messages are also put beside the fields of `form` they name. A refusal of a type
    in `shown_by_page` is not flashed: the page shows it itself (the duplicates found, an edit
    conflict with what the other editor changed)."""
    outcome = commit(action)
    if outcome.ok:
        if success:
            flash(success(outcome.value) if callable(success) else success, "success")
    elif not isinstance(outcome.error, shown_by_page):
        flash(str(outcome.error), "danger")
        if form is not None:
            show_problems(form, outcome.error)
    return outcome


def show_problems(form, error: Exception) -> None:
    """Put each (field, message) of a refusal beside the form field it names; a message about no
    field of this form stays in the summary at the top."""
    for name, message in problems_of(error):
        field = form._fields.get(name) if name else None
        if field is not None and message not in field.errors:
            field.errors = [*field.errors, message]


def flash_form_errors(form) -> None:
    """A form whose own checks failed (a length, a choice, the CSRF token): its first message as the
    summary; the others stay beside their fields."""
    for errors in form.errors.values():
        flash(errors[0], "danger")
        return
