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
    list's other filters narrow them."""
    filters = LeadFilter.from_args(request.args, current_user)
    return jsonify(page_json(paginate(visible_leads(filters).order_by(Lead.id)), lead_json))


@bp.route("/leads/<int:lead_id>")
def lead(lead_id: int):
    """One lead."""
    return jsonify(lead_json(get_visible_or_404(Lead, lead_id)))


@bp.route("/leads", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def create_lead_api():
    """Log a lead for an enterprise the user may see; the caller owns it."""
    body = json_body()
    firm = get_visible_or_404(Enterprise, whole_number(body, "enterprise_id", "请求须包含整数 enterprise_id"))
    owner = current_user._get_current_object()
    return respond(commit(lambda: create_lead(firm, body, owner)), lead_json, 201)


@bp.route("/leads/<int:lead_id>", methods=["PATCH"])
@roles_required(*LEAD_WORKERS)
def update_lead_api(lead_id: int):
    """Change a lead's fields (with `version`) and/or its `stage` (the gates apply)."""
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
    """A lead's follow-ups, newest first."""
    target = get_visible_or_404(Lead, lead_id)
    return jsonify(items=[follow_up_json(f) for f in target.follow_ups])


@bp.route("/leads/<int:lead_id>/follow-ups", methods=["POST"])
@roles_required(*LEAD_WORKERS)
def create_follow_up_api(lead_id: int):
    """Record a contact on a lead."""
    target = get_changeable_or_403(Lead, lead_id, may_change_lead)
    body = json_body()
    by = current_user._get_current_object()
    return respond(commit(lambda: add_follow_up(target, body, by)), follow_up_json, 201)
