"""What the API offers, and who is calling."""

from flask import jsonify, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from crm.api.common import bp
from crm.api.serializers import user_json


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
