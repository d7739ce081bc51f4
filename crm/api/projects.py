"""/api/v1/projects: list (the project list's filters), read with updates, append an update."""

from flask import jsonify, request
from flask_login import current_user

from crm.api.common import bp, json_body, respond
from crm.api.serializers import project_json, project_update_json
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.pagination import page_json, paginate
from crm.core.timeutil import today_local
from crm.core.transaction import commit
from crm.projects.models import Project
from crm.projects.service import (
    LISTED,
    UPDATE_REPORTERS,
    ProjectFilter,
    add_update_retrying,
    visible_projects,
)


@bp.route("/projects")
def projects():
    """Projects the user may see (district users: their district's), with the list page's filters.
    ---
    get:
      summary: 项目列表
      description: 当前用户可见的项目（区县专员只见本区县的），可按项目列表页的条件筛选，按编号排序、分页。
      parameters:
        - {name: q, in: query, description: 搜索项目名称和企业名称, schema: {type: string}}
        - {name: stage, in: query, description: 阶段, schema: {type: string}}
        - {name: health, in: query, description: 进度状况, schema: {type: string}}
        - name: reached
          in: query
          description: 只列已达到该阶段及之后的项目（不含已终止）
          schema: {type: string}
        - {name: live, in: query, description: 为 1 时不含已终止的项目, schema: {type: string, enum: ["1"]}}
        - {name: district, in: query, description: 落地区县, schema: {type: string}}
        - {name: cluster, in: query, description: 产业集群代码, schema: {type: string}}
        - {name: sector, in: query, description: 产业领域代码, schema: {type: string}}
        - name: signed_from
          in: query
          description: 签约日期起（YYYY-MM-DD）
          schema: {type: string, format: date}
        - name: signed_to
          in: query
          description: 签约日期止（YYYY-MM-DD）
          schema: {type: string, format: date}
        - Page
        - PerPage
      responses:
        "200":
          description: 一页项目
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ProjectPage"}
    """
    today = today_local()
    filters = ProjectFilter.from_args(request.args)
    stmt = visible_projects(filters, today).order_by(Project.id)
    return jsonify(page_json(paginate(stmt.options(*LISTED)), lambda p: project_json(p, today)))


@bp.route("/projects/<int:project_id>")
def project(project_id: int):
    """One project with its milestones and its updates, oldest first.
    ---
    get:
      summary: 项目详情
      description: 含节点计划与实际日期，以及全部进展填报（最早的在前）。
      responses:
        "200":
          description: 项目
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ProjectDetail"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    target = get_visible_or_404(Project, project_id)
    return jsonify(
        {**project_json(target, today_local()), "updates": [project_update_json(u) for u in target.updates]}
    )


@bp.route("/projects/<int:project_id>/updates", methods=["POST"])
@roles_required(*UPDATE_REPORTERS)
def create_project_update_api(project_id: int):
    """Append a progress update (or a correction: `corrects_id`); the project's figures follow.
    ---
    post:
      summary: 填报项目进展
      description: 追加一条进展（或以 corrects_id 更正此前的一条）；项目的阶段和数字随之更新。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ProjectUpdateInput"}
      responses:
        "201":
          description: 已填报的进展及更新后的项目
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ProjectUpdateCreated"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
        "409": {$ref: "#/components/responses/Conflict"}
    """
    get_visible_or_404(Project, project_id)  # 404 before the body is even read
    body = json_body()
    by = current_user._get_current_object()
    outcome = commit(lambda: add_update_retrying(lambda: get_visible_or_404(Project, project_id), body, by))
    return respond(
        outcome,
        lambda update: {
            **project_update_json(update),
            "project": project_json(update.project, today_local()),
        },
        201,
    )
