"""Forms of the enterprise pages. They collect text; crm.enterprises.service does the validation."""

from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from crm.core.forms import BaseForm, CheckboxesField, choices
from crm.enterprises.models import EXCHANGES, HONOURS, KINDS, OWNERSHIPS


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
    catalogue_codes = StringField("目录条目代码（多个用逗号分隔，如 CH-PA-03）", validators=[Length(max=400)])
    confirm_duplicate = BooleanField("已核对：不是同一企业，仍然创建")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])

    def raw(self) -> dict:
        """The submitted values as the service takes them."""
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "credit_code": self.credit_code.data,
            "former_names": self.former_names.data,
            "ownership": self.ownership.data,
            "hq_province": self.hq_province.data,
            "hq_city": self.hq_city.data,
            "district": self.district.data,
            "listed_exchange": self.listed_exchange.data,
            "listed_code": self.listed_code.data,
            "revenue_wan": self.revenue_wan.data,
            "honours": self.honours.data or [],
            "products": self.products.data,
            "description": self.description.data,
            "catalogue_codes": self.catalogue_codes.data,
        }

    def fill(self, enterprise) -> None:
        """Show an enterprise's current values."""
        for key in (
            "name",
            "kind",
            "credit_code",
            "ownership",
            "hq_province",
            "hq_city",
            "listed_exchange",
            "listed_code",
            "products",
            "description",
        ):
            getattr(self, key).data = getattr(enterprise, key) or ""
        self.former_names.data = "、".join(enterprise.former_names)
        self.district.data = enterprise.district.name if enterprise.district else ""
        self.revenue_wan.data = "" if enterprise.revenue_wan is None else str(enterprise.revenue_wan)
        self.honours.data = list(enterprise.honours)
        self.catalogue_codes.data = ", ".join(e.code for e in enterprise.catalogue_entries)
        self.version.data = enterprise.version


class ContactForm(BaseForm):
    name = StringField("姓名", validators=[Length(max=32)])
    title = StringField("职务", validators=[Length(max=64)])
    phone = StringField("电话", validators=[Length(max=32)])
    email = StringField("邮箱", validators=[Length(max=128)])
