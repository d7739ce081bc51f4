"""Lead pages: log, follow up, move through the gates, sign; who may change what; district scope."""

from datetime import timedelta

from sqlalchemy import select

from crm.core.timeutil import today_local
from crm.extensions import db
from crm.leads.models import Lead
from crm.projects.models import Project

FIRM = "华峰化工有限公司"


def test_an_officers_day_on_a_lead(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name=FIRM)
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
    assert "已移至“初步接洽”" in html and "电话沟通扩产意向" in html
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


def test_only_the_owner_or_a_manager_changes_a_lead(client, login_as, make_user, make_enterprise, make_lead):
    owner = make_user("officer")
    firm = make_enterprise(name=FIRM)
    lead = make_lead(firm, owner, title="某项目", source="展会")
    login_as("officer")  # another officer
    assert client.post(f"/leads/{lead.id}/follow-ups", data={"kind": "电话", "notes": "x"}).status_code == 403
    assert client.get(f"/leads/{lead.id}/edit").status_code == 403
    assert client.get(f"/leads/{lead.id}").status_code == 200  # officers read every lead


def test_a_manager_reassigns(client, login_as, make_user, make_enterprise, make_lead):
    owner, other = make_user("officer"), make_user("officer", display_name="新负责人")
    lead = make_lead(make_enterprise(name=FIRM), owner, title="某项目", source="展会")
    login_as("manager")
    html = client.post(
        f"/leads/{lead.id}/owner", data={"owner_id": str(other.id)}, follow_redirects=True
    ).text
    assert "已将线索转交 新负责人" in html
    html = client.post(
        f"/leads/{lead.id}/owner", data={"owner_id": "99999999999"}, follow_redirects=True
    ).text
    assert "请选择在职的招商专员" in html


