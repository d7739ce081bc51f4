"""Forms of the correction loop: an officer's word on a firm's match, a manager's on a proposal."""

from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm


class MatchFeedbackForm(BaseForm):
    # The picker (templates/_catalogue_picker.html) finds entries by code, name or synonym.
    chosen_code = StringField(
        "正确的目录条目",
        validators=[InputRequired("请选择正确的目录条目"), Length(max=16)],
        render_kw={"list": "catalogue-entries", "placeholder": "输入代码、产品名或同义词"},
    )
    suggested_code = HiddenField(validators=[Length(max=16)])


class DecisionForm(BaseForm):
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
