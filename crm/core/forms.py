"""The base of every form: WTForms' own Simplified Chinese messages, CSRF from Flask-WTF."""

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

CSRF_MESSAGE = "页面已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。"


class BaseForm(FlaskForm):
    """A FlaskForm whose built-in validation messages are in Simplified Chinese."""

    class Meta:
        locales = ["zh"]

        def get_translations(self, form):
            # Flask-WTF's own hook wants Flask-Babel; WTForms ships zh messages of its own.
            from wtforms.meta import DefaultMeta

            return DefaultMeta.get_translations(self, form)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        csrf_field = getattr(self, "csrf_token", None)
        if csrf_field is not None and csrf_field.errors:
            # Flask-WTF raises its CSRF messages in English only.
            csrf_field.errors = [CSRF_MESSAGE]
        return valid


def first_error(form: FlaskForm) -> str | None:
    """The first validation message of a form, for flashing or JSON errors."""
    for field in form:
        if field.errors:
            return f"{field.label.text}：{field.errors[0]}"
    return None


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()
