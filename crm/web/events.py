"""招商活动 pages: the list with its filters and export, record and edit an event, its page with the
enterprises met (added by name or credit code, with one of their leads) and its files (uploaded,
fetched and deleted by crm.web.attachments), delete. Every rule and
query is the events service's; these views read the request and render.

Officers, managers and district staff use them (admins see nothing of events); a district user
reads only the events in their district's scope, and inside one only the firms and leads they may
see anyway; another district's event is a 404 on every route."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional
from wtforms.widgets import HiddenInput

from crm.audit.history import changes_since
from crm.auth.permissions import get_changeable_or_403, get_visible_or_404, roles_required, scoped
from crm.core.forms import BaseForm, choices
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.events.models import EVENT_KINDS, Event, EventEnterprise
from crm.events.service import (
    EVENT_DELETERS,
    EVENT_RECORDERS,
    EventConflict,
    EventFilter,
    create_event,
    delete_event,
    enterprise_candidates,
    event_query,
    event_values,
    leads_to_offer,
    link_met,
    may_change_event,
    may_delete_event,
    unlink_met,
    update_event,
    visible_firm_ids,
    visible_met,
)
from crm.extensions import db
from crm.places.service import active_divisions, all_districts, district_choices, division_choices
from crm.projects.attachments import live_attachments
from crm.web.exports import send_xlsx, streamed
from crm.web.saving import flash_form_errors, save

bp = Blueprint("events", __name__, url_prefix="/events")


class EventForm(BaseForm):
    """An event's fields; the service checks every value (choices included), so a refusal reads
    the same from the form, the import and any other caller."""

    kind = SelectField("活动类型", choices=[], validate_choice=False)
    title = StringField("活动名称")
    held_on = StringField("开始日期", render_kw={"type": "date"})
    ends_on = StringField("结束日期（一天的活动不填）", render_kw={"type": "date"})
    place = StringField("地点")
    division = SelectField("主办处室", choices=[], validate_choice=False, default="")
    district = SelectField("主办区县", choices=[], validate_choice=False, default="")
    participants = StringField("参加人员")
    outcome = TextAreaField("成效", render_kw={"rows": 4})
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    # No input of its own: it carries the message about the organiser as a whole (none or both
    # chosen), shown above the two selects.
    organiser = StringField("主办单位", render_kw={"type": "hidden"})


class MetForm(BaseForm):
    """Add an enterprise met: typed by name or credit code; when that names several firms, or a
    firm with leads, the page comes back with the choices (`choice` = "firm id:lead id")."""

    enterprise = StringField("企业名称或统一社会信用代码")
    choice = StringField("选择", render_kw={"type": "hidden"})
    note = StringField("说明（可选）")


class DeleteForm(BaseForm):
    confirm = BooleanField("我已确认：删除该活动及其接洽企业记录（删除记入审计日志）")


def _event_form(event: Event | None = None) -> EventForm:
    form = EventForm()
    form.kind.choices = choices([("", "（请选择）"), *((k, k) for k in EVENT_KINDS)])
    # An event organised by a division since retired keeps it among the choices.
    form.division.choices = division_choices("（非处室主办）", keep=event.division_id if event else None)
    form.district.choices = district_choices("（非区县主办）")
    return form


@bp.route("")
@roles_required(*EVENT_RECORDERS)
def index():
    """Events the user may see, filtered by kind, organiser, start-date range and text."""
    filters = EventFilter.from_args(request.args)
    page = paginate(event_query(filters, current_user))
    return render_template(
        "events/index.html",
        page=page,
        met=visible_met(page.items, current_user),
        filters=filters,
        kinds=EVENT_KINDS,
        divisions=active_divisions(),
        districts=all_districts(),
    )


@bp.route("/export.xlsx")
@roles_required(*EVENT_RECORDERS)
def export():
    """What the list shows (all pages, same filters), within the user's scope, as Excel."""
    filters = EventFilter.from_args(request.args)
    firms = visible_firm_ids(filters, current_user)

    def met(event: Event) -> list[str]:
        return [link.enterprise.name for link in event.met if firms is None or link.enterprise_id in firms]

    columns = [
        ("开始日期", lambda e: e.held_on, 12),
        ("结束日期", lambda e: e.ends_on, 12),
        ("活动类型", lambda e: e.kind, 12),
        ("活动名称", lambda e: e.title, 36),
        ("主办单位", lambda e: e.organiser, 16),
        ("地点", lambda e: e.place, 16),
        ("参加人员", lambda e: e.participants, 20),
        ("成效", lambda e: e.outcome, 30),
        ("接洽企业数", lambda e: len(met(e)), 10),
        ("接洽企业", lambda e: "、".join(met(e)), 40),
        ("登记人", lambda e: e.created_by.display_name if e.created_by else "", 10),
    ]
    stmt = event_query(filters, current_user).options(selectinload(Event.created_by))
    return send_xlsx("events", "招商活动", columns, streamed(stmt), "招商活动.xlsx")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EVENT_RECORDERS)
