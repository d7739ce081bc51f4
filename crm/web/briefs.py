"""周报 pages: choose a cluster (or the city) and a week, preview in the browser, make the PDF;
the archive serves every PDF made, byte for byte."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from crm.auth.models import DISTRICT, MANAGER, OFFICER
from crm.auth.permissions import get_visible_or_404, roles_required, scoped
from crm.briefs.models import Brief
from crm.briefs.service import make_brief, preview
from crm.core.forms import BaseForm
from crm.core.pagination import paginate
from crm.core.weeks import last_week, recent_weeks
from crm.industry.service import all_clusters
from crm.web.exports import send_export
from crm.web.saving import save
from reports.figures import BriefError, Scope, normal_week

bp = Blueprint("briefs", __name__, url_prefix="/briefs")

MAKERS = (OFFICER, MANAGER, DISTRICT)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _chosen() -> tuple[Scope, str]:
    """The scope and week asked for; a district user's brief covers their district only."""
    code = (request.values.get("cluster") or "CITY")[:8].upper()
    # Canonical (2026-W47) or a BriefError in Chinese: what is archived and printed is always the
    # same spelling, and fits the 8 characters the archive keeps (PostgreSQL refuses longer).
    week = normal_week((request.values.get("week") or last_week())[:20])
    if code != "CITY" and code not in {c.code for c in all_clusters()}:
        raise BriefError("请选择有效的产业集群或全市")
    district = current_user.district_id if current_user.role == DISTRICT else None
    return Scope(None if code == "CITY" else code, district), week


@bp.route("/")
@roles_required(*MAKERS)  # a brief carries the rankings: administrators keep the system, not figures
def index():
    """Choose and make a brief; the archive below."""
    archive = scoped(select(Brief), Brief).order_by(Brief.id.desc())
    return render_template(
        "briefs/index.html",
        clusters=all_clusters(),
        weeks=recent_weeks(),
        default_week=last_week(),
        page=paginate(archive),
        form=BaseForm(),
        may_make=current_user.role in MAKERS,
    )


@bp.route("/preview")
@roles_required(*MAKERS)
def show_preview():
    """The brief as HTML in the browser (what the PDF will print)."""
    try:
        scope, week = _chosen()
    except BriefError as error:
        flash(str(error), "danger")
        return redirect(url_for("briefs.index"))
    return preview(scope, week)


@bp.route("/", methods=["POST"])
@roles_required(*MAKERS)
def make():
    """Make the PDF, keep it in the archive and download it."""
    form = BaseForm()
    if not form.validate_on_submit():
        flash("页面已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。", "danger")
        return redirect(url_for("briefs.index"))
    try:
        scope, week = _chosen()
    except BriefError as error:
        flash(str(error), "danger")
        return redirect(url_for("briefs.index"))
    saved = save(
        lambda: make_brief(scope, week, current_user.display_name, current_user._get_current_object())
    )
    if not saved.ok:
        return redirect(url_for("briefs.index"))
    if request.form.get("format") == "docx":
        return redirect(url_for("briefs.download_docx", brief_id=saved.value.id))
    return redirect(url_for("briefs.download", brief_id=saved.value.id))


@bp.route("/<int:brief_id>.pdf")
@roles_required(*MAKERS)
def download(brief_id: int):
    """A brief from the archive, exactly as it was made."""
    brief = get_visible_or_404(Brief, brief_id)
    return send_export(
        "briefs",
        brief.pdf,
        1,
        brief.filename,
        mimetype="application/pdf",
        as_attachment=request.args.get("inline") != "1",
    )


@bp.route("/<int:brief_id>.docx")
@roles_required(*MAKERS)
def download_docx(brief_id: int):
    """The Word version of a brief from the archive, as it was made beside its PDF."""
    brief = get_visible_or_404(Brief, brief_id)
    if brief.docx is None:
        abort(404)  # archived before briefs had a Word version
    return send_export("briefs", brief.docx, 1, brief.docx_filename, mimetype=DOCX, as_attachment=True)
