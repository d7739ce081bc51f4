"""The home page: what each role starts the day with."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.extensions import db
from crm.industry.models import District

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """The landing page after login."""
    counts = {
        "districts": db.session.scalar(select(func.count()).select_from(District)),
        "users": db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))),
    }
    recent = []
    if current_user.has_role("manager", "admin"):
        recent = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(8)))
    return render_template("main/home.html", counts=counts, recent=recent)
