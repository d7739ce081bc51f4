"""Forms of the project pages. They collect text; crm.projects.service does the validation."""

from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, choices
from crm.projects.models import MILESTONES, TERMINATED, TERMINATION_REASONS


class UpdateForm(BaseForm):
    reported_on = StringField("填报日期", validators=[Length(max=20)], render_kw={"type": "date"})
    stage_reached = SelectField(
        "达到阶段（未推进可不选）",
        choices=choices([("", "（本次无阶段变化）"), *((s, s) for s in (*MILESTONES, TERMINATED))]),
        default="",
        validate_choice=False,  # the service names a bad stage in Chinese
    )
    stage_reached_on = StringField(
        "实际日期（不填为填报日期）", validators=[Length(max=20)], render_kw={"type": "date"}
    )
    funds_wan = StringField("本月到位资金（万元）", validators=[Length(max=20)])
    note = TextAreaField("进展情况", validators=[Length(max=5000)])
    issues = TextAreaField("需协调事项（需要市级帮助解决的问题）", validators=[Length(max=2000)])
    termination_reason = SelectField(
        "终止原因（仅终止时填写）",
        choices=choices([("", "（不适用）"), *((r, r) for r in TERMINATION_REASONS)]),
        default="",
        validate_choice=False,
    )
    # Hidden fields still need a Chinese label: a forged value's message names the field.
    corrects_id = StringField("更正的更新编号", widget=HiddenInput(), validators=[Length(max=12)])


class ProjectEditForm(BaseForm):
    """CSRF and the version seen; the fields are read from the request (one per milestone)."""

    version = IntegerField("页面版本", widget=HiddenInput(), validators=[Optional()])
