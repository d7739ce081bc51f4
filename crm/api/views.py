"""API v1: JSON on the login session; writes send the CSRF token as X-CSRFToken."""

from flask import Blueprint, abort, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import or_, select

from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER
from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.core.inputs import InvalidInput
from crm.core.pagination import page_json, paginate
from crm.core.timeutil import today_local
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    DuplicateWarning,
    EnterpriseError,
    VersionConflict,
    create_enterprise,
    current_values,
    update_enterprise,
    visible_enterprises,
)
from crm.extensions import db
from crm.leads.models import STAGES, FollowUp, Lead
from crm.leads.service import LeadConflict, LeadError, add_follow_up, create_lead, move_lead, update_lead
from crm.projects.models import Project, ProjectUpdate
from crm.projects.service import (
    ProjectError,
    ProjectFilter,
    UpdateRace,
    add_update_retrying,
    visible_projects,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def user_json(user) -> dict:
    """A user as the API shows it (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": user.role_label,
        "district": user.district.name if user.district else None,
    }


@bp.route("/")
def index():
    """What the API offers."""
    return jsonify(
        version="v1",
        resources={
            "me": url_for("api.me"),
            "enterprises": url_for("api.enterprises"),
            "leads": url_for("api.leads"),
            "projects": url_for("api.projects"),
        },
    )


@bp.route("/me")
def me():
    """The logged-in user, and the CSRF token that writes must send as X-CSRFToken."""
    return jsonify(user=user_json(current_user), csrf_token=generate_csrf())


def _body() -> dict:
    """The JSON object of a write; anything else is a Chinese 400."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（Content-Type: application/json）")
    return body


def enterprise_json(e: Enterprise) -> dict:
    """An enterprise as the API shows it: its editable values (what PATCH starts from) and more."""
    return {
        "id": e.id,
        **current_values(e),
        "revenue_tier": e.revenue_tier,
        # Set when this record was merged into another: clients follow it to the kept record.
        "merged_into_id": e.merged_into_id,
        "version": e.version,
    }


EDITORS = (OFFICER, MANAGER, ADMIN)


@bp.route("/enterprises")
def enterprises():
    """Enterprises the user may see: ?q= searches names, former names, credit codes and products."""
    stmt = visible_enterprises(request.args.get("q", ""))
    return jsonify(page_json(paginate(stmt.order_by(Enterprise.id)), enterprise_json))


@bp.route("/enterprises/<int:enterprise_id>")
def enterprise(enterprise_id: int):
    """One enterprise."""
    return jsonify(enterprise_json(get_visible_or_404(Enterprise, enterprise_id)))


@bp.route("/enterprises", methods=["POST"])
@roles_required(*EDITORS)
def create_enterprise_api():
    """Create an enterprise; a probable duplicate is a 409 listing the firms on file."""
    body = _body()
    try:
        created = create_enterprise(body, confirm_duplicate=body.get("confirm_duplicate") is True)
    except DuplicateWarning as warning:
        db.session.rollback()
        duplicates = [{"id": e.id, "name": e.name, "credit_code": e.credit_code} for e in warning.matches]
        return jsonify(error=str(warning), duplicates=duplicates), 409
    except EnterpriseError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(enterprise_json(created)), 201


@bp.route("/enterprises/<int:enterprise_id>", methods=["PUT", "PATCH"])
@roles_required(*EDITORS)
def update_enterprise_api(enterprise_id: int):
    """Update an enterprise; the body carries the `version` it was read at (409 if it moved on)."""
    target = get_visible_or_404(Enterprise, enterprise_id)
    body = _body()
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput("请求须包含整数 version（读取该企业时的版本号）")
    # PATCH changes only the fields sent; PUT replaces them all.
    current = enterprise_json(target) if request.method == "PATCH" else {}
    merged = {**current, **body}
    merged["district"] = merged.get("district")
    try:
        update_enterprise(target, merged, version)
    except VersionConflict as error:
        db.session.rollback()
        return jsonify(error=str(error)), 409
    except EnterpriseError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(enterprise_json(target))


