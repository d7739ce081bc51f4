"""The smaller findings of the security review, each pinned: odd input is a Chinese 400 (never a
500), dates stay within the calendar, a merge does not name another district's firm, data is not
cached, exports are in the audit log."""

import json

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.leads.models import FollowUp, Lead
from crm.merge.service import merge_enterprises


@pytest.mark.parametrize(
    "url",
    ["/leads/?until=9999-12-31", "/projects/?since=0001-01-01&until=9999-12-31", "/audit/?until=9999-12-31"],
)
def test_extreme_filter_dates_open_the_list(client, login_as, url):
    login_as("admin")
    assert client.get(url).status_code == 200


def test_a_huge_id_in_a_json_body_is_a_chinese_400(client, login_as):
    login_as("officer")
    for number in (10**30, 2**40, -1):
        response = client.post("/api/v1/leads", json={"enterprise_id": number, "title": "某项目"})
        assert response.status_code == 400, number
        assert "enterprise_id" in response.json["error"] or "超出允许范围" in response.json["error"]


def test_deeply_nested_json_is_a_chinese_400(client, login_as):
    login_as("officer")
    for depth in (40, 100_000):
        body = "[" * depth + "]" * depth
        response = client.post("/api/v1/leads", data=body, content_type="application/json")
        assert response.status_code == 400, depth
        assert "嵌套过深" in response.json["error"]


def test_a_lone_surrogate_is_refused_and_nothing_stored(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise()
    body = '{"enterprise_id": ' + str(firm.id) + ', "title": "\\ud800项目", "source": "展会"}'
    response = client.post("/api/v1/leads", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "代理项" in response.json["error"]
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
    # The same body with a proper character is stored, so the refusal was the surrogate's.
    fine = json.dumps({"enterprise_id": firm.id, "title": "正常项目", "source": "展会"})
    assert client.post("/api/v1/leads", data=fine, content_type="application/json").status_code == 201


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1799-12-31"])
def test_dates_outside_the_calendar_are_refused(client, login_as, make_lead, day):
    officer = login_as("officer")
    lead = make_lead(owner=officer)
    response = client.post(
        f"/api/v1/leads/{lead.id}/follow-ups", json={"kind": "电话", "notes": "x", "occurred_on": day}
    )
    assert response.status_code == 400
    assert "超出有效范围" in response.json["error"]
    html = client.post("/enterprises/new", data={"name": "年份测试有限公司", "established_on": day}).text
    assert "超出有效范围" in html
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == 0
    assert db.session.scalar(select(func.count()).where(Enterprise.name == "年份测试有限公司")) == 0


def test_a_merge_into_another_districts_firm_names_nothing(client, login_as, make_user, make_enterprise):
    mine = make_enterprise(name="涪陵某材料有限公司", district="涪陵区")
    theirs = make_enterprise(name="长寿保密材料有限公司", district="长寿区", confirm_duplicate=True)
    merge_enterprises(theirs, mine, make_user("manager"))
    db.session.commit()
    login_as("district", district="涪陵区")
    response = client.get(f"/enterprises/{mine.id}", follow_redirects=True)
    assert response.status_code == 200
    assert "不在您的查看范围内" in response.text
    assert "长寿保密材料" not in response.text


def test_a_merge_within_sight_says_where_the_firm_went(client, login_as, make_user, make_enterprise):
    absorbed = make_enterprise(name="涪陵甲材料有限公司", district="涪陵区")
    kept = make_enterprise(name="涪陵乙材料有限公司", district="涪陵区")
    merge_enterprises(kept, absorbed, make_user("manager"))
    db.session.commit()
    login_as("district", district="涪陵区")
    response = client.get(f"/enterprises/{absorbed.id}", follow_redirects=True)
    assert "已并入“涪陵乙材料有限公司”" in response.text


def test_pages_with_data_are_not_stored_by_browsers(client, login_as, make_enterprise):
    login_as("manager")
    firm = make_enterprise()
    for url in ("/", "/enterprises/", f"/enterprises/{firm.id}", "/api/v1/me", "/enterprises/export.xlsx"):
        assert client.get(url).headers.get("Cache-Control") == "no-store", url
    with client.get("/static/app.css") as static:
        assert static.status_code == 200 and "no-store" not in (static.headers.get("Cache-Control") or "")


def test_exports_are_in_the_audit_log(client, login_as, make_enterprise):
    manager = login_as("manager")
    make_enterprise(name="导出甲有限公司")
    make_enterprise(name="导出乙有限公司")
    # As a browser sends it: percent-encoded; the log keeps it readable.
    assert client.get("/enterprises/export.xlsx?q=%E5%AF%BC%E5%87%BA%E7%94%B2").status_code == 200
    assert client.get("/leads/export.xlsx").status_code == 200
    entries = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)
    ).all()
    assert [(e.table_name, e.row_id, e.actor_id) for e in entries] == [
        ("enterprises", "企业库.xlsx", manager.id),
        ("leads", "招商线索.xlsx", manager.id),
    ]
    assert entries[0].after["行数"] == 1 and entries[0].after["筛选条件"] == "q=导出甲"
    html = client.get("/audit/?kind=access").text
    assert "导出" in html and "企业库.xlsx" in html
