"""Lead pages: the list with filters, the kanban, 我的待办, a lead's page with its timeline, and the
verbs on it. Every query and rule is the leads service's; these views read the request and render."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.auth.models import ADMIN, MANAGER
from crm.auth.permissions import get_changeable_or_403, get_visible_or_404, roles_required
from crm.core.pagination import paginate
from crm.core.timeutil import today_local
from crm.enterprises.models import Enterprise
from crm.events.service import events_met
from crm.industry.service import all_clusters, all_sectors
from crm.leads.forms import FollowUpForm, LeadForm, MoveForm, SignForm
from crm.leads.models import BOARD, SOURCES, STAGES, Lead, LeadStage
from crm.leads.service import (
    LEAD_ASSIGNERS,
    LEAD_WORKERS,
    LISTED,
    SORT_LABELS,
    LeadFilter,
    add_follow_up,
    board_columns,
    create_lead,
    lead_values,
    may_change_lead,
    move_lead,
    possible_owners,
    reassign_lead,
    sign_lead,
    todo_lists,
    update_lead,
    visible_leads,
)
from crm.places.service import all_districts, district_choices
from crm.projects.service import project_of_lead
from crm.readmodels.learning import record_lead_choice
from crm.readmodels.matching import match_enterprise, suggest
from crm.readmodels.timeline import build_timeline
from crm.supervision.handovers import handover_light, lead_handovers, may_hand_over, should_report_up
from crm.supervision.items import may_read_items
from crm.web.exports import entry_codes, send_xlsx, streamed
from crm.web.saving import flash_form_errors, save

bp = Blueprint("leads", __name__, url_prefix="/leads")

TIMELINE_LIMIT = 200  # a lead's whole story fits; beyond it the page says older events are left off


def _lead_form() -> LeadForm:
    form = LeadForm()
    form.district.choices = district_choices("（未定）")
    return form


def _filtered():
    """The list's query with the request's filters and sort: the page and its export agree."""
    filters = LeadFilter.from_args(request.args, current_user)
    return filters.ordered(visible_leads(filters)), filters.sort


@bp.route("/")
def index():
    """Leads the user may see, filtered by stage, source, owner, sector, cluster, district, overdue
    and a created-date range, sorted as asked."""
    stmt, sort = _filtered()
    return render_template(
        "leads/index.html",
        page=paginate(stmt.options(*LISTED)),
        stages=STAGES,
        sources=SOURCES,
        sectors=all_sectors(),
        clusters=all_clusters(),
        districts=all_districts(),
        sorts=SORT_LABELS,
        sort=sort,
        today=today_local(),
    )


EXPORT_COLUMNS = [
    ("线索名称", lambda lead: lead.title, 30),
    ("企业", lambda lead: lead.enterprise.name, 30),
    ("阶段", lambda lead: lead.stage, 10),
    ("流失原因", lambda lead: lead.lost_reason or "", 12),
    ("来源", lambda lead: lead.source, 12),
    ("负责人", lambda lead: lead.owner.display_name, 10),
    ("目录条目", lambda lead: lead.catalogue_entry.code if lead.catalogue_entry else "", 12),
    ("意向区县", lambda lead: lead.intended_district.name if lead.intended_district else "", 14),
    ("意向投资（万元）", lambda lead: lead.intended_investment_wan, 14),
    ("最近联系", lambda lead: lead.last_contact_on, 12),
    ("下次跟进", lambda lead: lead.next_follow_up_on, 12),
]


@bp.route("/export.xlsx")
def export():
    """What the list shows (all pages, same filters), within the user's permissions, as Excel."""
    stmt, _ = _filtered()
    stmt = stmt.options(
        selectinload(Lead.enterprise).load_only(Enterprise.name),
        selectinload(Lead.owner),
        entry_codes(Lead.catalogue_entry),
        selectinload(Lead.intended_district),
    )
    return send_xlsx("leads", "招商线索", EXPORT_COLUMNS, streamed(stmt), "招商线索.xlsx")


@bp.route("/todo")
@roles_required(*LEAD_WORKERS)
def todo():
    """我的待办: my follow-ups due today or overdue, and my open leads with no contact in 30 days."""
    today = today_local()
    due, quiet = todo_lists(current_user, today)
    return render_template("leads/todo.html", due=due, quiet=quiet, today=today)


