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
from crm.projects.service import UPDATE_REPORTERS, ProjectFilter, add_update_retrying, visible_projects


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
@roles_required(*UPDATE_REPORTERS)
def create_project_update_api(project_id: int):
    """Append a progress update (or a correction: `corrects_id`); the project's figures follow."""
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
