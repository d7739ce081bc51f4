"""The form of the merge confirmation (kept apart from forms.py, which the import work owns)."""

from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, ValidationError

from crm.core.forms import BaseForm

MAX_ID_DIGITS = 9  # beyond any real id, and below what a database integer holds


def parse_id(value) -> int | None:
    """A positive whole number typed by a person, or None: full-width or other Unicode digits
    ("²".isdigit() is True) and anything too long for a database integer are refused."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS):
        return None
    number = int(text)
    return number if number > 0 else None


class MergeForm(BaseForm):
    """Fold the enterprise `other_id` into the one whose page this is."""

    other_id = StringField("要并入的企业编号")
    keep_version = HiddenField()
    absorbed_version = HiddenField()
    confirmed = BooleanField(
        "已核对为同一企业", validators=[DataRequired(message="请先勾选“已核对为同一企业”再合并")]
    )

    def validate_other_id(self, field) -> None:
        if parse_id(field.data) is None:
            raise ValidationError("请填写要并入的企业编号（正整数）")

    def versions(self) -> tuple[int | None, int | None]:
        """The versions of (kept, absorbed) the user saw on the confirmation page."""
        return parse_id(self.keep_version.data), parse_id(self.absorbed_version.data)
