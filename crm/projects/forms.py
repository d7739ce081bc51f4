"""Forms of the project pages. They collect text; crm.projects.service does the validation."""

from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, choices
from crm.projects.funds import VERDICTS
from crm.projects.models import (
    EVIDENCE_TYPES,
    FUND_KINDS,
    MILESTONES,
    SOURCE_REGIONS,
    TERMINATED,
    TERMINATION_REASONS,
)


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


def _options(label: str, values) -> list:
    return choices([("", label), *((v, v) for v in values)])


class FundEntryForm(BaseForm):
    """An arrival of money on the ledger (or a correction naming the entry it replaces)."""

    amount_wan = StringField("到位金额（万元）", validators=[Length(max=20)])
    arrived_on = StringField("到位日期", validators=[Length(max=20)], render_kw={"type": "date"})
    source_region = SelectField(
        "资金来源地", choices=_options("（请选择）", SOURCE_REGIONS), default="", validate_choice=False
    )
    kind = SelectField(
        "资金类型", choices=_options("（请选择）", FUND_KINDS), default="", validate_choice=False
    )
    counts_as_investment = BooleanField("计入招商引资到位资金", default=True)
    evidence_type = SelectField(
        "凭证类型", choices=_options("（未附凭证）", EVIDENCE_TYPES), default="", validate_choice=False
    )
    # The receipt itself: stored as an attachment of the project (到位凭证) naming this entry.
    evidence = FileField("凭证文件（PDF、图片或 Office 文档）")
    note = TextAreaField("说明（更正时写明原因）", validators=[Length(max=2000)])
    corrects_id = StringField("更正的登记编号", widget=HiddenInput(), validators=[Length(max=12)])


class FundReviewForm(BaseForm):
    """The bureau's verdict on one entry; the version seen detects a review made meanwhile."""

    review = SelectField(
        "核实结论", choices=_options("（请选择）", VERDICTS), default="", validate_choice=False
    )
    review_reason = TextAreaField("核实意见（不予认定须写明理由）", validators=[Length(max=1000)])
    version = IntegerField("页面版本", widget=HiddenInput(), validators=[Optional()])


class EvidenceForm(BaseForm):
    """CSRF for adding a receipt to an entry; the file is read from the request."""