def test_district_users_read_only_their_districts_leads(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    firm = make_enterprise(name=FIRM)
    mine = make_lead(firm, officer, title="落户涪陵", source="展会", district="涪陵区")
    theirs = make_lead(firm, officer, title="落户长寿", source="展会", district="长寿区")
    login_as("district", "涪陵区")
    listing = client.get("/leads/").text
    assert "落户涪陵" in listing and "落户长寿" not in listing
    assert client.get(f"/leads/{theirs.id}").status_code == 404
    assert client.get(f"/leads/{mine.id}").status_code == 200
    assert client.post(f"/leads/{mine.id}/stage", data={"stage": "搁置"}).status_code == 403


def test_overdue_filter(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    lead = make_lead(make_enterprise(name=FIRM), officer, title="逾期线索", source="展会")
    lead.next_follow_up_on = today_local() - timedelta(days=2)
    make_lead(
        lead.enterprise,
        officer,
        title="按时线索",
        source="展会",
        next_follow_up_on=(today_local() + timedelta(days=2)).isoformat(),
    )
    html = client.get("/leads/?overdue=1").text
    assert "逾期线索" in html and "按时线索" not in html


def test_my_todo(client, login_as, make_user, make_enterprise, make_lead):
    officer = login_as("officer")
    other = make_user("officer")
    firm = make_enterprise(name=FIRM)
    due = make_lead(firm, officer, title="今天跟进的线索", source="展会")
    due.next_follow_up_on = today_local()
    late = make_lead(firm, officer, title="逾期跟进的线索", source="展会")
    late.next_follow_up_on = today_local() - timedelta(days=3)
    later = make_lead(firm, officer, title="下周跟进的线索", source="展会")
    later.next_follow_up_on = today_local() + timedelta(days=7)
    later.last_contact_on = today_local() - timedelta(days=2)
    make_lead(firm, other, title="别人的线索", source="展会").next_follow_up_on = today_local()
    db.session.commit()
    html = client.get("/leads/todo").text
    due_part = html.split('data-testid="due"')[1].split("</ul>")[0]
    quiet_part = html.split('data-testid="quiet"')[1].split("</ul>")[0]
    assert "今天跟进的线索" in due_part and "逾期跟进的线索" in due_part and "逾期 3 天" in due_part
    assert "下周跟进的线索" not in due_part and "别人的线索" not in html
    assert "今天跟进的线索" in quiet_part and "下周跟进的线索" not in quiet_part  # contacted 2 days ago


def test_the_board_counts_sums_and_moves_through_the_gate(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    firm = make_enterprise(name=FIRM)
    a = make_lead(firm, officer, title="甲项目", source="展会", intended_investment_wan="30000")
    make_lead(
        firm, officer, title="乙项目", source="展会", intended_investment_wan="20000", district="长寿区"
    )
    html = client.get("/leads/board").text
    assert 'data-testid="count-线索">2<' in html and "5.00 亿元" in html
    response = client.post(f"/leads/{a.id}/stage", data={"stage": "实地考察", "from": "board"})
    assert response.headers["Location"] == "/leads/board"
    html = client.get("/leads/board").text
    assert "须至少有一条跟进记录" in html and 'data-testid="count-线索">2<' in html
    client.post(f"/leads/{a.id}/stage", data={"stage": "搁置", "from": "board"})
    assert 'data-testid="count-搁置">1<' in client.get("/leads/board").text


def test_the_board_is_scoped_for_district_users(client, login_as, make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    firm = make_enterprise(name=FIRM)
    make_lead(firm, officer, title="落户涪陵", source="展会", district="涪陵区")
    make_lead(firm, officer, title="落户长寿", source="展会", district="长寿区")
    login_as("district", "涪陵区")
    html = client.get("/leads/board").text
    assert "落户涪陵" in html and "落户长寿" not in html and "移至</button>" not in html


def test_list_filters_by_sector_cluster_district_and_sorts(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    firm = make_enterprise(name=FIRM)
    make_lead(
        firm,
        officer,
        title="尼龙项目",
        source="展会",
        catalogue_code="CH-PA-03",
        district="长寿区",
        intended_investment_wan="10000",
    )
    make_lead(
        firm,
        officer,
        title="铝板项目",
        source="展会",
        catalogue_code="NF-AL-03",
        district="九龙坡区",
        intended_investment_wan="90000",
    )
    assert "铝板项目" not in client.get("/leads/?sector=CH").text
    html = client.get("/leads/?cluster=la").text
    assert "铝板项目" in html and "尼龙项目" not in html
    html = client.get("/leads/?district=长寿").text
    assert "尼龙项目" in html and "铝板项目" not in html
    html = client.get("/leads/?sort=investment").text
    assert html.index("铝板项目") < html.index("尼龙项目")
    today = today_local().isoformat()
    assert "尼龙项目" in client.get(f"/leads/?since={today}&until={today}").text
    assert "尼龙项目" not in client.get("/leads/?until=2000-01-01").text
    assert client.get("/leads/?since=昨天&sort=<x>&cluster=%ff").status_code == 200


def test_exports_follow_the_filters_and_the_scope(client, login_as, make_user, make_enterprise, make_lead):
    import io

    from openpyxl import load_workbook

    officer = make_user("officer")
    firm = make_enterprise(name=FIRM)
    make_lead(firm, officer, title="落户涪陵", source="展会", district="涪陵区")
    make_lead(firm, officer, title="落户长寿", source="以商招商", district="长寿区")
    login_as("district", "涪陵区")
    sheet = load_workbook(io.BytesIO(client.get("/leads/export.xlsx").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["落户涪陵"]
    client.post("/logout")
    login_as("manager")
    response = client.get("/leads/export.xlsx?source=以商招商&endpoint=x")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("线索名称", "企业", "阶段") and [r[0] for r in rows[1:]] == ["落户长寿"]
    html = client.get("/leads/?source=以商招商&endpoint=x").text
    assert "/leads/export.xlsx?source=" in html
    sheet = load_workbook(io.BytesIO(client.get("/enterprises/export.xlsx?q=华峰").data)).active
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["华峰化工有限公司"]


def test_far_off_and_compact_filter_dates_still_open_the_list(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    make_lead(make_enterprise(name=FIRM), officer, title="日期线索", source="展会")
    tomorrow = today_local() + timedelta(days=1)
    for query in ("since=0001-01-01&until=9999-12-31", "since=1899-01-01", f"until={tomorrow:%Y%m%d}"):
        response = client.get(f"/leads/?{query}")
        assert response.status_code == 200 and "日期线索" in response.text, query
    for query in ("until=1800-01-01", "since=9999-12-31"):
        response = client.get(f"/leads/?{query}")
        assert response.status_code == 200 and "日期线索" not in response.text, query


def test_the_board_filters_folds_and_keeps_its_filters_after_a_move(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = login_as("manager")
    other = make_user("officer", display_name="别人")
    firm = make_enterprise(name=FIRM)
    mine = make_lead(firm, officer, title="我的铝线索", source="展会", catalogue_code="NF-AL-01")
    make_lead(
        firm, other, title="别人的尼龙线索", source="展会", catalogue_code="CH-PA-03", district="长寿区"
    )
    by_owner = client.get(f"/leads/board?owner={officer.id}").text
    assert "我的铝线索" in by_owner and "别人的尼龙线索" not in by_owner
    by_cluster = client.get("/leads/board?cluster=SM").text  # 合成材料
    assert "别人的尼龙线索" in by_cluster and "我的铝线索" not in by_cluster
    by_entry = client.get("/leads/board?entry=nf-al-01").text
    assert "我的铝线索" in by_entry and "别人的尼龙线索" not in by_entry
    by_district = client.get("/leads/board?district=长寿区").text
    assert "别人的尼龙线索" in by_district and "我的铝线索" not in by_district
    # 搁置 and 签约 are folded to their counts; unfolding shows their cards.
    client.post(
        f"/leads/{mine.id}/stage", data={"stage": "搁置", "from": "board", "board_query": "owner=7&x=1"}
    )
    folded = client.get("/leads/board").text
    assert 'data-testid="count-搁置">1<' in folded and ">我的铝线索</a>" not in folded
    assert ">我的铝线索</a>" in client.get("/leads/board?unfold=1").text
    # A move from a filtered board comes back to the same filters.
    response = client.post(
        f"/leads/{mine.id}/stage",
        data={"stage": "线索", "from": "board", "board_query": f"owner={officer.id}"},
    )
    assert response.headers["Location"] == f"/leads/board?owner={officer.id}"


def test_text_that_looks_like_a_time_is_shown_as_typed(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    lead = make_lead(make_enterprise(name=FIRM), officer, title="临时", source="展会")
    client.post(
        f"/leads/{lead.id}/edit",
        data={"title": "2026-02-30T10:00", "source": "展会", "version": lead.version},
    )
    page = client.get(f"/leads/{lead.id}")
    assert page.status_code == 200 and page.text.count("2026-02-30T10:00") >= 2  # title and its change
    assert client.get("/").status_code == 200


def test_a_move_from_a_stale_board_answers_on_the_board(
    client, login_as, make_user, make_enterprise, make_lead
):
    login_as("officer")
    other = make_user("officer", display_name="接手人")
    lead = make_lead(make_enterprise(name=FIRM), other, title="已转交的线索", source="展会")
    response = client.post(
        f"/leads/{lead.id}/stage", data={"stage": "搁置", "from": "board"}, follow_redirects=True
    )
    assert response.status_code == 200 and "现由接手人负责，您不能变更其阶段" in response.text
    assert db.session.get(Lead, lead.id).stage == "线索"
