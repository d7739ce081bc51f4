"""Forms of the lead pages; crm.leads.service validates the values."""

from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, choices
from crm.leads.models import FOLLOW_UP_KINDS, LOST_REASONS, SIGNED, SOURCES, STAGES


class LeadForm(BaseForm):
    title = StringField("线索名称", validators=[Length(max=128)])
    source = SelectField("来源", choices=choices((s, s) for s in SOURCES))
    # The list of entries (templates/_catalogue_picker.html) lets the officer search by code, name or
    # synonym as they type.
    catalogue_code = StringField(
        "目录条目代码（如 CH-PA-03）", validators=[Length(max=16)], render_kw={"list": "catalogue-entries"}
    )
    district = SelectField("意向区县", choices=[], validate_choice=False, default="")
    intended_investment_wan = StringField("意向投资（万元）", validators=[Length(max=20)])
    next_follow_up_on = StringField("下次跟进日期", validators=[Length(max=10)], render_kw={"type": "date"})
    expected_signing_on = StringField("预计签约日期", validators=[Length(max=10)], render_kw={"type": "date"})
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class FollowUpForm(BaseForm):
    occurred_on = StringField("日期", validators=[Length(max=10)], render_kw={"type": "date"})
    kind = SelectField("方式", choices=choices((k, k) for k in FOLLOW_UP_KINDS))
    participants = StringField("参与人员", validators=[Length(max=256)])
    notes = TextAreaField("情况记录", validators=[Length(max=5000)])
    next_follow_up_on = StringField("下次跟进日期", validators=[Length(max=10)], render_kw={"type": "date"})


class MoveForm(BaseForm):
    stage = SelectField("目标阶段", choices=choices((s, s) for s in STAGES if s != SIGNED))
    lost_reason = SelectField(
        "流失原因", choices=choices([("", "（流失时必选）"), *((r, r) for r in LOST_REASONS)]), default=""
    )
    note = StringField("说明", validators=[Length(max=500)])


class SignForm(BaseForm):
    signed_on = StringField("签约日期", validators=[Length(max=10)], render_kw={"type": "date"})
    agreed_investment_wan = StringField("协议投资额（万元）", validators=[Length(max=20)])
