"""/api/v1/projects/<id>/funds: a project's funds ledger, listed and appended to, with the scope
and the validation of the ledger page."""

from flask import jsonify
from flask_login import current_user

from crm.api.common import bp, json_body, respond
from crm.api.serializers import fund_entry_json
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.transaction import commit
from crm.core.validation import replaced_ids
from crm.projects import measures
from crm.projects.funds import FUND_RECORDERS, add_entry
from crm.projects.models import Project


def _shown(project: Project):
    """How each entry of this project is shown: whether the 口径 in force counts it, and whether
    a correction replaced it, read once for the whole ledger."""
    counted = {e.id for e in measures.current().funds.counted(project.fund_entries)}
    corrected = replaced_ids(project.fund_entries)
    return lambda entry: fund_entry_json(entry, entry.id in counted, entry.id in corrected)


@bp.route("/projects/<int:project_id>/funds")
def project_funds(project_id: int):
    """A project's funds entries, oldest first, each saying whether the 口径 in force counts it.
    ---
    get:
      summary: 到位资金台账
      description: 项目的全部到位资金登记（最早的在前），含被更正的；counted：按现行统计口径是否计入。
      responses:
        "200":
          description: 到位资金登记
          content:
            application/json:
              schema: {$ref: "#/components/schemas/FundEntryList"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = get_visible_or_404(Project, project_id)
    shown = _shown(project)  # counted and corrected ids read once, not once per entry
    return jsonify({"items": [shown(e) for e in project.fund_entries]})


@bp.route("/projects/<int:project_id>/funds", methods=["POST"])
@roles_required(*FUND_RECORDERS)
def create_fund_entry(project_id: int):
    """Record an arrival of money (or a correction: `corrects_id`); it waits for the bureau's review.
    ---
    post:
      summary: 登记到位资金
      description: 追加一笔到位资金（或以 corrects_id 更正此前的一笔），待核实。区县专员只能登记本区县的项目。
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/FundEntryInput"}
      responses:
        "201":
          description: 已登记的到位资金
          content:
            application/json:
              schema: {$ref: "#/components/schemas/FundEntry"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = get_visible_or_404(Project, project_id)  # 404 before the body is even read
    body = json_body()
    by = current_user._get_current_object()
    outcome = commit(lambda: add_entry(project, body, by))
    return respond(outcome, lambda entry: _shown(entry.project)(entry), 201)
