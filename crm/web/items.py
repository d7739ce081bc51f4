"""督办事项 pages: the list with its filters, its counts per responsible unit and its export; raise
an item on a project (from one of its updates' 需协调事项 in one click, or directly); an item's page
with its replies, taking it on, closing it with a result, withdrawing it; changing its deadline or
unit. Every rule and query is crm.supervision.items'; these views read the request and render.

Officers, managers and district staff use them (admins see none); a district reads the items on
its own projects and the items given to it, and another district's item is a 404 on every route."""

from dataclasses import replace

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.core.converters import record_id
from crm.core.forms import BaseForm, choices
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.places.service import all_districts, division_choices
from crm.projects.models import Project, ProjectUpdate
from crm.supervision.items import (
    ITEM_READERS,
    ItemConflict,
    ItemFilter,
    cancel_item,
    change_item,
    close_item,
    closed_late,
    create_item,
    default_deadline,
    item_light,
    item_query,
    item_values,
    light_counts,
    may_raise_item,
    may_reply,
    may_steer,
    may_work,
    reply_to,
    take_on,
    unit_counts,
)
from crm.supervision.models import CATEGORIES, ITEM_STATUSES, Item, ItemReply, ItemStatus
from crm.supervision.rules import LIGHT_LABELS, current
from crm.web.exports import send_xlsx, streamed
from crm.web.saving import flash_form_errors, save

bp = Blueprint("items", __name__)


def responsible_choices(keep_division: int | None = None) -> dict:
    """The units an item can be given to, grouped (a <select> with 处室 and 区县 groups); an item
    given to a division since retired keeps it among them."""
    return {
        "": [("", "（请选择；其他部门在下方填写）")],
        "市招商投资局处室": [(c.value, c.label) for c in division_choices("", keep_division)[1:]],
        "区县（开发区）": [(d.name, d.name) for d in all_districts()],
    }


class ItemForm(BaseForm):
    description = TextAreaField("事项内容", render_kw={"rows": 4})
    category = SelectField("类别", choices=[], validate_choice=False)
    deadline = StringField("办理时限", render_kw={"type": "date"})
    responsible = SelectField("责任单位", choices=[], validate_choice=False, default="")
    department = StringField("或：其他责任部门（如 市规划自然资源局）")
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class ReplyForm(BaseForm):
    body = TextAreaField("内容", render_kw={"rows": 3})
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


def _item_form(item: Item | None = None) -> ItemForm:
    form = ItemForm()
    form.category.choices = choices([("", "（请选择）"), *((c, c) for c in CATEGORIES)])
    form.responsible.choices = responsible_choices(item.division_id if item else None)
    return form


@bp.route("/items")
@roles_required(*ITEM_READERS)
def index():
    """Items the user may see, filtered; the counts per unit and by light of the same filter."""
    today = today_local()
    filters = ItemFilter.from_args(request.args)
    stmt = item_query(filters, current_user, today)
    page = paginate(stmt)
    return render_template(
        "items/index.html",
        page=page,
        filters=filters,
        today=today,
        units=unit_counts(stmt, today),
        # By light over the same filter but the light, so each light's link opens that many.
        lights=light_counts(item_query(replace(filters, light=""), current_user, today), today),
        light_of={item.id: item_light(item, today) for item in page.items},
        late={item.id for item in page.items if closed_late(item)},
        statuses=ITEM_STATUSES,
        categories=CATEGORIES,
        light_labels=LIGHT_LABELS,
        yellow_days=current().item_yellow_days,
    )


@bp.route("/items/export.xlsx")
@roles_required(*ITEM_READERS)
def export():
    """What the list shows (all pages, same filters), within the user's scope, as Excel."""
    today = today_local()
    filters = ItemFilter.from_args(request.args)
    light_words = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
    columns = [
        ("编号", lambda i: i.id, 8),
        ("项目", lambda i: i.project.name, 28),
        ("落地区县", lambda i: i.project.district.name, 12),
        ("类别", lambda i: i.category, 8),
        ("事项内容", lambda i: i.description, 40),
        ("责任单位", lambda i: i.responsible.name, 16),
        ("办理时限", lambda i: i.deadline, 12),
        ("状态", lambda i: i.status, 8),
        ("灯", lambda i: light_words.get(item_light(i, today) or "", ""), 6),
        ("办理结果", lambda i: i.result, 30),
        ("提出人", lambda i: i.created_by.display_name if i.created_by else "", 10),
    ]
    return send_xlsx(
        "supervision_items",
        "督办事项",
        columns,
        streamed(item_query(filters, current_user, today)),
        "督办事项.xlsx",
    )


def _project(project_id: int) -> Project:
    return get_visible_or_404(Project, project_id)


