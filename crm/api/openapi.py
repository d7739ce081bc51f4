"""/api/v1/openapi.json: the OpenAPI 3 description of this API, made with apispec from the routes.

The paths are the app's own url_map (every rule of the api blueprint); each operation is the YAML
after `---` in its view's docstring, so a route and its description live side by side. What every
operation shares is added here: path parameters from the URL converters, the 401 every route may
answer, the 403 and the CSRF header of every write, a tag and an operationId. tests/test_openapi.py
holds the description to the routes (every method of every rule described, nothing described that
the app lacks) and the schemas to what the serializers really return.

It needs a login like every route (a session or a token): an integrator holds a token before the
description is of any use to them, and nothing about the intranet system is shown to a visitor.
"""

import re

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from flask import Flask, current_app, jsonify

from crm.api.common import bp
from crm.auth.models import ROLE_LABELS
from crm.auth.tokens import MAX_EXPIRES_DAYS, TOKEN_PREFIX
from crm.core.pagination import MAX_PER_PAGE
from crm.enterprises.models import KINDS, OWNERSHIPS
from crm.inbox.models import KINDS as NOTIFICATION_KINDS
from crm.leads.models import FOLLOW_UP_KINDS, LOST_REASONS, SOURCES
from crm.leads.models import STAGES as LEAD_STAGES
from crm.projects.attachments import CATEGORIES
from crm.projects.models import (
    EVIDENCE_TYPES,
    FUND_KINDS,
    HEALTHS,
    REVIEWS,
    SOURCE_REGIONS,
    TERMINATION_REASONS,
)
from crm.projects.models import STAGES as PROJECT_STAGES
from crm.supervision.models import CATEGORIES as ITEM_CATEGORIES
from crm.supervision.models import ITEM_STATUSES

TITLE = "链招 API"
WRITE_METHODS = ("post", "put", "patch", "delete")
TAGS = {  # the module a route lives in → its group in the description
    "meta": "概览",
    "openapi": "概览",
    "enterprises": "企业",
    "leads": "线索",
    "projects": "项目",
    "supervision": "督办与通知",
}
DESCRIPTION = f"""链招（先进材料产业集群招商引资管理系统）的 JSON 接口，第 1 版。

两种认证方式，调用者只能看到和修改其账号可见、可改的数据（区县专员只限本区县）：

* **API 令牌**：`Authorization: Bearer {TOKEN_PREFIX}…`。令牌由用户在“API 令牌”页面创建，或由管理员
  用 `flask --app app tokens create 用户名 --name 名称 [--read-only] [--expires-days N]` 创建
  （最长 {MAX_EXPIRES_DAYS} 天），只显示一次。使用令牌的请求不需要 CSRF 令牌，也不会建立会话；
  只读令牌的写操作返回 403。
  令牌无效、过期、被撤销或账号停用时返回 401，不会退回使用 Cookie。
* **登录会话**（浏览器）：写操作须在 `X-CSRFToken` 请求头中带上 `GET /api/v1/me` 返回的 `csrf_token`。

错误一律以 JSON 返回：`{{"error": "中文说明"}}`。"""

_CONVERTER = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>[^<>]+)>")
_PARAMETER_TYPES = {"int": "integer", "float": "number"}


def _nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
DAY = {"type": "string", "format": "date"}
WAN = {"type": "integer", "description": "万元"}
STRINGS = {"type": "array", "items": STRING}


def _object(properties: dict, required: tuple[str, ...] = (), **extra) -> dict:
    schema = {"type": "object", "properties": properties, **extra}
    if required:
        schema["required"] = list(required)
    return schema


def _page_of(name: str) -> dict:
    return _object(
        {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
            "page": INTEGER,
            "per_page": INTEGER,
            "total": INTEGER,
        },
        ("items", "page", "per_page", "total"),
    )


