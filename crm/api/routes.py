"""API v1: JSON on the login session; writes send the CSRF token as X-CSRFToken."""

from flask import Blueprint, jsonify, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from crm.auth.models import ADMIN, MANAGER, OFFICER
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.inputs import InvalidInput
from crm.core.pagination import page_json, paginate
from crm.enterprises.models import Enterprise
from crm.enterprises.service import (
    DuplicateWarning,
    EnterpriseError,
    VersionConflict,
    create_enterprise,
    update_enterprise,
    visible_enterprises,
)
from crm.extensions import db

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
        version="v1", resources={"me": url_for("api.me"), "enterprises": url_for("api.enterprises")}
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
    """An enterprise as the API shows it."""
    return {
        "id": e.id,
        "name": e.name,
        "kind": e.kind,
        "credit_code": e.credit_code,
        "former_names": e.former_names,
        "ownership": e.ownership,
        "hq_province": e.hq_province,
        "hq_city": e.hq_city,
        "district": e.district.name if e.district else None,
        "listed_exchange": e.listed_exchange,
        "listed_code": e.listed_code,
        "revenue_wan": e.revenue_wan,
        "revenue_tier": e.revenue_tier,
        "honours": e.honours,
        "products": e.products,
        "description": e.description,
        "catalogue_codes": [c.code for c in e.catalogue_entries],
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