def lead_json(lead: Lead) -> dict:
    """A lead as the API shows it."""
    return {
        "id": lead.id,
        "title": lead.title,
        "enterprise_id": lead.enterprise_id,
        "enterprise": lead.enterprise.name,
        "source": lead.source,
        "owner": lead.owner.username,
        "stage": lead.stage,
        "lost_reason": lead.lost_reason,
        "catalogue_code": lead.catalogue_entry.code if lead.catalogue_entry else None,
        "district": lead.intended_district.name if lead.intended_district else None,
        "intended_investment_wan": lead.intended_investment_wan,
        "next_follow_up_on": lead.next_follow_up_on.isoformat() if lead.next_follow_up_on else None,
        "last_contact_on": lead.last_contact_on.isoformat() if lead.last_contact_on else None,
        "version": lead.version,
    }


def follow_up_json(follow_up: FollowUp) -> dict:
    """A follow-up as the API shows it."""
    return {
        "id": follow_up.id,
        "lead_id": follow_up.lead_id,
        "occurred_on": follow_up.occurred_on.isoformat(),
        "kind": follow_up.kind,
        "participants": follow_up.participants,
        "notes": follow_up.notes,
    }


def _lead_for_change(lead_id: int) -> Lead:
    lead = get_visible_or_404(Lead, lead_id)
    if not (current_user.role == MANAGER or lead.owner_id == current_user.id):
        abort(403)
    return lead


@bp.route("/leads")
def leads():
    """Leads the user may see; ?q= searches titles and enterprise names, ?stage= filters."""
    stmt = scoped(select(Lead), Lead).join(Lead.enterprise).order_by(Lead.id)
    q = request.args.get("q", "")[:64].strip()
    if q:
        stmt = stmt.where(
            or_(Lead.title.contains(q, autoescape=True), Enterprise.name.contains(q, autoescape=True))
        )
    if request.args.get("stage") in STAGES:
        stmt = stmt.where(Lead.stage == request.args["stage"])
    return jsonify(page_json(paginate(stmt), lead_json))


@bp.route("/leads/<int:lead_id>")
def lead(lead_id: int):
    """One lead."""
    return jsonify(lead_json(get_visible_or_404(Lead, lead_id)))


@bp.route("/leads", methods=["POST"])
@roles_required(OFFICER, MANAGER)
def create_lead_api():
    """Log a lead for an enterprise the user may see; the caller owns it."""
    body = _body()
    enterprise_id = body.get("enterprise_id")
    if not isinstance(enterprise_id, int) or isinstance(enterprise_id, bool):
        raise InvalidInput("请求须包含整数 enterprise_id")
    firm = get_visible_or_404(Enterprise, enterprise_id)
    try:
        created = create_lead(firm, body, current_user._get_current_object())
    except LeadError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(lead_json(created)), 201


@bp.route("/leads/<int:lead_id>", methods=["PATCH"])
@roles_required(OFFICER, MANAGER)
def update_lead_api(lead_id: int):
    """Change a lead's fields (with `version`) and/or its `stage` (the gates apply)."""
    target = _lead_for_change(lead_id)
    body = _body()
    try:
        fields = {k: v for k, v in body.items() if k not in ("stage", "lost_reason", "note", "version")}
        if fields:
            version = body.get("version")
            if not isinstance(version, int) or isinstance(version, bool):
                raise InvalidInput("修改线索字段须包含整数 version（读取时的版本号）")
            current = lead_json(target)
            update_lead(target, {**current, **fields}, version)
        if "stage" in body and body["stage"] != target.stage:
            move_lead(
                target,
                str(body["stage"]),
                current_user._get_current_object(),
                str(body.get("note") or ""),
                body.get("lost_reason"),
            )
    except LeadConflict as error:
        db.session.rollback()
        return jsonify(error=str(error)), 409
    except LeadError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(lead_json(target))


