"""/api/v1/enterprises: list, read, create (with the duplicate check), update (with `version`)."""

from flask import jsonify, request

from crm.api.common import bp, error_response, json_body, respond, whole_number
from crm.api.serializers import enterprise_json
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.pagination import page_json, paginate
from crm.core.transaction import commit
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    EDITORS,
    LISTED,
    DuplicateWarning,
    create_enterprise,
    current_values,
    update_enterprise,
    visible_enterprises,
)


@bp.route("/enterprises")
def enterprises():
    """Enterprises the user may see: ?q= searches names, former names, credit codes and products.
    ---
    get:
      summary: 企业列表
      description: 当前用户可见的企业（区县专员只见本区县的），按编号排序、分页。
      parameters:
        - name: q
          in: query
          description: 搜索企业名称、曾用名、统一社会信用代码和产品
          schema: {type: string}
        - Page
        - PerPage
      responses:
        "200":
          description: 一页企业
          content:
            application/json:
              schema: {$ref: "#/components/schemas/EnterprisePage"}
    """
    stmt = visible_enterprises(request.args.get("q", ""))
    return jsonify(page_json(paginate(stmt.order_by(Enterprise.id).options(*LISTED)), enterprise_json))


@bp.route("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int):
    """One enterprise.
    ---
    get:
      summary: 企业详情
      responses:
        "200":
          description: 企业
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Enterprise"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    return jsonify(enterprise_json(get_visible_or_404(Enterprise, enterprise_id)))


@bp.route("/enterprises", methods=["POST"])
@roles_required(*EDITORS)
def create_enterprise_api():
    """Create an enterprise; a probable duplicate is a 409 listing the firms on file.
    ---
    post:
      summary: 新建企业
      description: 疑似重复时返回 409 并在 duplicates 中列出已有企业；确认后带 confirm_duplicate=true 重交。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/EnterpriseInput"}
      responses:
        "201":
          description: 已创建的企业
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Enterprise"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "409":
          description: 疑似重复
          content:
            application/json:
              schema: {$ref: "#/components/schemas/DuplicateError"}
    """
    body = json_body()
    outcome = commit(lambda: create_enterprise(body, confirm_duplicate=body.get("confirm_duplicate") is True))
    if isinstance(outcome.error, DuplicateWarning):
        duplicates = [
            {"id": e.id, "name": e.name, "credit_code": e.credit_code} for e in outcome.error.matches
        ]
        return error_response(outcome.error, duplicates=duplicates)
    return respond(outcome, enterprise_json, 201)


@bp.route("/enterprises/<int:enterprise_id>", methods=["PUT", "PATCH"])
@roles_required(*EDITORS)
def update_enterprise_api(enterprise_id: int):
    """Update an enterprise; the body carries the `version` it was read at (409 if it moved on).
    ---
    put:
      summary: 修改企业（整体替换）
      description: 未提交的字段被清空；须带读取时的 version。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/EnterpriseUpdate"}
      responses:
        "200":
          description: 修改后的企业
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Enterprise"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
    patch:
      summary: 修改企业（部分字段）
      description: 只修改提交的字段；须带读取时的 version。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/EnterpriseUpdate"}
      responses:
        "200":
          description: 修改后的企业
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Enterprise"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
    """
    target = get_visible_or_404(Enterprise, enterprise_id)
    body = json_body()
    version = whole_number(body, "version", "请求须包含整数 version（读取该企业时的版本号）")
    # PATCH changes only the fields sent; PUT replaces them all.
    current = current_values(target) if request.method == "PATCH" else {}
    merged = {**current, **body}
    merged["district"] = merged.get("district")
    return respond(commit(lambda: update_enterprise(target, merged, version)), enterprise_json)
