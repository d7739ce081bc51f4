"""Forms of the enterprise pages. They collect text; crm.enterprises.service does the validation."""

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, CheckboxesField, choices
from crm.enterprises.models import EXCHANGES, HONOURS, KINDS, OWNERSHIPS
from crm.enterprises.service import current_values


class EnterpriseForm(BaseForm):
    name = StringField("企业名称", validators=[Length(max=128)])
    kind = SelectField("类别", choices=choices(KINDS.items()), default="target")
    credit_code = StringField("统一社会信用代码（境外企业可不填）", validators=[Length(max=40)])
    former_names = StringField("曾用名（多个用顿号分隔）", validators=[Length(max=600)])
    ownership = SelectField(
        "所有制", choices=choices([("", "（未填）"), *((o, o) for o in OWNERSHIPS)]), default=""
    )
    hq_province = StringField("总部省份", validators=[Length(max=16)])
    hq_city = StringField("总部城市", validators=[Length(max=32)])
    district = SelectField("所在区县（本地培育库企业必填）", choices=[], validate_choice=False, default="")
    listed_exchange = SelectField(
        "上市地", choices=choices([("", "（未上市）"), *((e, e) for e in EXCHANGES)]), default=""
    )
    listed_code = StringField("股票代码", validators=[Length(max=16)])
    revenue_wan = StringField("年营业收入（万元）", validators=[Length(max=20)])
    honours = CheckboxesField(
        "荣誉资质", choices=choices((h, h) for h in HONOURS), invalid_choice_message="荣誉资质无效"
    )
    products = TextAreaField("主要产品", validators=[Length(max=4000)])
    description = TextAreaField("简介", validators=[Length(max=4000)])
    legal_representative = StringField("法定代表人", validators=[Length(max=32)])
    registered_capital = StringField("注册资本（如 5000万元人民币）", validators=[Length(max=64)])
    established_on = StringField("成立日期", validators=[Length(max=20)], render_kw={"type": "date"})
    business_scope = TextAreaField("经营范围", validators=[Length(max=4000)])
    catalogue_codes = StringField(
        "目录条目代码（多个用逗号分隔，如 CH-PA-03）",
        validators=[Length(max=400)],
        render_kw={"data-catalogue-multi": "1"},  # static/picker.js adds a search box beside it
    )
    confirm_duplicate = BooleanField("已核对：不是同一企业，仍然创建")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def raw(self) -> dict:
        """The submitted values as the service takes them."""
        return {key: getattr(self, key).data for key in VALUE_FIELDS}

    def fill(self, enterprise) -> None:
        """Show an enterprise's current values."""
        values = current_values(enterprise)
        for key in VALUE_FIELDS:
            value = values[key]
            if key == "former_names":
                value = "、".join(value)
            elif key == "catalogue_codes":
                value = ", ".join(value)
            elif key != "honours":  # the checkboxes take the list itself
                value = "" if value is None else str(value)
            getattr(self, key).data = value
        self.version.data = enterprise.version


# The form fields that carry an enterprise's values (the rest steer the save).
VALUE_FIELDS = (
    "name",
    "kind",
    "credit_code",
    "former_names",
    "ownership",
    "hq_province",
    "hq_city",
    "district",
    "listed_exchange",
    "listed_code",
    "revenue_wan",
    "honours",
    "products",
    "description",
    "legal_representative",
    "registered_capital",
    "established_on",
    "business_scope",
    "catalogue_codes",
)


class ContactForm(BaseForm):
    name = StringField("姓名", validators=[Length(max=32)])
    title = StringField("职务", validators=[Length(max=64)])
    phone = StringField("电话", validators=[Length(max=32)])
    email = StringField("邮箱", validators=[Length(max=128)])