@bp.route("/leads/<int:lead_id>/follow-ups")
def follow_ups(lead_id: int):
    """A lead's follow-ups, newest first."""
    target = get_visible_or_404(Lead, lead_id)
    return jsonify(items=[follow_up_json(f) for f in target.follow_ups])


@bp.route("/leads/<int:lead_id>/follow-ups", methods=["POST"])
@roles_required(OFFICER, MANAGER)
def create_follow_up_api(lead_id: int):
    """Record a contact on a lead."""
    target = _lead_for_change(lead_id)
    try:
        created = add_follow_up(target, _body(), current_user._get_current_object())
    except LeadError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return jsonify(follow_up_json(created)), 201


def project_json(project: Project, today) -> dict:
    """A project as the API shows it; stage and figures are derived from its updates."""
    return {
        "id": project.id,
        "name": project.name,
        "enterprise_id": project.enterprise_id,
        "enterprise": project.enterprise.name,
        "lead_id": project.lead_id,
        "district": project.district.name,
        "park": project.park,
        "catalogue_codes": [e.code for e in project.catalogue_entries],
        "stage": project.stage,
        "health": project.health(today),
        "termination_reason": project.termination_reason,
        "signed_on": project.signed_on.isoformat(),
        "agreed_investment_wan": project.agreed_investment_wan,
        "funds_in_place_wan": project.funds_in_place_wan,
        "expected_output_wan": project.expected_output_wan,
        "expected_jobs": project.expected_jobs,
        "last_update_on": project.last_update_on.isoformat() if project.last_update_on else None,
        "milestones": [
            {
                "stage": m.stage,
                "planned_on": m.planned_on.isoformat() if m.planned_on else None,
                "actual_on": m.actual_on.isoformat() if m.actual_on else None,
            }
            for m in project.milestones
        ],
        "version": project.version,
    }


def project_update_json(update: ProjectUpdate) -> dict:
    return {
        "id": update.id,
        "project_id": update.project_id,
        "reported_on": update.reported_on.isoformat(),
        "stage_reached": update.stage_reached,
        "stage_reached_on": update.stage_reached_on.isoformat() if update.stage_reached_on else None,
        "funds_wan": update.funds_wan,
        "note": update.note,
        "issues": update.issues,
        "termination_reason": update.termination_reason,
        "corrects_id": update.corrects_id,
        "created_by": update.created_by.display_name if update.created_by else None,
    }


@bp.route("/projects")
def projects():
    """Projects the user may see (district users: their district's), with the list page's filters."""
    today = today_local()
    filters = ProjectFilter.from_args(request.args)
    stmt = visible_projects(filters, today).order_by(Project.id)
    return jsonify(page_json(paginate(stmt), lambda p: project_json(p, today)))


@bp.route("/projects/<int:project_id>")
def project(project_id: int):
    """One project with its milestones and its updates, oldest first."""
    target = get_visible_or_404(Project, project_id)
    return jsonify(
        {**project_json(target, today_local()), "updates": [project_update_json(u) for u in target.updates]}
    )


@bp.route("/projects/<int:project_id>/updates", methods=["POST"])
@roles_required(OFFICER, MANAGER, DISTRICT)
def create_project_update_api(project_id: int):
    """Append a progress update (or a correction: `corrects_id`); the project's figures follow."""
    get_visible_or_404(Project, project_id)  # 404 before the body is even read
    body = _body()
    try:
        created = add_update_retrying(
            lambda: get_visible_or_404(Project, project_id), body, current_user._get_current_object()
        )
    except UpdateRace as error:
        db.session.rollback()
        return jsonify(error=str(error)), 409
    except ProjectError as error:
        db.session.rollback()
        return jsonify(error=str(error)), 400
    db.session.commit()
    return (
        jsonify({**project_update_json(created), "project": project_json(created.project, today_local())}),
        201,
    )