def new():
    """Record an event; a district user's is organised by their own district."""
    form = _event_form()
    if request.method == "GET":
        form.held_on.data = today_local().isoformat()
    elif form.validate_on_submit():
        by = current_user._get_current_object()
        saved = save(lambda: create_event(form.data, by), "已登记招商活动。", form=form)
        if saved.ok:
            return redirect(url_for("events.detail", event_id=saved.value.id))
    else:
        flash_form_errors(form)
    return render_template("events/form.html", form=form, event=None, conflict=[])


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@roles_required(*EVENT_RECORDERS)
def edit(event_id: int):
    """Edit an event; a save over someone else's newer save is refused with what they changed,
    and the form keeps what was typed (saving again from there is a knowing overwrite)."""
    event = get_changeable_or_403(Event, event_id, may_change_event)
    form = _event_form(event)
    conflict = []
    if request.method == "GET":
        form.process(data=event_values(event))
    elif form.validate_on_submit():
        by, seen = current_user._get_current_object(), form.version.data or 0
        saved = save(
            lambda: update_event(event, form.data, by, seen),
            "已保存招商活动。",
            form=form,
            shown_by_page=(EventConflict,),
        )
        if saved.ok:
            return redirect(url_for("events.detail", event_id=event.id))
        if isinstance(saved.error, EventConflict):
            event = get_visible_or_404(Event, event_id)
            conflict = changes_since(event, seen)
            # The version now on file (the posted one would be rendered back): saving again from
            # this page overwrites knowingly.
            form.version.data, form.version.raw_data = event.version, [str(event.version)]
            flash(str(saved.error), "danger")
    else:
        flash_form_errors(form)
    return render_template("events/form.html", form=form, event=event, conflict=conflict)


@bp.route("/<int:event_id>")
@roles_required(*EVENT_RECORDERS)
def detail(event_id: int):
    """An event with the enterprises met (those the user may see)."""
    return _detail_page(_event(event_id))


def _event(event_id: int) -> Event:
    """The event if the user may see it (else 404), with what its page prints."""
    stmt = select(Event).where(Event.id == event_id)
    stmt = stmt.options(
        selectinload(Event.met).joinedload(EventEnterprise.enterprise),
        selectinload(Event.met).joinedload(EventEnterprise.lead),
        joinedload(Event.created_by),
    )
    return db.first_or_404(scoped(stmt, Event, current_user))


def _detail_page(event: Event, met_form: MetForm | None = None, options=None):
    """An event's page; after a refused or ambiguous add, `met_form` comes back as typed and
    `options` lists the (value, firm, lead) to choose from."""
    return render_template(
        "events/detail.html",
        event=event,
        attachments=live_attachments(event),
        attachment_owner=event,
        met=visible_met([event], current_user)[event.id],
        may_change=may_change_event(current_user, event),
        may_delete=may_delete_event(current_user),
        met_form=met_form or MetForm(formdata=None),
        options=options or [],
        delete_form=DeleteForm(formdata=None),
    )


def _options(firms, user) -> list[tuple[str, object, object]]:
    """The choices of an add: each firm without a lead, then with each of its leads the user sees."""
    leads = leads_to_offer(firms, user)
    options = []
    for firm in firms:
        options.append((f"{firm.id}:", firm, None))
        options += [(f"{firm.id}:{lead.id}", firm, lead) for lead in leads[firm.id]]
    return options


@bp.route("/<int:event_id>/enterprises", methods=["POST"])
@roles_required(*EVENT_RECORDERS)
def add_enterprise(event_id: int):
    """Add an enterprise met: by name or credit code; a choice when that is not enough."""
    event = get_changeable_or_403(Event, event_id, may_change_event)
    form, by = MetForm(), current_user._get_current_object()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _detail_page(_event(event_id), form)
    choice = (form.choice.data or "").strip()
    if not choice:
        firms = enterprise_candidates(form.enterprise.data, by)
        if not firms:
            typed = (form.enterprise.data or "").strip()
            message = (
                f"企业库中没有“{typed[:64]}”（或不在您的查看范围内），请先新建该企业"
                if typed
                else "请填写企业名称或统一社会信用代码"
            )
            form.enterprise.errors = [message]
            flash(message, "danger")
            return _detail_page(_event(event_id), form)
        options = _options(firms, by)
        if len(options) > 1:
            # Several firms fit, or the firm has leads: the user says which (nothing saved yet).
            flash("请在下方选择接洽的企业，以及本次接洽涉及的线索（可不选线索），再点击“确认添加”。", "info")
            return _detail_page(_event(event_id), form, options)
        choice = options[0][0]
    firm_id, _, lead_id = choice.partition(":")
    saved = save(
        lambda: link_met(event, firm_id, lead_id, form.note.data, by),
        lambda link: f"已添加接洽企业“{link.enterprise.name}”。",
        form=form,
    )
    if saved.ok:
        return redirect(url_for("events.detail", event_id=event_id) + "#met")
    return _detail_page(_event(event_id), form)


@bp.route("/<int:event_id>/enterprises/<int:link_id>/delete", methods=["POST"])
@roles_required(*EVENT_RECORDERS)
def remove_enterprise(event_id: int, link_id: int):
    """Remove an enterprise met from the event."""
    event = get_changeable_or_403(Event, event_id, may_change_event)
    by = current_user._get_current_object()
    if DeleteForm().validate_on_submit():  # the CSRF token
        save(lambda: unlink_met(event, link_id, by), "已移除该接洽企业。")
    else:
        flash("页面已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。", "danger")
    return redirect(url_for("events.detail", event_id=event_id) + "#met")


@bp.route("/<int:event_id>/delete", methods=["POST"])
@roles_required(*EVENT_DELETERS)
def delete(event_id: int):
    """Delete an event (managers), once the confirmation box is ticked."""
    event = get_visible_or_404(Event, event_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    elif not form.confirm.data:
        flash("请先勾选确认，再删除该活动", "danger")
    elif files := live_attachments(event):
        # Deleting the event would take its files' records with it: that is done file by file,
        # each deletion seen and audited, before the event goes.
        flash(f"该活动还有 {len(files)} 个附件，请先在“活动附件”中逐个删除，再删除该活动", "danger")
    else:
        title, by = event.title, current_user._get_current_object()
        if save(lambda: delete_event(event, by), f"已删除招商活动“{title}”。").ok:
            return redirect(url_for("events.index"))
    return redirect(url_for("events.detail", event_id=event_id))