ENTERPRISE_FIELDS = {
    "name": {**STRING, "maxLength": 128, "description": "企业名称"},
    "kind": {**STRING, "enum": list(KINDS), "description": "、".join(f"{k}：{v}" for k, v in KINDS.items())},
    "credit_code": _nullable({**STRING, "description": "统一社会信用代码（18 位）"}),
    "former_names": {**STRINGS, "description": "曾用名"},
    "ownership": _nullable({**STRING, "enum": [*OWNERSHIPS, None], "description": "企业性质"}),
    "hq_province": _nullable({**STRING, "description": "总部所在省份"}),
    "hq_city": _nullable({**STRING, "description": "总部所在城市"}),
    "district": _nullable({**STRING, "description": "所在区县或功能区（本地企业必填）"}),
    "listed_exchange": _nullable({**STRING, "description": "上市交易所"}),
    "listed_code": _nullable({**STRING, "description": "股票代码"}),
    "revenue_wan": _nullable({**WAN, "description": "年营业收入（万元）"}),
    "honours": {**STRINGS, "description": "荣誉资质"},
    "products": {**STRING, "description": "主要产品"},
    "description": {**STRING, "description": "企业简介"},
    "legal_representative": _nullable({**STRING, "description": "法定代表人"}),
    "registered_capital": _nullable({**STRING, "description": "注册资本"}),
    "established_on": _nullable({**DAY, "description": "成立日期"}),
    "business_scope": {**STRING, "description": "经营范围"},
    "catalogue_codes": {**STRINGS, "description": "对应的招商目录条目代码"},
}
LEAD_FIELDS = {
    "title": {**STRING, "maxLength": 128, "description": "线索名称"},
    "source": {**STRING, "enum": list(SOURCES), "description": "来源"},
    "district": _nullable({**STRING, "description": "意向落地区县"}),
    "catalogue_code": _nullable({**STRING, "description": "招商目录条目代码"}),
    "intended_investment_wan": _nullable({**WAN, "description": "意向投资（万元）"}),
    "next_follow_up_on": _nullable({**DAY, "description": "下次跟进日期"}),
    "expected_signing_on": _nullable({**DAY, "description": "预计签约日期"}),
}
FOLLOW_UP_FIELDS = {
    "occurred_on": {**DAY, "description": "跟进日期（默认今天）"},
    "kind": {**STRING, "enum": list(FOLLOW_UP_KINDS), "description": "跟进方式"},
    "participants": {**STRING, "maxLength": 256, "description": "参与人员"},
    "notes": {**STRING, "maxLength": 5000, "description": "情况记录"},
}
PROJECT_UPDATE_FIELDS = {
    "reported_on": {**DAY, "description": "填报日期（默认今天）"},
    "stage_reached": _nullable({**STRING, "enum": [*PROJECT_STAGES, None], "description": "本次达到的阶段"}),
    "stage_reached_on": _nullable({**DAY, "description": "达到该阶段的实际日期"}),
    "note": {**STRING, "maxLength": 5000, "description": "进展情况（终止时必填）"},
    "issues": {**STRING, "maxLength": 2000, "description": "需协调事项"},
    "termination_reason": _nullable(
        {**STRING, "enum": [*TERMINATION_REASONS, None], "description": "终止原因"}
    ),
    "corrects_id": _nullable({**INTEGER, "description": "更正的那条进展的编号"}),
}
PROJECT = _object(
    {
        "id": INTEGER,
        "name": STRING,
        "enterprise_id": INTEGER,
        "enterprise": {**STRING, "description": "企业名称"},
        "lead_id": _nullable(INTEGER),
        "district": STRING,
        "park": _nullable({**STRING, "description": "园区"}),
        "catalogue_codes": STRINGS,
        "stage": {**STRING, "enum": list(PROJECT_STAGES)},
        "health": {**STRING, "enum": list(HEALTHS), "description": "进度状况"},
        "termination_reason": _nullable(STRING),
        "signed_on": DAY,
        "agreed_investment_wan": {**WAN, "description": "协议投资额（万元）"},
        "funds_in_place_wan": {**WAN, "description": "累计到位资金（万元）"},
        "expected_output_wan": _nullable({**WAN, "description": "预计年产值（万元）"}),
        "expected_jobs": _nullable({**INTEGER, "description": "预计就业（人）"}),
        "last_update_on": _nullable(DAY),
        "milestones": {
            "type": "array",
            "items": _object({"stage": STRING, "planned_on": _nullable(DAY), "actual_on": _nullable(DAY)}),
        },
        "version": INTEGER,
    },
    ("id", "name", "stage", "version"),
)
PROJECT_UPDATE = _object(
    {
        "id": INTEGER,
        "project_id": INTEGER,
        **PROJECT_UPDATE_FIELDS,
        # Updates made before the funds ledger reported a month's funds; new ones carry none.
        "funds_wan": _nullable(
            {**WAN, "description": "旧进展填报的本月到位资金（万元）；现由到位资金台账登记"}
        ),
        "created_by": _nullable({**STRING, "description": "填报人"}),
    },
    ("id", "project_id", "reported_on"),
)

