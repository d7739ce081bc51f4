"""API v1 skeleton: later issues add resources to this blueprint."""

from flask import Blueprint, jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

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
    return jsonify(version="v1", resources={"me": url_for("api.me")})


@bp.route("/me")
def me():
    """The logged-in user, and the CSRF token that writes must send as X-CSRFToken."""
    return jsonify(user=user_json(current_user), csrf_token=generate_csrf())