@bp.route("/projects/<int:project_id>/items/new", methods=["GET", "POST"])
@roles_required(*ITEM_READERS)
def new(project_id: int):
    """Raise an item on a project; `?update=<id>` starts from that update's 需协调事项."""
    project = _project(project_id)
    if not may_raise_item(current_user, project):
        abort(403)
    update = None
    update_id = record_id(request.values.get("update"))
    if update_id is not None:
        update = db.session.get(ProjectUpdate, update_id)
        if update is None or update.project_id != project.id:
            update = None
    form = _item_form()
    if request.method == "GET":
        form.process(
            data={
                "description": update.issues if update is not None else "",
                "deadline": default_deadline().isoformat(),
            }
        )
    elif form.validate_on_submit():
        by = current_user._get_current_object()
        saved = save(
            lambda: create_item(project, form.data, by, update),
            raised,
            form=form,
        )
        if saved.ok:
            return redirect(url_for("items.detail", item_id=saved.value.id))
    else:
        flash_form_errors(form)
    return render_template("items/form.html", form=form, project=project, update=update, item=None)


def raised(item: Item) -> str:
    if item.department:  # another department has no accounts here: whoever raised it follows it
        return f"已提出督办事项，责任单位为{item.department}（系统外部门，请由您跟进并记录其答复）。"
    return "已提出督办事项，并已通知责任单位。"


def _item(item_id: int) -> Item:
    stmt = (
        item_query(ItemFilter(), current_user)
        .where(Item.id == item_id)
        .options(selectinload(Item.replies).joinedload(ItemReply.created_by), joinedload(Item.update))
    )
    return db.first_or_404(stmt)


def _detail_page(item: Item, form: ReplyForm | None = None, action: str = ""):
    project_visible = (
        db.session.scalar(
            scoped(db.select(Project.id), Project, current_user).where(Project.id == item.project_id)
        )
        is not None
    )
    return render_template(
        "items/detail.html",
        item=item,
        light=item_light(item),
        late=closed_late(item),
        light_labels=LIGHT_LABELS,
        form=form or ReplyForm(formdata=None, version=item.version),
        action=action,
        project_visible=project_visible,
        may_reply=may_reply(current_user, item),
        may_work=may_work(current_user, item) and item.is_open,
        may_take=may_work(current_user, item) and item.status == ItemStatus.OPEN,
        may_steer=may_steer(current_user, item) and item.is_open,
    )


@bp.route("/items/<int:item_id>")
@roles_required(*ITEM_READERS)
def detail(item_id: int):
    return _detail_page(_item(item_id))


ACTIONS = {
    "reply": (lambda item, form, by: reply_to(item, form.body.data, by), "已回复。"),
    "take": (lambda item, form, by: take_on(item, by, form.version.data, form.body.data), "已开始办理。"),
    "close": (
        lambda item, form, by: close_item(item, form.body.data, by, form.version.data),
        "已办结该事项。",
    ),
    "cancel": (
        lambda item, form, by: cancel_item(item, form.body.data, by, form.version.data),
        "已撤销该事项。",
    ),
}


@bp.route("/items/<int:item_id>/<action>", methods=["POST"])
@roles_required(*ITEM_READERS)
def act(item_id: int, action: str):
    """Reply, take on, close with a result, or withdraw with a reason; a refusal keeps the text
    typed beside the box it concerns."""
    if action not in ACTIONS:
        abort(404)
    item = _item(item_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(item, form, action), 400
    verb, done = ACTIONS[action]
    by = current_user._get_current_object()
    saved = save(lambda: verb(item, form, by), done, form=form)
    if saved.ok:
        return redirect(url_for("items.detail", item_id=item_id) + "#replies")
    return _detail_page(_item(item_id), form, action), (409 if isinstance(saved.error, ItemConflict) else 400)


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(*ITEM_READERS)
def edit(item_id: int):
    """Change an open item's content, deadline or responsible unit (whoever raised it, managers)."""
    item = _item(item_id)
    if not may_steer(current_user, item) or not item.is_open:
        abort(403)
    form = _item_form(item)
    if request.method == "GET":
        form.process(data=item_values(item))
    elif form.validate_on_submit():
        by = current_user._get_current_object()
        saved = save(
            lambda: change_item(item, form.data, by, form.version.data), "已调整督办事项。", form=form
        )
        if saved.ok:
            return redirect(url_for("items.detail", item_id=item.id))
        if isinstance(saved.error, ItemConflict):
            fresh = _item(item_id)
            form.version.data, form.version.raw_data = fresh.version, [str(fresh.version)]
    else:
        flash_form_errors(form)
    return render_template("items/form.html", form=form, project=item.project, update=item.update, item=item)
