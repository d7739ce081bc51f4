"""What an import can fill, and the column headers each field is known by.

The aliases cover our own template and the exports of the enterprise databases officers use
(企查查, 天眼查, 启信宝, 爱企查): their headers differ in wording, width and brackets, so headers are
compared after folding those away."""

import unicodedata
from dataclasses import dataclass

from crm.core.excel import xlsx_bytes  # one workbook style for exports and templates
from crm.enterprises.models import EXCHANGES, HONOURS, OWNERSHIPS
from crm.events.models import EVENT_KINDS
from crm.leads.models import SOURCES
from crm.places.service import active_divisions


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str  # the header of our template
    aliases: tuple[str, ...] = ()
    required: bool = False
    help: str = ""
    example: str = ""


ENTERPRISE_FIELDS = (
    ImportField(
        "name",
        "企业名称",
        ("公司名称", "企业名", "名称", "单位名称", "客户名称", "企业(机构)名称", "机构名称"),
        required=True,
        example="示例新材料科技股份有限公司",
    ),
    ImportField(
        "credit_code",
        "统一社会信用代码",
        ("信用代码", "社会信用代码", "统一信用代码", "纳税人识别号", "统一社会信用代码/注册号"),
        help="有代码的行按代码更新已有企业，没有的新建",
        example="91500000MA5U7G8X1F",
    ),
    ImportField(
        "kind", "企业类别", ("类别",), help="招商目标 或 本地培育库（不填为招商目标）", example="招商目标"
    ),
    ImportField("former_names", "曾用名", ("曾用名称", "历史名称"), help="多个用顿号分隔"),
    ImportField("ownership", "所有制", (), help="、".join(OWNERSHIPS), example="民营"),
    ImportField(
        "hq_province", "总部省份", ("所属省份", "省份", "所在省份", "省", "所属省"), example="江苏省"
    ),
    ImportField("hq_city", "总部城市", ("所属城市", "城市", "所在城市", "市", "所属市"), example="苏州市"),
    ImportField("district", "所在区县", ("所在区县（重庆）",), help="重庆的区县或功能区；本地培育库企业必填"),
    ImportField("listed_exchange", "上市地", ("上市交易所", "交易所", "上市板块"), help="、".join(EXCHANGES)),
    ImportField("listed_code", "股票代码", ("证券代码", "上市代码")),
    ImportField(
        "revenue_wan",
        "年营业收入（万元）",
        ("营业收入（万元）", "营收（万元）", "年营收（万元）", "营业收入(万元)"),
        example="850000",
    ),
    ImportField("honours", "荣誉资质", ("企业荣誉", "资质荣誉"), help="、".join(HONOURS)),
    ImportField(
        "products",
        "主要产品",
        ("主营产品", "产品", "主营业务", "主要产品/服务", "产品名称"),
        example="高性能尼龙 PA66、改性塑料",
    ),
    ImportField("description", "简介", ("企业简介", "公司简介")),
    ImportField("legal_representative", "法定代表人", ("法人代表", "法人", "法定代表人/负责人")),
    ImportField("registered_capital", "注册资本", ("注册资金",), example="5000万元人民币"),
    ImportField("established_on", "成立日期", ("成立时间", "注册日期", "成立年月"), example="2015-06-18"),
    ImportField("business_scope", "经营范围", ()),
    ImportField("catalogue_codes", "目录条目代码", ("目录条目",), help="多个用逗号分隔，如 CH-PA-03"),
)

LEAD_FIELDS = (
    ImportField(
        "enterprise_name",
        "企业名称",
        ("公司名称", "企业名", "单位名称", "客户名称"),
        help="须为企业库中已有的企业；与信用代码至少填一项",
        example="示例新材料科技股份有限公司",
    ),
    ImportField("credit_code", "统一社会信用代码", ("信用代码", "社会信用代码"), help="填写时按代码查找企业"),
    ImportField(
        "title", "线索名称", ("项目名称", "线索", "意向项目"), required=True, example="PA66 改性材料基地"
    ),
    ImportField(
        "source", "来源", ("线索来源", "信息来源"), required=True, help="、".join(SOURCES), example="展会"
    ),
    ImportField("owner", "负责人", ("跟进人", "招商专员"), help="用户名或姓名；不填为导入人"),
    ImportField("catalogue_code", "目录条目代码", ("目录条目",), example=""),
    ImportField("district", "意向区县", ("拟落地区县", "意向落地区县", "落地区县")),
    ImportField(
        "intended_investment_wan",
        "意向投资（万元）",
        ("意向投资额（万元）", "投资额（万元）", "拟投资额（万元）", "计划投资（万元）"),
        example="50000",
    ),
    ImportField("next_follow_up_on", "下次跟进日期", ("下次跟进", "计划跟进日期")),
    ImportField("expected_signing_on", "预计签约日期", ("预计签约", "计划签约日期")),
)