FUND_ENTRY_FIELDS = {
    "amount_wan": {**WAN, "description": "到位金额（万元，整数；更正时可为 0 表示撤销）"},
    "arrived_on": {**DAY, "description": "到位日期（YYYY-MM-DD）"},
    "source_region": {**STRING, "enum": list(SOURCE_REGIONS), "description": "资金来源地"},
    "kind": {**STRING, "enum": list(FUND_KINDS), "description": "资金类型"},
    "counts_as_investment": {"type": "boolean", "description": "是否计入招商引资到位资金（默认是）"},
    "evidence_type": _nullable({**STRING, "enum": [*EVIDENCE_TYPES, None], "description": "凭证类型"}),
    "note": {**STRING, "maxLength": 2000, "description": "说明（更正时必填，写明原因）"},
    "corrects_id": _nullable({**INTEGER, "description": "更正的那笔登记的编号"}),
}
FUND_ENTRY = _object(
    {
        "id": INTEGER,
        "project_id": INTEGER,
        **FUND_ENTRY_FIELDS,
        # Entries moved from progress updates never recorded a source or kind.
        "source_region": _nullable({**STRING, "enum": [*SOURCE_REGIONS, None], "description": "资金来源地"}),
        "kind": _nullable({**STRING, "enum": [*FUND_KINDS, None], "description": "资金类型"}),
        "review": {**STRING, "enum": list(REVIEWS), "description": "核实状态"},
        "review_reason": _nullable({**STRING, "description": "核实意见"}),
        "reviewed_by": _nullable({**STRING, "description": "核实人"}),
        "reviewed_at": _nullable({**STRING, "format": "date-time"}),
        "corrected": {"type": "boolean", "description": "是否已被更正（被更正的不再计数）"},
        "counted": {"type": "boolean", "description": "按现行统计口径是否计入实际到位资金"},
        "created_by": _nullable({**STRING, "description": "登记人"}),
        "created_at": {**STRING, "format": "date-time"},
    },
    ("id", "project_id", "amount_wan", "arrived_on", "source_region", "kind"),
)

ATTACHMENT = _object(
    {
        "id": INTEGER,
        "project_id": INTEGER,
        "fund_entry_id": _nullable({**INTEGER, "description": "所证明的到位资金登记"}),
        "name": {**STRING, "description": "文件名（保留上传时的中文名）"},
        "category": {**STRING, "enum": list(CATEGORIES), "description": "附件类别"},
        "content_type": {**STRING, "description": "按文件内容识别的类型"},
        "size": {**INTEGER, "description": "字节数"},
        "sha256": {**STRING, "description": "文件内容的 SHA-256"},
        "created_at": {**STRING, "format": "date-time"},
        "created_by": _nullable({**STRING, "description": "上传人"}),
        "url": {**STRING, "description": "下载地址（同样只对能看到该项目的用户开放）"},
    },
    ("id", "name", "category", "content_type", "size", "created_at", "url"),
)

