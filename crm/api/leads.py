"""/api/v1/leads: list (the lead list's filters), read, create, change fields and stage, follow-ups."""

from flask import jsonify, request
from flask_login import current_user

from crm.api.common import bp, json_body, respond, whole_number
from crm.api.serializers import follow_up_json, lead_json
from crm.auth.permissions import get_changeable_or_403, get_visible_or_404, roles_required
from crm.core.pagination import page_json, paginate
from crm.core.transaction import commit
from crm.enterprises.models import Enterprise
from crm.leads.models import Lead
from crm.leads.service import (
    LEAD_WORKERS,
    LISTED,
    LeadFilter,
    add_follow_up,
    create_lead,
    lead_values,
    may_change_lead,
    move_lead,
    update_lead,
    visible_leads,
)

STAGE_KEYS = ("stage", "lost_reason", "note", "version")  # what PATCH reads besides the fields


@bp.route("/leads")
def leads():
    """Leads the user may see: ?q= searches titles and enterprise names, ?stage= and the lead
    list's other filters narrow them.
    ---
    get:
      summary: 线索列表
      description: 当前用户可见的线索，可按线索列表页的条件筛选，按编号排序、分页。
      parameters:
        - {name: q, in: query, description: 搜索线索名称和企业名称, schema: {type: string}}
        - {name: stage, in: query, description: 阶段, schema: {type: string}}
        - {name: source, in: query, description: 来源, schema: {type: string}}
        - {name: mine, in: query, description: 为 1 时只列本人负责的线索, schema: {type: string, enum: ["1"]}}
        - {name: owner, in: query, description: 负责人编号, schema: {type: integer}}
        - {name: district, in: query, description: 意向落地区县, schema: {type: string}}
        - {name: cluster, in: query, description: 产业集群代码, schema: {type: string}}
        - {name: sector, in: query, description: 产业领域代码, schema: {type: string}}
        - {name: entry, in: query, description: 招商目录条目代码, schema: {type: string}}
        - name: overdue
          in: query
          description: 为 1 时只列跟进已逾期的线索
          schema: {type: string, enum: ["1"]}
        - name: since
          in: query
          description: 创建日期起（YYYY-MM-DD）
          schema: {type: string, format: date}
        - name: until
          in: query
          description: 创建日期止（YYYY-MM-DD）
          schema: {type: string, format: date}
        - Page
        - PerPage
      responses:
        "200":
          description: 一页线索
          content:
            application/json:
              schema: {$ref: "#/components/schemas/LeadPage"}
    """
    filters = LeadFilter.from_args(request.args, current_user)
    return jsonify(page_json(paginate(visible_leads(filters).order_by(Lead.id).options(*LISTED)), lead_json))


@bp.route("/leads/<int:lead_id>")
def lead(lead_id: int):
    """One lead.
    ---
    get:
      summary: 线索详情
      responses:
        "200":
          description: 线索
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Lead"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    return jsonify(lead_json(get_visible_or_404(Lead, lead_id)))


@bp.route("/leads", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def create_lead_api():
    """Log a lead for an enterprise the user may see; the caller owns it.
    ---
    post:
      summary: 新建线索
      description: 为当前用户可见的企业登记线索，调用者为负责人。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/LeadInput"}
      responses:
        "201":
          description: 已创建的线索
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Lead"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    body = json_body()
    firm = get_visible_or_404(Enterprise, whole_number(body, "enterprise_id", "请求须包含整数 enterprise_id"))
    owner = current_user._get_current_object()
    return respond(commit(lambda: create_lead(firm, body, owner)), lead_json, 201)


@bp.route("/leads/<int:lead_id>", methods=["PATCH"])
@roles_required(*LEAD_WORKERS)
def update_lead_api(lead_id: int):
    """Change a lead's fields (with `version`) and/or its `stage` (the gates apply).
    ---
    patch:
      summary: 修改线索或推进阶段
      description: 改字段须带读取时的 version；推进阶段给出 stage（可带 note，流失须带 lost_reason）。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/LeadUpdate"}
      responses:
        "200":
          description: 修改后的线索
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Lead"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
    """
    target = get_changeable_or_403(Lead, lead_id, may_change_lead)
    body = json_body()
    fields = {k: v for k, v in body.items() if k not in STAGE_KEYS}
    version = (
        whole_number(body, "version", "修改线索字段须包含整数 version（读取时的版本号）") if fields else None
    )
    by = current_user._get_current_object()

    def change() -> Lead:
        if fields:
            update_lead(target, {**lead_values(target), **fields}, version)
        if "stage" in body and body["stage"] != target.stage:
            move_lead(target, str(body["stage"]), by, str(body.get("note") or ""), body.get("lost_reason"))
        return target

    return respond(commit(change), lead_json)


@bp.route("/leads/<int:lead_id>/follow-ups")
def follow_ups(lead_id: int):
    """A lead's follow-ups, newest first.
    ---
    get:
      summary: 线索的跟进记录
      description: 最新的在前。
      responses:
        "200":
          description: 跟进记录
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: "#/components/schemas/FollowUp"}}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    target = get_visible_or_404(Lead, lead_id)
    return jsonify(items=[follow_up_json(f) for f in target.follow_ups])


@bp.route("/leads/<int:lead_id>/follow-ups", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def create_follow_up_api(lead_id: int):
    """Record a contact on a lead.
    ---
    post:
      summary: 新增跟进记录
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/FollowUpInput"}
      responses:
        "201":
          description: 已记录的跟进
          content:
            application/json:
              schema: {$ref: "#/components/schemas/FollowUp"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    target = get_changeable_or_403(Lead, lead_id, may_change_lead)
    body = json_body()
    by = current_user._get_current_object()
    return respond(commit(lambda: add_follow_up(target, body, by)), follow_up_json, 201)
