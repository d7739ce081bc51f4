"""/api/v1/leads and follow-ups: the same gates, owners and district scope as the pages."""

from datetime import timedelta

from crm.core.timeutil import today_local
from crm.extensions import db


def test_log_follow_up_and_move_through_the_api(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name="华峰化工有限公司")
    response = client.post(
        "/api/v1/leads", json={"enterprise_id": firm.id, "title": "己二酸扩产", "source": "展会"}
    )
    assert response.status_code == 201
    lead = response.get_json()
    assert (lead["stage"], lead["enterprise"]) == ("线索", "华峰化工有限公司")
    blocked = client.patch(f"/api/v1/leads/{lead['id']}", json={"stage": "初步接洽"})
    assert blocked.status_code == 400 and "跟进记录" in blocked.get_json()["error"]
    follow = client.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": "电话", "notes": "首次沟通"})
    assert follow.status_code == 201
    moved = client.patch(f"/api/v1/leads/{lead['id']}", json={"stage": "初步接洽"})
    assert moved.status_code == 200 and moved.get_json()["stage"] == "初步接洽"
    listing = client.get("/api/v1/leads?stage=初步接洽").get_json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == lead["id"]
    assert client.get(f"/api/v1/leads/{lead['id']}/follow-ups").get_json()["items"][0]["notes"] == "首次沟通"


def test_field_edits_need_the_version_and_keep_an_overdue_date(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    lead = make_lead(make_enterprise(name="华峰化工有限公司"), officer, title="某项目", source="展会")
    lead.next_follow_up_on = today_local() - timedelta(days=3)
    db.session.commit()
    assert client.patch(f"/api/v1/leads/{lead.id}", json={"title": "新名称"}).status_code == 400
    response = client.patch(f"/api/v1/leads/{lead.id}", json={"title": "新名称", "version": lead.version})
    assert response.status_code == 200 and response.get_json()["title"] == "新名称"
    stale = client.patch(f"/api/v1/leads/{lead.id}", json={"title": "再改", "version": lead.version})
    assert stale.status_code == 409


def test_bad_input_and_other_peoples_leads(client, login_as, make_user, make_enterprise, make_lead):
    owner = make_user("officer")
    lead = make_lead(
        make_enterprise(name="华峰化工有限公司"), owner, title="某项目", source="展会", district="长寿区"
    )
    login_as("officer")
    assert (
        client.post(f"/api/v1/leads/{lead.id}/follow-ups", json={"kind": "电话", "notes": "x"}).status_code
        == 403
    )
    for body, message in (
        ({"enterprise_id": "1", "title": "x", "source": "展会"}, "整数 enterprise_id"),
        ({"enterprise_id": lead.enterprise_id, "title": "某", "source": "展会"}, "请填写线索名称"),
        ({"enterprise_id": lead.enterprise_id, "title": "某项目", "source": "网络"}, "请选择线索来源"),
    ):
        response = client.post("/api/v1/leads", json=body)
        assert response.status_code == 400 and message in response.get_json()["error"]
    assert (
        client.post(
            "/api/v1/leads", json={"enterprise_id": 999999, "title": "某项目", "source": "展会"}
        ).status_code
        == 404
    )


def test_district_users_read_their_leads_only(client, login_as, make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    firm = make_enterprise(name="华峰化工有限公司")
    make_lead(firm, officer, title="落户涪陵", source="展会", district="涪陵区")
    theirs = make_lead(firm, officer, title="落户长寿", source="展会", district="长寿区")
    login_as("district", "涪陵区")
    data = client.get("/api/v1/leads").get_json()
    assert [item["title"] for item in data["items"]] == ["落户涪陵"]
    assert client.get(f"/api/v1/leads/{theirs.id}").status_code == 404
    assert (
        client.post(
            "/api/v1/leads", json={"enterprise_id": firm.id, "title": "x项目", "source": "展会"}
        ).status_code
        == 403
    )


def test_non_text_json_values_are_chinese_400s(client, login_as, make_enterprise):
    login_as("officer")
    assert client.post("/api/v1/enterprises", json={"name": 123}).get_json() == {"error": "企业名称应为文本"}
    firm = make_enterprise(name="华峰化工有限公司")
    for body, message in (
        ({"enterprise_id": firm.id, "title": ["x"], "source": "展会"}, "线索名称应为文本"),
        ({"enterprise_id": firm.id, "title": "某项目", "source": 5}, "请选择线索来源"),
    ):
        response = client.post("/api/v1/leads", json=body)
        assert response.status_code == 400 and message in response.get_json()["error"], body
    lead = client.post(
        "/api/v1/leads", json={"enterprise_id": firm.id, "title": "某项目", "source": "展会"}
    ).get_json()
    response = client.post(f"/api/v1/leads/{lead['id']}/follow-ups", json={"kind": 1, "notes": {"a": 1}})
    assert response.status_code == 400 and "请选择跟进方式" in response.get_json()["error"]


def test_the_list_takes_the_lead_lists_filters_and_ignores_unknown_ones(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = login_as("officer")
    firm = make_enterprise(name="某某材料有限公司")
    make_lead(firm, officer, title="我的线索", source="展会", district="涪陵区")
    make_lead(firm, make_user("officer"), title="别人的线索", source="展会")
    everything = client.get("/api/v1/leads").get_json()
    assert everything["total"] == 2
    assert client.get("/api/v1/leads?colour=blue&page=abc").get_json()["total"] == 2
    assert [i["title"] for i in client.get("/api/v1/leads?mine=1").get_json()["items"]] == ["我的线索"]
    assert [i["title"] for i in client.get("/api/v1/leads?district=涪陵区").get_json()["items"]] == [
        "我的线索"
    ]
