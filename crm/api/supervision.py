"""/api/v1/items (督办事项: list, read with replies, raise on a project, reply) and
/api/v1/notifications (the caller's own, and marking them read). Scoped as the pages are: a
district reads its projects' items and those given to it; another district's item is a 404."""

from flask import jsonify, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.api.common import bp, json_body, respond
from crm.api.serializers import item_json, item_reply_json, notification_json
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.inputs import InvalidInput
from crm.core.pagination import page_json, paginate
from crm.core.timeutil import today_local
from crm.core.transaction import commit
from crm.extensions import db
from crm.inbox.service import RECEIVERS, inbox_query, mark_read, unread_count
from crm.projects.models import Project
from crm.supervision.items import ITEM_READERS, ItemFilter, create_item, item_light, item_query, reply_to
from crm.supervision.models import Item, ItemReply

NOTIFICATIONS_LISTED = 200


def _item(item_id: int) -> Item:
    stmt = item_query(ItemFilter(), current_user).where(Item.id == item_id)
    return db.first_or_404(stmt.options(selectinload(Item.replies).joinedload(ItemReply.created_by)))


def _detail(item: Item) -> dict:
    return {**item_json(item, item_light(item)), "replies": [item_reply_json(r) for r in item.replies]}


@bp.route("/items")
@roles_required(*ITEM_READERS)
def items():
    """督办事项 the caller may see, with the list page's filters; open ones first, worst light first.
    ---
    get:
      summary: 督办事项列表
      description: 当前用户可见的督办事项（区县专员：本区县项目的和交给本区县的），筛选同督办事项页，分页。
      parameters:
        - {name: status, in: query, description: 状态（待办、办理中、已办结、已撤销）, schema: {type: string}}
        - {name: open, in: query, description: 为 1 时只列未办结的, schema: {type: string, enum: ["1"]}}
        - name: light
          in: query
          description: 灯（red 已逾期、yellow 临近期限、green 按期）
          schema: {type: string, enum: [red, yellow, green]}
        - {name: category, in: query, description: 类别, schema: {type: string}}
        - {name: project, in: query, description: 项目编号, schema: {type: integer}}
        - {name: mine, in: query, description: 为 1 时只列交给本单位的, schema: {type: string, enum: ["1"]}}
        - {name: q, in: query, description: 搜索事项内容和项目名称, schema: {type: string}}
        - Page
        - PerPage
      responses:
        "200":
          description: 一页督办事项
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ItemPage"}
        "403": {$ref: "#/components/responses/Forbidden"}
    """
    today = today_local()
    stmt = item_query(ItemFilter.from_args(request.args), current_user, today)
    return jsonify(page_json(paginate(stmt), lambda item: item_json(item, item_light(item, today))))


@bp.route("/items/<int:item_id>")
@roles_required(*ITEM_READERS)
def item(item_id: int):
    """One 督办事项 with its replies, oldest first.
    ---
    get:
      summary: 督办事项详情
      description: 含全部回复与办理记录（最早的在前）。
      responses:
        "200":
          description: 督办事项
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ItemDetail"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    return jsonify(_detail(_item(item_id)))


@bp.route("/projects/<int:project_id>/items", methods=["POST"])
@roles_required(*ITEM_READERS)
def create_item_api(project_id: int):
    """Raise a 督办事项 on a project; the responsible unit's people are notified.
    ---
    post:
      summary: 提出督办事项
      description: 为项目提出督办事项，交给责任单位（处室、区县或其他部门）限期办结；责任单位的人员收到通知。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ItemInput"}
      responses:
        "201":
          description: 已提出的督办事项
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ItemDetail"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = get_visible_or_404(Project, project_id)  # 404 before the body is even read
    body = json_body()
    by = current_user._get_current_object()
    return respond(commit(lambda: create_item(project, body, by)), _detail, 201)


@bp.route("/items/<int:item_id>/replies", methods=["POST"])
@roles_required(*ITEM_READERS)
def reply_item_api(item_id: int):
    """Reply on a 督办事项; whoever raised it and its unit are notified.
    ---
    post:
      summary: 回复督办事项
      description: 追加一条回复（只增不改）；提出人和责任单位的人员收到通知。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/ItemReplyInput"}
      responses:
        "201":
          description: 已追加的回复
          content:
            application/json:
              schema: {$ref: "#/components/schemas/ItemReply"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "403": {$ref: "#/components/responses/Forbidden"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    target = _item(item_id)
    body = json_body()
    by = current_user._get_current_object()
    return respond(commit(lambda: reply_to(target, body.get("body"), by)), item_reply_json, 201)


@bp.route("/notifications")
@roles_required(*RECEIVERS)
def notifications():
    """The caller's own notifications, newest first (at most 200; `unread=1`: the unread only).
    ---
    get:
      summary: 我的通知
      description: 当前用户自己的通知，最新的在前（最多 200 条）；unread=1 时只列未读的。
      parameters:
        - {name: unread, in: query, description: 为 1 时只列未读, schema: {type: string, enum: ["1"]}}
      responses:
        "200":
          description: 通知
          content:
            application/json:
              schema: {$ref: "#/components/schemas/NotificationList"}
        "403": {$ref: "#/components/responses/Forbidden"}
    """
    stmt = inbox_query(current_user, unread=request.args.get("unread") == "1").limit(NOTIFICATIONS_LISTED)
    return jsonify(
        {
            "items": [notification_json(n) for n in db.session.scalars(stmt)],
            "unread": unread_count(current_user),
        }
    )


@bp.route("/notifications/read", methods=["POST"])
@roles_required(*RECEIVERS)
def read_notifications():
    """Mark the caller's notifications read: `ids`, or `all: true`.
    ---
    post:
      summary: 标记通知已读
      description: 将自己的通知标为已读：ids 列出的，或 all 为 true 时全部；他人的通知不受影响。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NotificationReadInput"}
      responses:
        "200":
          description: 标为已读的条数
          content:
            application/json:
              schema: {$ref: "#/components/schemas/NotificationRead"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "403": {$ref: "#/components/responses/Forbidden"}
    """
    body = json_body()
    ids = body.get("ids")
    if body.get("all") is True:
        ids = None
    elif not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInput("请给出 ids（通知编号的数组），或 all: true")
    user = current_user._get_current_object()
    return respond(commit(lambda: mark_read(user, ids)), lambda n: {"read": n})
