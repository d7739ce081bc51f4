"""The search page: one box across enterprises, contacts and leads."""

from flask import Blueprint, render_template, request, url_for

from crm.readmodels.search import search

bp = Blueprint("search", __name__)

LINKS = {
    "enterprise": lambda hit: url_for("enterprises.detail", enterprise_id=hit.id),
    "contact": lambda hit: url_for("enterprises.detail", enterprise_id=hit.id),
    "lead": lambda hit: url_for("leads.detail", lead_id=hit.id),
}


@bp.route("/search")
def index():
    """Results for ?q=, best first, within the user's scope."""
    query = request.args.get("q", "")[:64]
    hits = search(query)
    return render_template("search/index.html", query=query, hits=hits, links=LINKS)