BOARD_FOLDED = (LeadStage.SIGNED, LeadStage.DORMANT)  # shown as a count unless unfolded


@bp.route("/board")
def board():
    """The pipeline as a kanban: a column per stage with its count and total intended investment,
    filtered by owner, cluster, district or catalogue entry; 签约 and 搁置 folded unless asked."""
    filters = LeadFilter.from_args(request.args, current_user)
    folded = () if request.args.get("unfold") == "1" else BOARD_FOLDED
    columns = board_columns(filters, BOARD, folded)
    return render_template(
        "leads/board.html",
        columns=columns,
        may_move={
            lead.id for column in columns for lead in column.cards if may_change_lead(current_user, lead)
        },
        move_form=MoveForm(formdata=None),
        folded=folded,
        filters=filters,
        owners=possible_owners(),
        clusters=all_clusters(),
        districts=all_districts(),
        board_query=request.query_string.decode("utf-8", "replace"),
    )


@bp.route("/new/<int:enterprise_id>", methods=["GET", "POST"])
@roles_required(*LEAD_WORKERS)
def new(enterprise_id: int):
    """Log a lead for an enterprise; its owner is the officer who logs it."""
    enterprise = get_visible_or_404(Enterprise, enterprise_id)
    if enterprise.merged_into_id is not None:
        # A page opened before a merge: the lead belongs on the kept record, whose page says so.
        return redirect(url_for("enterprises.detail", enterprise_id=enterprise.id))
    form = _lead_form()
    suggestions = suggest(enterprise)
    if request.method == "GET":
        # A bookmarked suggestion arrives as query parameters; the officer still saves.
        form.catalogue_code.data = request.args.get("catalogue_code", "")[:16]
        form.district.data = request.args.get("district", "")[:64]
    elif "adopt" in request.form:
        # 「采用」 submits the form as typed without saving it: the suggestion's entry and district
        # are filled in, everything else comes back unchanged.
        chosen = next((s for s in suggestions if s["code"] == request.form["adopt"]), None)
        if chosen is not None:
            form.catalogue_code.data, form.district.data = chosen["code"], chosen["district"]
    elif form.validate_on_submit():
        owner = current_user._get_current_object()
        shown = [s["code"] for s in suggestions]
        saved = save(lambda: _create_judged(enterprise, form.data, owner, shown), "已登记线索。", form=form)
        if saved.ok:
            return redirect(url_for("leads.detail", lead_id=saved.value.id))
    return render_template(
        "leads/form.html",
        form=form,
        enterprise=enterprise,
        lead=None,
        suggestions=suggestions,
        # No silent no-match: the form says why there is no suggestion; its picker is the answer.
        unmatched=[] if suggestions else match_enterprise(enterprise).why,
    )


def _create_judged(enterprise: Enterprise, data: dict, owner, shown: list[str]) -> Lead:
    """A new lead, and its entry kept as the officer's word on the suggestions (adopted or corrected)."""
    lead = create_lead(enterprise, data, owner)
    record_lead_choice(lead, owner, shown)
    return lead


@bp.route("/<int:lead_id>")
def detail(lead_id: int):
    """A lead with its timeline of follow-ups, stage changes and edits."""
    return _detail_page(get_visible_or_404(Lead, lead_id))


def _detail_page(lead: Lead, **forms):
    """A lead's page. `forms` are the ones a failed submit brings back with what was typed and the
    messages beside their fields; the others start fresh."""
    today = today_local()
    forms.setdefault(
        "follow_form",
        FollowUpForm(
            formdata=None,
            occurred_on=today.isoformat(),
            next_follow_up_on=(today + timedelta(days=7)).isoformat(),
        ),
    )
    forms.setdefault("move_form", MoveForm(formdata=None))
    handovers = lead_handovers(lead, current_user) if may_read_items(current_user) else []
    forms.setdefault("sign_form", SignForm(formdata=None, signed_on=today.isoformat()))
    page = render_template(
        "leads/detail.html",
        lead=lead,
        # Through the scope: the bureau may have moved the project to another district.
        project=project_of_lead(lead),
        timeline=build_timeline(lead_ids=[lead.id], limit=TIMELINE_LIMIT),
        may_change=may_change_lead(current_user, lead),
        events=events_met(current_user, lead_id=lead.id),  # 招商活动 where this lead was met
        owners=possible_owners() if current_user.role in (MANAGER, ADMIN) else [],
        # 交办: where the lead was handed, each with its light; whether this user may hand it on.
        handovers=handovers,
        handover_lights={h.id: handover_light(h, today) for h in handovers},
        may_hand_over=may_read_items(current_user) and may_hand_over(current_user, lead),
        # A district's lead of 5 亿 and more is reported to the city (the rules file's threshold):
        # its staff are told so until it has been reported up.
        report_up=should_report_up(lead, handovers, current_user),
        **forms,
    )
    return page


