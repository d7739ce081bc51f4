"""`flask --app app demo scale`: province-scale data, deterministic, consistent with what the
services would have derived, found by search, matched, and not added twice."""

from sqlalchemy import func, select, text

from crm.enterprises.models import STALE_MATCH, Contact, Enterprise
from crm.extensions import db
from crm.leads.models import FollowUp, Lead, LeadStage, StageChange
from crm.projects.models import Milestone, Project, ProjectUpdate
from crm.readmodels.models import EnterpriseMatch
from crm.readmodels.search import search


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_scale_data_in_proportion_consistent_and_added_once(runner, make_user):
    manager = make_user("manager")
    result = runner.invoke(args=["demo", "scale", "--factor", "0.01"])
    assert result.exit_code == 0, result.output
    assert "企业：1000/1000" in result.output  # progress, batch by batch
    firms, leads, projects = _count(Enterprise), _count(Lead), _count(Project)
    assert firms == 1000 and _count(Contact) == 1000
    assert leads == 200 and projects == 50  # one lead in four is signed
    assert _count(FollowUp) == 2000
    assert _count(Milestone) == 6 * projects

    # What the services derive, derived the same way.
    for project in db.session.scalars(select(Project)):
        assert db.session.get(Lead, project.lead_id).stage == LeadStage.SIGNED
        corrected = {e.corrects_id for e in project.fund_entries}
        standing = [e for e in project.fund_entries if e.id not in corrected and e.review != "不予认定"]
        assert project.recorded_funds_wan == sum(e.amount_wan for e in standing)
        assert project.funds_in_place_wan == sum(e.amount_wan for e in standing if e.counts_as_investment)
        assert project.last_update_on == max((u.reported_on for u in project.updates), default=None)
    for lead in db.session.scalars(select(Lead)):
        assert lead.last_contact_on == max(f.occurred_on for f in lead.follow_ups)
        assert lead.stage_changes[-1].to_stage == lead.stage
    assert db.session.scalar(select(func.count()).select_from(StageChange)) >= leads

    # The search index follows the rows; every firm's matches are stored.
    firm = db.session.scalars(select(Enterprise).order_by(Enterprise.id.desc())).first()
    hits = search(firm.name, manager)
    assert hits[0].kind == "enterprise" and hits[0].id == firm.id
    assert db.session.scalar(select(Enterprise.id).where(text(STALE_MATCH)).limit(1)) is None
    assert _count(EnterpriseMatch) > 0

    # New rows after the scale data get ids of their own (PostgreSQL's sequences moved on).
    db.session.add(ProjectUpdate(project_id=project.id, reported_on=project.signed_on, note="补充"))
    db.session.commit()

    again = runner.invoke(args=["demo", "scale", "--factor", "0.01"])
    assert again.exit_code == 0, again.output
    assert "企业 0 家" in again.output and (_count(Enterprise), _count(Lead)) == (firms, leads)

    more = runner.invoke(args=["demo", "scale", "--factor", "0.02"])
    assert more.exit_code == 0, more.output
    assert _count(Enterprise) == 2000  # the difference only
    assert db.session.scalar(select(func.count(func.distinct(Enterprise.name_key)))) == 2000
