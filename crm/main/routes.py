"""The home page: what each role starts the day with."""

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.audit.routes import table_labels
from crm.auth.models import ADMIN, MANAGER, User
from crm.auth.permissions import scoped
from crm.extensions import db
from crm.industry.models import District

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """The landing page after login."""
    counts = {"districts": db.session.scalar(scoped(select(func.count(District.id)), District))}
    recent, labels = [], {}
    if current_user.has_role(MANAGER, ADMIN):
        counts["users"] = db.session.scalar(select(func.count(User.id)).where(User.active.is_(True)))
        recent = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(8)))
        labels = table_labels()
    return render_template("main/home.html", counts=counts, recent=recent, labels=labels)