def _submit_on_page(lead: Lead, form, form_name: str, action, success):
    """A form of the lead page: saved and back to the page, or the page again with the form as typed
    — nothing is lost, and a date typed stays the date typed."""
    if form.validate_on_submit():
        if save(action, success, form=form).ok:
            return redirect(url_for("leads.detail", lead_id=lead.id))
    else:
        flash_form_errors(form)
    return _detail_page(lead, **{form_name: form})


@bp.route("/<int:lead_id>/edit", methods=["GET", "POST"])
@roles_required(*LEAD_WORKERS)
def edit(lead_id: int):
    """Edit a lead's fields."""
    lead = get_changeable_or_403(Lead, lead_id, may_change_lead)
    form = _lead_form()
    if request.method == "GET":
        form.process(data={**lead_values(lead), "version": lead.version})
    elif form.validate_on_submit():
        if save(lambda: update_lead(lead, form.data, form.version.data or 0), "已保存线索。", form=form).ok:
            return redirect(url_for("leads.detail", lead_id=lead.id))
    return render_template(
        "leads/form.html",
        form=form,
        enterprise=lead.enterprise,
        lead=lead,
    )


@bp.route("/<int:lead_id>/follow-ups", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def new_follow_up(lead_id: int):
    """Record a contact."""
    lead = get_changeable_or_403(Lead, lead_id, may_change_lead)
    form, by = FollowUpForm(), current_user._get_current_object()
    return _submit_on_page(
        lead, form, "follow_form", lambda: add_follow_up(lead, form.data, by), "已记录跟进。"
    )


@bp.route("/<int:lead_id>/stage", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def move(lead_id: int):
    """Move a lead to another stage (the gates apply); the kanban posts here too."""
    if request.form.get("from") == "board":
        # A board opened before the lead changed hands: say so on the board, not on an error page.
        seen = get_visible_or_404(Lead, lead_id)
        if not may_change_lead(current_user, seen):
            flash(f"线索“{seen.title}”现由{seen.owner.display_name}负责，您不能变更其阶段。", "danger")
            return redirect(url_for("leads.board"))
    lead = get_changeable_or_403(Lead, lead_id, may_change_lead)
    form, by = MoveForm(), current_user._get_current_object()

    def action():
        return move_lead(lead, form.stage.data, by, form.note.data, form.lost_reason.data or None)

    moved = f"线索“{lead.title}”已移至“{form.stage.data}”。"
    if request.form.get("from") == "board":
        # The board has nothing typed to keep: its message is shown on the board, with its filters.
        if form.validate_on_submit():
            save(action, moved)
        else:
            flash_form_errors(form)
        query = urlencode(parse_qsl(request.form.get("board_query", "")[:500]))
        return redirect(url_for("leads.board") + (f"?{query}" if query else ""))
    return _submit_on_page(lead, form, "move_form", action, moved)


@bp.route("/<int:lead_id>/sign", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def sign(lead_id: int):
    """签约: the lead becomes a project."""
    lead = get_changeable_or_403(Lead, lead_id, may_change_lead)
    form, by = SignForm(), current_user._get_current_object()
    return _submit_on_page(
        lead, form, "sign_form", lambda: sign_lead(lead, form.data, by), "已签约，项目已建立。"
    )


@bp.route("/<int:lead_id>/owner", methods=["POST"])
@roles_required(*LEAD_ASSIGNERS)
def reassign(lead_id: int):
    """Managers reassign a lead to another officer."""
    lead = get_visible_or_404(Lead, lead_id)
    save(
        lambda: reassign_lead(lead, request.form.get("owner_id"), current_user._get_current_object()),
        lambda changed: f"已将线索转交 {changed.owner.display_name}。",
    )
    return redirect(url_for("leads.detail", lead_id=lead.id))
