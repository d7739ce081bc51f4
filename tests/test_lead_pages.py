"""Lead pages: log, follow up, move through the gates, sign; who may change what; district scope."""

from datetime import timedelta

from sqlalchemy import select

from crm.core.timeutil import today_local
from crm.enterprises.service import create_enterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.leads.service import create_lead
from crm.projects.models import Project


def _firm():
    firm = create_enterprise({"name": "华峰化工有限公司"})
    db.session.commit()
    return firm


def test_an_officers_day_on_a_lead(client, login_as):
    login_as("officer")
    firm = _firm()
    response = client.post(
        f"/leads/new/{firm.id}", data={"title": "己二酸扩产", "source": "展会", "district": "涪陵区"}
    )
    assert response.status_code == 302
    lead_url = response.headers["Location"]
    lead_id = int(lead_url.rsplit("/", 1)[1])
    html = client.post(f"/leads/{lead_id}/stage", data={"stage": "初步接洽"}, follow_redirects=True).text
    assert "须至少有一条跟进记录" in html
    today = today_local()
    client.post(
        f"/leads/{lead_id}/follow-ups",
        data={
            "occurred_on": today.isoformat(),
            "kind": "电话",
            "notes": "电话沟通扩产意向",
            "next_follow_up_on": (today + timedelta(days=5)).isoformat(),
        },
    )
    html = client.post(f"/leads/{lead_id}/stage", data={"stage": "初步接洽"}, follow_redirects=True).text
    assert "线索已移至“初步接洽”" in html and "电话沟通扩产意向" in html
    html = client.post(
        f"/leads/{lead_id}/sign",
        data={"signed_on": today.isoformat(), "agreed_investment_wan": "80000"},
        follow_redirects=True,
    ).text
    assert "须先关联招商目录条目" in html
    lead = db.session.get(Lead, lead_id)
    client.post(
        f"/leads/{lead_id}/edit",
        data={
            "title": "己二酸扩产",
            "source": "展会",
            "district": "涪陵区",
            "catalogue_code": "CH-PA-01",
            "version": lead.version,
        },
    )
    html = client.post(
        f"/leads/{lead_id}/sign",
        data={"signed_on": today.isoformat(), "agreed_investment_wan": "80000"},
        follow_redirects=True,
    ).text
    assert "已签约，项目已建立" in html
    project = db.session.scalar(select(Project).where(Project.lead_id == lead_id))
    assert project.agreed_investment_wan == 80_000 and project.district.name == "涪陵区"


def test_only_the_owner_or_a_manager_changes_a_lead(client, login_as, make_user):
    owner = make_user("officer")
    firm = _firm()
    lead = create_lead(firm, {"title": "某项目", "source": "展会"}, owner)
    db.session.commit()
    login_as("officer")  # another officer
    assert client.post(f"/leads/{lead.id}/follow-ups", data={"kind": "电话", "notes": "x"}).status_code == 403
    assert client.get(f"/leads/{lead.id}/edit").status_code == 403
    assert client.get(f"/leads/{lead.id}").status_code == 200  # officers read every lead


def test_a_manager_reassigns(client, login_as, make_user):
    owner, other = make_user("officer"), make_user("officer", display_name="新负责人")
    lead = create_lead(_firm(), {"title": "某项目", "source": "展会"}, owner)
    db.session.commit()
    login_as("manager")
    html = client.post(
        f"/leads/{lead.id}/owner", data={"owner_id": str(other.id)}, follow_redirects=True
    ).text
    assert "已将线索转交 新负责人" in html
    html = client.post(
        f"/leads/{lead.id}/owner", data={"owner_id": "99999999999"}, follow_redirects=True
    ).text
    assert "请选择在职的招商专员" in html


def test_district_users_read_only_their_districts_leads(client, login_as, make_user):
    officer = make_user("officer")
    firm = _firm()
    mine = create_lead(firm, {"title": "落户涪陵", "source": "展会", "district": "涪陵区"}, officer)
    theirs = create_lead(firm, {"title": "落户长寿", "source": "展会", "district": "长寿区"}, officer)
    db.session.commit()
    login_as("district", "涪陵区")
    listing = client.get("/leads/").text
    assert "落户涪陵" in listing and "落户长寿" not in listing
    assert client.get(f"/leads/{theirs.id}").status_code == 404
    assert client.get(f"/leads/{mine.id}").status_code == 200
    assert client.post(f"/leads/{mine.id}/stage", data={"stage": "搁置"}).status_code == 403


def test_overdue_filter(client, login_as, make_user):
    officer = login_as("officer")
    lead = create_lead(_firm(), {"title": "逾期线索", "source": "展会"}, officer)
    lead.next_follow_up_on = today_local() - timedelta(days=2)
    create_lead(
        lead.enterprise,
        {
            "title": "按时线索",
            "source": "展会",
            "next_follow_up_on": (today_local() + timedelta(days=2)).isoformat(),
        },
        officer,
    )
    db.session.commit()
    html = client.get("/leads/?overdue=1").text
    assert "逾期线索" in html and "按时线索" not in html
