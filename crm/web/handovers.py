"""线索交办 pages: the list (handed to my unit, handed by me, by light), hand a lead on from its
page, a handover's page with its steps, deadlines and lights, the duplicates found, and the
answers (accept, ask a manager to decide, return with a reason, withdraw) and records (研判, reply
to the referrer, progress report). The rules are crm.supervision.handovers'.

A district reads what was handed to it or by it and the handovers of its own leads; anything else
is a 404."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.auth.models import DISTRICT
from crm.auth.permissions import get_visible, get_visible_or_404, roles_required
from crm.core.forms import BaseForm, choices
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.leads.models import Lead
from crm.places.service import active_divisions, all_districts
from crm.supervision.handovers import (
    HandoverConflict,
    HandoverFilter,
    accept,
    add_record,
    ask_decision,
    hand_over,
    handover_light,
    handover_query,
    is_receiver,
    may_answer,
    may_hand_over,
    may_record,
    may_withdraw,
    open_steps,
    return_handover,
    visible_duplicates,
    withdraw,
)
from crm.supervision.items import ITEM_READERS
from crm.supervision.models import HANDOVER_STATUSES, Handover, HandoverRecord, HandoverStatus, RecordKind
from crm.supervision.rules import LIGHT_LABELS, current
from crm.web.saving import flash_form_errors, save

bp = Blueprint("handovers", __name__)


class HandOverForm(BaseForm):
    to = SelectField("承接单位", choices=[], validate_choice=False, default="")
    note = TextAreaField("交办说明（企业诉求、对接人、已做的工作）", render_kw={"rows": 3})


class AnswerForm(BaseForm):
    answer = TextAreaField("说明（退回、提请裁定须写明理由）", render_kw={"rows": 2})
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class RecordForm(BaseForm):
    kind = SelectField("类型", choices=choices((k, k) for k in RecordKind), validate_choice=False)
    body = TextAreaField("内容", render_kw={"rows": 3})


def receiver_choices(user) -> dict:
    """The units a user may hand a lead to: a district's staff only the bureau's divisions."""
    groups = {
        "": [("", "（请选择）")],
        "市招商投资局处室": [(f"v{d.id}", d.name) for d in active_divisions()],
    }
    if user.role != DISTRICT:
        groups["区县（开发区）"] = [(f"d{d.id}", d.name) for d in all_districts()]
    return groups


@bp.route("/handovers")
@roles_required(*ITEM_READERS)
def index():
    today = today_local()
    filters = HandoverFilter.from_args(request.args)
    page = paginate(handover_query(filters, current_user, today))
    return render_template(
        "handovers/index.html",
        page=page,
        filters=filters,
        lights={h.id: handover_light(h, today) for h in page.items},
        steps={h.id: open_steps(h, today) for h in page.items},
        statuses=HANDOVER_STATUSES,
        light_labels=LIGHT_LABELS,
    )


@bp.route("/leads/<int:lead_id>/handover", methods=["GET", "POST"])
@roles_required(*ITEM_READERS)
def new(lead_id: int):
    """Hand a lead to a unit (a district's staff: report it up to a division)."""
    lead = get_visible_or_404(Lead, lead_id)
    if not may_hand_over(current_user, lead):
        abort(403)
    form = HandOverForm()
    form.to.choices = receiver_choices(current_user)
    if request.method == "POST":
        if form.validate_on_submit():
            by = current_user._get_current_object()
            saved = save(
                lambda: hand_over(lead, form.to.data, form.note.data, by),
                lambda h: f"已{h.direction}{h.receiver.name}，并已通知承接单位。",
                form=form,
            )
            if saved.ok:
                return redirect(url_for("handovers.detail", handover_id=saved.value.id))
        else:
            flash_form_errors(form)
    shown, hidden = visible_duplicates(lead, current_user)
    return render_template(
        "handovers/new.html", form=form, lead=lead, rules=current(), duplicates=shown, hidden=hidden
    )


def _handover(handover_id: int) -> Handover:
    stmt = (
        handover_query(HandoverFilter(), current_user)
        .where(Handover.id == handover_id)
        .options(
            selectinload(Handover.records).joinedload(HandoverRecord.created_by),
            joinedload(Handover.answered_by),
        )
    )
    return db.first_or_404(stmt)


def _detail_page(handover: Handover, answer_form=None, record_form=None):
    waiting = handover.status in (HandoverStatus.PENDING, HandoverStatus.DECIDING)
    shown, hidden = visible_duplicates(handover.lead, current_user) if waiting else ([], 0)
    return render_template(
        "handovers/detail.html",
        handover=handover,
        steps=open_steps(handover),
        light=handover_light(handover),
        duplicates=shown,
        hidden=hidden,
        answer_form=answer_form or AnswerForm(formdata=None, version=handover.version),
        record_form=record_form or RecordForm(formdata=None),
        may_answer=waiting and may_answer(current_user, handover),
        may_decide=handover.status == HandoverStatus.PENDING and is_receiver(current_user, handover),
        may_withdraw=waiting and may_withdraw(current_user, handover),
        may_record=handover.status == HandoverStatus.ACCEPTED and may_record(current_user, handover),
        lead_visible=get_visible(Lead, handover.lead_id) is not None,
    )


@bp.route("/handovers/<int:handover_id>")
@roles_required(*ITEM_READERS)
def detail(handover_id: int):
    return _detail_page(_handover(handover_id))


ANSWERS = {
    "accept": (lambda h, f, by: accept(h, by, f.version.data, f.answer.data), "已接收该线索。"),
    "decide": (lambda h, f, by: ask_decision(h, by, f.answer.data, f.version.data), "已提请处室负责人裁定。"),
    "return": (lambda h, f, by: return_handover(h, by, f.answer.data, f.version.data), "已退回该线索。"),
    "withdraw": (lambda h, f, by: withdraw(h, by, f.version.data), "已撤回该交办。"),
}


@bp.route("/handovers/<int:handover_id>/<action>", methods=["POST"])
@roles_required(*ITEM_READERS)
def answer(handover_id: int, action: str):
    if action not in ANSWERS:
        abort(404)
    handover = _handover(handover_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(handover, answer_form=form), 400
    verb, done = ANSWERS[action]
    by = current_user._get_current_object()
    saved = save(lambda: verb(handover, form, by), done, form=form)
    if saved.ok:
        return redirect(url_for("handovers.detail", handover_id=handover_id))
    fresh = _handover(handover_id)
    form.version.data, form.version.raw_data = fresh.version, [str(fresh.version)]
    return _detail_page(fresh, answer_form=form), (409 if isinstance(saved.error, HandoverConflict) else 400)


@bp.route("/handovers/<int:handover_id>/records", methods=["POST"])
@roles_required(*ITEM_READERS)
def record(handover_id: int):
    handover = _handover(handover_id)
    form = RecordForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(handover, record_form=form), 400
    by = current_user._get_current_object()
    saved = save(lambda: add_record(handover, form.kind.data, form.body.data, by), "已记录。", form=form)
    if saved.ok:
        return redirect(url_for("handovers.detail", handover_id=handover_id) + "#records")
    return _detail_page(_handover(handover_id), record_form=form), 400