EVENT_FIELDS = (
    ImportField(
        "kind",
        "活动类型",
        ("类型", "活动类别", "活动形式"),
        required=True,
        help="、".join(EVENT_KINDS),
        example="推介会",
    ),
    ImportField(
        "title",
        "活动名称",
        ("名称", "活动主题", "主题", "活动"),
        required=True,
        example="重庆先进材料产业投资推介会（苏州站）",
    ),
    ImportField(
        "held_on",
        "开始日期",
        ("活动日期", "日期", "举办日期", "开始时间", "活动时间"),
        required=True,
        help="活动举办的日期（不晚于今天），招商活跃指数按此日期计入当周",
        example="2026-11-18",
    ),
    ImportField("ends_on", "结束日期", ("结束时间",), help="多日的活动填写；不早于开始日期"),
    ImportField("place", "地点", ("活动地点", "举办地点", "地址"), example="苏州市"),
    ImportField(
        "division",
        "主办处室",
        ("处室", "主办处", "牵头处室"),
        help="市招商投资局的处室名称；与“主办区县”二选一。区县专员导入的活动由本区县主办，两列均不填",
    ),
    ImportField(
        "district",
        "主办区县",
        ("区县", "主办区县（功能区）", "主办单位（区县）"),
        help="重庆的区县或功能区（可用简称，如 大渡口、重庆高新区）；与“主办处室”二选一",
        example="涪陵区",
    ),
    ImportField("participants", "参加人员", ("参会人员", "参加人", "参与人员")),
    ImportField("outcome", "成效", ("活动成效", "成果", "活动成果")),
    ImportField(
        "enterprises",
        "接洽企业",
        ("对接企业", "洽谈企业", "接洽企业名单", "企业"),
        help="企业库中已有企业的名称或统一社会信用代码，多家用顿号“、”、分号“；”或换行分隔",
        example="示例新材料科技股份有限公司",
    ),
)

FIELDS = {"enterprises": ENTERPRISE_FIELDS, "leads": LEAD_FIELDS, "events": EVENT_FIELDS}


def header_key(text: str) -> str:
    """A header folded for comparison: width, brackets, spaces, a trailing colon and case."""
    folded = unicodedata.normalize("NFKC", text or "").replace("（", "(").replace("）", ")")
    return "".join(folded.split()).rstrip(":").lower()


def field_for_header(kind: str, header: str) -> ImportField | None:
    """The field a column header names, if any."""
    key = header_key(header)
    for item in FIELDS[kind]:
        if key in {header_key(name) for name in (item.label, item.key, *item.aliases)}:
            return item
    return None


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """Column index (as text) → field key, from the headers; each field taken by its first column."""
    mapping: dict[str, str] = {}
    for index, header in enumerate(headers):
        item = field_for_header(kind, header)
        if item and item.key not in mapping.values():
            mapping[str(index)] = item.key
    return mapping


def template_bytes(kind: str) -> bytes:
    """The import template: our headers with an example row, and a sheet explaining each column."""
    items = FIELDS[kind]
    columns = [
        (item.label, lambda row, key=item.key: row.get(key, ""), max(12, len(item.label) * 2 + 4))
        for item in items
    ]
    examples = [{item.key: item.example for item in items}]
    notes = [
        ("列名", lambda item: item.label, 20),
        ("必填", lambda item: "是" if item.required else "", 6),
        ("也可识别的列名", lambda item: "、".join(item.aliases), 40),
        ("说明", _help, 60),
    ]
    return xlsx_bytes(
        f"{KIND_LABELS[kind]}导入模板", columns, examples, extra_sheets=[("填写说明", notes, items)]
    )


def _help(item: ImportField) -> str:
    """A column's explanation in the template; the divisions are the bureau's as loaded now."""
    if item.key == "division":
        return f"{item.help}。可选：{'、'.join(d.name for d in active_divisions())}"
    return item.help


KIND_LABELS = {"enterprises": "企业", "leads": "线索", "events": "招商活动"}
