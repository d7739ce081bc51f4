"""Forms of the catalogue pages."""

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, CheckboxesField, choices
from crm.industry.models import ACTIONS, GAPS, PRIORITIES


class CatalogueEntryForm(BaseForm):
    action = SelectField("招商动作", choices=choices((a, a) for a in ACTIONS))
    verb = StringField("原文用语", validators=[DataRequired("请填写原文用语"), Length(max=128)])
    gap = SelectField("环节类型", choices=choices((g, g) for g in GAPS))
    priority = SelectField("优先级", choices=choices((p, p) for p in PRIORITIES))
    clusters = CheckboxesField("适宜产业集群", choices=[], invalid_choice_message="所选产业集群无效")
    keywords = TextAreaField("关键词（用逗号、顿号或换行分隔）", validators=[Length(max=4000)])
    note = TextAreaField("备注", validators=[Length(max=2000)])
    retired = BooleanField("停用此条目（不再作为招商目标，已关联的线索和项目不受影响）")
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired("缺少版本号，请刷新页面")])

    def fill(self, entry) -> None:
        """Show an entry's current values."""
        self.clusters.data = [c.code for c in entry.clusters]
        self.keywords.data = "、".join(entry.keywords)
        self.version.data = entry.version

    def values(self) -> dict:
        """The submitted values, as update_entry takes them."""
        return {
            "action": self.action.data,
            "verb": self.verb.data,
            "gap": self.gap.data,
            "priority": self.priority.data,
            "clusters": self.clusters.data or [],
            "keywords": self.keywords.data or "",
            "note": self.note.data or "",
            "retired": self.retired.data,
        }


class TargetReportForm(BaseForm):
    value = StringField("数值", validators=[Length(max=20)])
    as_of = StringField("截至日期", validators=[Length(max=20)], render_kw={"type": "date"})
    source = StringField("数据来源（如 市统计局 2026 年 1–10 月快报）", validators=[Length(max=128)])
    note = TextAreaField("说明（可选）", validators=[Length(max=1000)])