ITEM = _object(
    {
        "id": INTEGER,
        "project_id": INTEGER,
        "project": {**STRING, "description": "项目名称"},
        "district": {**STRING, "description": "项目所在区县"},
        "description": {**STRING, "description": "事项内容"},
        "category": {**STRING, "enum": list(ITEM_CATEGORIES)},
        "responsible": {**STRING, "description": "责任单位"},
        "responsible_kind": {**STRING, "enum": ["处室", "区县", "其他部门"]},
        "deadline": DAY,
        "status": {**STRING, "enum": list(ITEM_STATUSES)},
        "light": _nullable(
            {
                **STRING,
                "enum": ["red", "yellow", "green", None],
                "description": "今天的灯；办结、撤销的为 null",
            }
        ),
        "result": _nullable({**STRING, "description": "办理结果或撤销理由"}),
        "created_by": _nullable(STRING),
        "created_at": {**STRING, "format": "date-time"},
        "closed_on": _nullable(DAY),
        "version": INTEGER,
    },
    ("id", "project_id", "description", "category", "responsible", "deadline", "status", "version"),
)
SCHEMAS = {
    "Error": _object({"error": {**STRING, "description": "中文说明"}}, ("error",)),
    "DuplicateError": _object(
        {
            "error": STRING,
            "duplicates": {
                "type": "array",
                "items": _object({"id": INTEGER, "name": STRING, "credit_code": _nullable(STRING)}),
            },
        },
        ("error", "duplicates"),
    ),
    "Index": _object(
        {"version": STRING, "resources": {"type": "object", "additionalProperties": STRING}},
        ("version", "resources"),
    ),
    "User": _object(
        {
            "id": INTEGER,
            "username": STRING,
            "display_name": STRING,
            "role": {**STRING, "enum": list(ROLE_LABELS)},
            "role_label": STRING,
            "district": _nullable({**STRING, "description": "区县专员所属区县"}),
        },
        ("id", "username", "role"),
    ),
    "Me": _object(
        {
            "user": {"$ref": "#/components/schemas/User"},
            "csrf_token": {**STRING, "description": "仅登录会话：写操作的 X-CSRFToken"},
            "token": _object(
                {
                    "id": INTEGER,
                    "name": STRING,
                    "read_only": {"type": "boolean"},
                    "expires_at": {**STRING, "format": "date-time"},
                },
                description="仅 API 令牌：本次使用的令牌",
            ),
        },
        ("user",),
    ),
    "Enterprise": _object(
        {
            "id": INTEGER,
            **ENTERPRISE_FIELDS,
            "revenue_tier": _nullable({**STRING, "enum": ["百亿级", "五十亿级", None]}),
            "merged_into_id": _nullable({**INTEGER, "description": "已并入的企业编号"}),
            "version": INTEGER,
        },
        ("id", "name", "version"),
    ),
    "EnterpriseInput": _object(
        {**ENTERPRISE_FIELDS, "confirm_duplicate": {"type": "boolean", "description": "确认不是重复企业"}},
        ("name",),
    ),
    "EnterpriseUpdate": _object(
        {**ENTERPRISE_FIELDS, "version": {**INTEGER, "description": "读取时的版本号"}}, ("version",)
    ),
    "EnterprisePage": _page_of("Enterprise"),
    "Lead": _object(
        {
            "id": INTEGER,
            **{key: LEAD_FIELDS[key] for key in ("title",)},
            "enterprise_id": INTEGER,
            "enterprise": {**STRING, "description": "企业名称"},
            "source": LEAD_FIELDS["source"],
            "owner": {**STRING, "description": "负责人用户名"},
            "stage": {**STRING, "enum": list(LEAD_STAGES)},
            "lost_reason": _nullable({**STRING, "enum": [*LOST_REASONS, None]}),
            "catalogue_code": LEAD_FIELDS["catalogue_code"],
            "district": LEAD_FIELDS["district"],
            "intended_investment_wan": LEAD_FIELDS["intended_investment_wan"],
            "next_follow_up_on": LEAD_FIELDS["next_follow_up_on"],
            "last_contact_on": _nullable(DAY),
            "expected_signing_on": LEAD_FIELDS["expected_signing_on"],
            "first_referrer": _nullable({**STRING, "description": "第一引资人（首次交办时记下，不再改变）"}),
            "version": INTEGER,
        },
        ("id", "title", "stage", "version"),
    ),
    "LeadInput": _object(
        {"enterprise_id": {**INTEGER, "description": "企业编号"}, **LEAD_FIELDS},
        ("enterprise_id", "title", "source"),
    ),
    "LeadUpdate": _object(
        {
            **LEAD_FIELDS,
            "version": {**INTEGER, "description": "读取时的版本号（修改字段时必填）"},
            "stage": {**STRING, "enum": list(LEAD_STAGES), "description": "推进到的阶段"},
            "note": {**STRING, "description": "阶段变更说明"},
            "lost_reason": {**STRING, "enum": list(LOST_REASONS), "description": "流失原因（流失时必填）"},
        }
    ),
    "LeadPage": _page_of("Lead"),
    "FollowUp": _object({"id": INTEGER, "lead_id": INTEGER, **FOLLOW_UP_FIELDS}, ("id", "lead_id", "kind")),
    "FollowUpInput": _object(
        {**FOLLOW_UP_FIELDS, "next_follow_up_on": _nullable({**DAY, "description": "下次跟进日期"})},
        ("kind",),
    ),
    "Project": PROJECT,
    "ProjectDetail": {
        "allOf": [
            {"$ref": "#/components/schemas/Project"},
            _object({"updates": {"type": "array", "items": {"$ref": "#/components/schemas/ProjectUpdate"}}}),
        ]
    },
    "ProjectPage": _page_of("Project"),
    "ProjectUpdate": PROJECT_UPDATE,
    "Attachment": ATTACHMENT,
    "AttachmentList": _object(
        {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Attachment"}}}, ("items",)
    ),
    "FundEntry": FUND_ENTRY,
    "FundEntryInput": _object(FUND_ENTRY_FIELDS, ("amount_wan", "arrived_on", "source_region", "kind")),
    "FundEntryList": _object(
        {"items": {"type": "array", "items": {"$ref": "#/components/schemas/FundEntry"}}}, ("items",)
    ),
    "ProjectUpdateInput": _object(PROJECT_UPDATE_FIELDS),
    "ActivityRanking": _object(
        {
            "week": {**STRING, "description": "ISO 周，如 2026-W48"},
            "by": {**STRING, "enum": ["district", "division"]},
            "ranked": {"type": "boolean", "description": "本周是否排名（全部单位均无记录时不排名）"},
            "weeks": {"type": "array", "items": STRING, "description": "趋势的各周，最早的在前"},
            "definition": {**STRING, "description": "指数的口径"},
            "indices": {
                "type": "array",
                "items": _object({"key": STRING, "label": STRING, "weight": INTEGER, "definition": STRING}),
            },
            "items": {
                "type": "array",
                "items": _object(
                    {
                        "unit": {**STRING, "description": "区县或处室名称"},
                        "unit_id": INTEGER,
                        "score": {"type": "number", "description": "招商活跃指数（0–100）"},
                        "rank": _nullable({**INTEGER, "description": "名次，并列同名次"}),
                        "scores": {"type": "object", "description": "各分项得分，键为分项 key"},
                        "previous_score": {"type": "number"},
                        "previous_rank": _nullable(INTEGER),
                        "change": {"type": "number", "description": "指数较上周的变化"},
                        "trend": {"type": "array", "items": {"type": "number"}},
                    },
                    ("unit", "score", "rank"),
                    additionalProperties={**INTEGER, "description": "每个分项一个字段：本周计入的记录数"},
                ),
            },
        },
        ("week", "by", "items"),
    ),
    "Item": ITEM,
    "ItemDetail": _object(
        {
            **ITEM["properties"],
            "replies": {"type": "array", "items": {"$ref": "#/components/schemas/ItemReply"}},
        },
        (*ITEM["required"], "replies"),
    ),
    "ItemPage": _page_of("Item"),
    "ItemInput": _object(
        {
            "description": {**STRING, "maxLength": 2000, "description": "事项内容"},
            "category": {**STRING, "enum": list(ITEM_CATEGORIES), "description": "类别"},
            "deadline": {**DAY, "description": "办理时限（YYYY-MM-DD，不早于今天）"},
            "responsible": {**STRING, "description": "责任单位：处室名称、区县名称或简称，或其他部门的名称"},
        },
        ("description", "category", "deadline", "responsible"),
    ),
    "ItemReply": _object(
        {
            "id": INTEGER,
            "kind": {**STRING, "description": "回复、开始办理、调整、办结或撤销"},
            "body": STRING,
            "author": _nullable(STRING),
            "created_at": {**STRING, "format": "date-time"},
        },
        ("id", "kind", "body"),
    ),
    "ItemReplyInput": _object({"body": {**STRING, "maxLength": 4000, "description": "回复内容"}}, ("body",)),
    "Notification": _object(
        {
            "id": INTEGER,
            "kind": {**STRING, "enum": list(NOTIFICATION_KINDS), "description": "通知类型"},
            "kind_label": {**STRING, "description": "通知类型的中文名"},
            "text": STRING,
            "url": _nullable({**STRING, "description": "相关页面的路径"}),
            "read": {"type": "boolean"},
            "created_at": {**STRING, "format": "date-time"},
        },
        ("id", "kind", "text", "read"),
    ),
    "NotificationList": _object(
        {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Notification"}},
            "unread": {**INTEGER, "description": "未读总数"},
        },
        ("items", "unread"),
    ),
    "NotificationReadInput": _object(
        {
            "ids": {"type": "array", "items": INTEGER},
            "all": {"type": "boolean", "description": "为 true 时全部标为已读"},
        }
    ),
    "NotificationRead": _object({"read": {**INTEGER, "description": "新标为已读的条数"}}, ("read",)),
    "ProjectUpdateCreated": {
        "allOf": [
            {"$ref": "#/components/schemas/ProjectUpdate"},
            _object({"project": {"$ref": "#/components/schemas/Project"}}),
        ]
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


RESPONSES = {
    "BadRequest": _error("输入有误（说明见 error）"),
    "Unauthorized": {
        **_error("未登录，或 API 令牌无效、已过期、已撤销、所属账号已停用"),
        "headers": {"WWW-Authenticate": {"schema": STRING, "description": "使用令牌时：Bearer 认证质询"}},
    },
    "Forbidden": _error("无权执行（角色不允许，或只读令牌的写操作）"),
    "NotFound": _error("不存在，或当前用户不可见"),
    "Conflict": _error("数据已被他人修改（version 过期）或与已有记录冲突"),
}
PARAMETERS = {
    "Page": {
        "name": "page",
        "in": "query",
        "description": "页码，从 1 开始",
        "schema": {**INTEGER, "minimum": 1},
    },
    "PerPage": {
        "name": "per_page",
        "in": "query",
        "description": f"每页条数（最多 {MAX_PER_PAGE}）",
        "schema": {**INTEGER, "minimum": 1, "maximum": MAX_PER_PAGE},
    },
    "CsrfToken": {
        "name": "X-CSRFToken",
        "in": "header",
        "required": False,
        "description": "仅登录会话的写操作需要：GET /api/v1/me 返回的 csrf_token；使用 API 令牌时不需要",
        "schema": STRING,
    },
}


def openapi_path(rule: str) -> tuple[str, list[dict]]:
    """A Werkzeug rule as an OpenAPI path and its path parameters: /leads/<int:lead_id> → /leads/{lead_id}."""
    parameters = []

    def placeholder(match: re.Match) -> str:
        kind = _PARAMETER_TYPES.get(match["converter"] or "", "string")
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": {"type": kind}})
        return "{" + match["name"] + "}"

    return _CONVERTER.sub(placeholder, rule), parameters


def build_spec(app: Flask) -> APISpec:
    """The description of every route of the api blueprint, from the url_map and the views' docstrings."""
    spec = APISpec(
        title=TITLE,
        version="1",
        openapi_version="3.0.3",
        info={"description": DESCRIPTION},
        security=[{"bearerAuth": []}, {"cookieSession": []}],
        tags=[{"name": name} for name in dict.fromkeys(TAGS.values())],
    )
    spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": f"{TOKEN_PREFIX}…",
            "description": "个人 API 令牌",
        },
    )
    spec.components.security_scheme(
        "cookieSession",
        {
            "type": "apiKey",
            "in": "cookie",
            "name": app.config.get("SESSION_COOKIE_NAME", "session"),
            "description": "浏览器登录会话；写操作另需 X-CSRFToken 请求头",
        },
    )
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, response in RESPONSES.items():
        spec.components.response(name, response)
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, "header" if name == "CsrfToken" else "query", parameter)
    rules = sorted(
        (r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{bp.name}.")),
        key=lambda r: (r.rule, r.endpoint),
    )
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        operations = load_operations_from_docstring(view.__doc__ or "")
        path, parameters = openapi_path(rule.rule)
        name = rule.endpoint.split(".", 1)[1]
        tag = TAGS.get(view.__module__.rsplit(".", 1)[-1], "其他")
        for method, operation in operations.items():
            operation.setdefault("tags", [tag])
            operation.setdefault("operationId", name if len(operations) == 1 else f"{name}_{method}")
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"$ref": "#/components/responses/Unauthorized"})
            if method in WRITE_METHODS:
                responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
                operation.setdefault("parameters", []).append("CsrfToken")  # apispec makes the $ref
        spec.path(path=path, operations=operations, parameters=parameters or None)
    return spec


@bp.route("/openapi.json")
def openapi():
    """This description (OpenAPI 3), generated from the routes.
    ---
    get:
      summary: OpenAPI 3 描述
      description: 本接口的机器可读描述，由代码中的路由生成。
      responses:
        "200":
          description: OpenAPI 3 文档
          content:
            application/json:
              schema: {type: object}
    """
    return jsonify(build_spec(current_app).to_dict())
