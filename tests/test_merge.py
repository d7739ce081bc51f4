"""Merging duplicate enterprises: what moves, what is refused, who may, and the history of both."""

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.enterprises.models import Contact, Enterprise
from crm.enterprises.service import (
    EnterpriseError,
    VersionConflict,
    add_contact,
    find_duplicates,
    update_enterprise,
)
from crm.extensions import db
from crm.leads.models import Lead
from crm.merge.service import absorbed_ids, merge_enterprises
from crm.projects.models import Project

CODE_A = "914403001922038216"
CODE_B = "91500000MA5U00000W"


@pytest.fixture
def make_pair(make_user, make_enterprise, make_lead, make_project):
    """Factory: two records of one firm, a bare one to keep and a fuller one with a lead, a contact
    and a project; returns (officer, keep, absorbed, lead, contact, project)."""

    def factory(absorbed_code=CODE_A, keep_code=None):
        officer = make_user("officer")
        keep = make_enterprise(
            name="华峰化工有限公司", credit_code=keep_code, products="己二酸", catalogue_codes="CH-PA-01"
        )
        absorbed = make_enterprise(
            confirm_duplicate=True,
            name="重庆华峰化工股份有限公司",
            credit_code=absorbed_code,
            former_names="华峰新材料有限公司",
            hq_province="浙江省",
            district="涪陵区",
            products="聚氨酯原液",
            honours=["链主"],
            catalogue_codes="CH-PA-02",
        )
        absorbed.legal_representative = "尤某"  # a registry column: merged like any other empty field
        lead = make_lead(absorbed, officer, title="聚氨酯扩产", source="展会", district="涪陵区")
        contact = add_contact(absorbed, {"name": "王总", "title": "董事长", "phone": "13800000000"})
        project = make_project(
            name="聚氨酯一期",
            enterprise=absorbed,
            district="涪陵区",
            catalogue_code="CH-PA-02",
            agreed_investment_wan=50_000,
            signed_on=date(2025, 6, 1),
        )
        return officer, keep, absorbed, lead, contact, project

    return factory


def _snapshot():
    """Everything a refused merge must leave as it was."""
    return (
        db.session.execute(
            select(
                Enterprise.id,
                Enterprise.credit_code,
                Enterprise.former_names,
                Enterprise.merged_into_id,
                Enterprise.version,
            ).order_by(Enterprise.id)
        ).all(),
        db.session.execute(select(Lead.id, Lead.enterprise_id).order_by(Lead.id)).all(),
        db.session.execute(select(Contact.id, Contact.enterprise_id).order_by(Contact.id)).all(),
        db.session.execute(select(Project.id, Project.enterprise_id).order_by(Project.id)).all(),
        # logins write the users table and a login attempt: every other table's history must stay as it was
        db.session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.table_name.not_in(("users", "login_attempts")))
        ),
    )


def test_merge_moves_everything_and_keeps_both_names(make_pair):
    officer, keep, absorbed, lead, contact, project = make_pair()
    merge_enterprises(keep, absorbed, officer, keep_version=keep.version, absorbed_version=absorbed.version)
    db.session.commit()
    db.session.expire_all()
    assert (lead.enterprise_id, contact.enterprise_id, project.enterprise_id) == (keep.id,) * 3
    assert keep.former_names == ["重庆华峰化工股份有限公司", "华峰新材料有限公司"]
    assert keep.credit_code == CODE_A and absorbed.credit_code is None
    assert absorbed.merged_into_id == keep.id
    # keep's own values stay; its empty ones are filled from the absorbed record
    assert keep.products == "己二酸" and keep.hq_province == "浙江省" and keep.district.name == "涪陵区"
    assert keep.legal_representative == "尤某" and keep.honours == ["链主"]
    assert [c.code for c in keep.catalogue_entries] == ["CH-PA-01", "CH-PA-02"]
    # the keys follow: the absorbed record's former name now finds the kept one, and only it
    assert [e.id for e in find_duplicates("华峰新材料有限公司")] == [keep.id]
    assert [e.id for e in find_duplicates("某某", credit_code=CODE_A)] == [keep.id]
    assert absorbed_ids(keep) == [absorbed.id]
    # every move is in the audit log, attributed to the officer
    moved = db.session.scalar(
        select(AuditLog)
        .where(AuditLog.table_name == "leads", AuditLog.row_id == str(lead.id))
        .order_by(AuditLog.id.desc())
    )
    assert moved.after["enterprise_id"] == keep.id and moved.actor_name == officer.username


def test_the_kept_name_is_not_its_own_former_name(make_user, make_enterprise):
    officer = make_user("officer")
    keep = make_enterprise(name="甲材料有限公司", former_names="乙材料有限公司")
    absorbed = make_enterprise(
        confirm_duplicate=True, name="乙材料有限公司", former_names="甲材料有限公司、丙材料有限公司"
    )
    merge_enterprises(keep, absorbed, officer)
    db.session.commit()
    assert keep.former_names == ["乙材料有限公司", "丙材料有限公司"]


def test_refused_merges_change_nothing(make_pair, make_enterprise):
    officer, keep, absorbed, *_ = make_pair(keep_code=CODE_B)
    third = make_enterprise(name="华峰化工集团", confirm_duplicate=True)
    gone = make_enterprise(name="华峰化工（重庆）有限公司", confirm_duplicate=True)
    merge_enterprises(third, gone, officer)
    db.session.commit()
    before = _snapshot()
    for args, kwargs, message in (
        ((keep, keep), {}, "自身"),
        ((keep, absorbed), {}, "两个不同的统一社会信用代码说明不是同一企业"),
        ((keep, gone), {}, "已并入其他企业"),
        ((gone, keep), {}, "已并入其他企业"),
        ((third, keep), {"keep_version": third.version - 1}, "已被他人修改"),
        ((third, keep), {"absorbed_version": keep.version + 1}, "已被他人修改"),
    ):
        with pytest.raises(EnterpriseError, match=message):
            merge_enterprises(*args, officer, **kwargs)
        db.session.rollback()
        assert _snapshot() == before, message


def test_a_stale_version_is_a_version_conflict(make_pair):
    officer, keep, absorbed, *_ = make_pair()
    seen = keep.version
    update_enterprise(keep, {"name": "华峰化工有限公司", "products": "己二酸、尼龙66"}, seen)
    db.session.commit()
    with pytest.raises(VersionConflict):
        merge_enterprises(keep, absorbed, officer, keep_version=seen, absorbed_version=absorbed.version)


def _post(client, keep, absorbed, **overrides):
    data = {
        "other_id": str(absorbed.id),
        "keep_version": str(keep.version),
        "absorbed_version": str(absorbed.version),
        "confirmed": "y",
        **overrides,
    }
    return client.post(f"/enterprises/{keep.id}/merge", data=data, follow_redirects=True)


def test_officer_merges_from_the_duplicate_card(client, login_as, make_pair):
    _, keep, absorbed, lead, contact, _ = make_pair()
    update_enterprise(
        absorbed,
        {"name": absorbed.name, "products": "聚氨酯原液、TPU", "district": "涪陵区"},
        absorbed.version,
    )
    db.session.commit()
    login_as("officer")
    page = client.get(f"/enterprises/{keep.id}").text
    assert "疑似重复企业" in page and "重庆华峰化工股份有限公司" in page
    confirm_url = f"/enterprises/{keep.id}/merge?other_id={absorbed.id}"
    assert f'href="{confirm_url}">合并到本企业' in page
    confirm = client.get(confirm_url).text
    assert "已核对为同一企业" in confirm and "确认合并" in confirm and "1 条 / 1 位 / 1 个" in confirm

    html = _post(client, keep, absorbed).text
    assert "并入本企业" in html
    db.session.expire_all()
    assert (
        absorbed.merged_into_id == keep.id
        and lead.enterprise_id == keep.id
        and contact.enterprise_id == keep.id
    )
    # the kept page shows the absorbed record's history: its edit, its contact, the merge itself
    assert "疑似重复企业" not in html
    timeline = html.split('data-testid="timeline"', 1)[1]
    assert f"原企业“重庆华峰化工股份有限公司”（编号 {absorbed.id}）" in timeline
    assert f"并入 华峰化工有限公司（编号 {keep.id}）" in timeline
    assert "主要产品：聚氨酯原液 → 聚氨酯原液、TPU" in timeline
    assert "联系人“王总”" in timeline and "合并" in timeline
    assert "版本" not in timeline


def test_the_absorbed_page_leads_to_the_kept_one(client, login_as, make_pair):
    officer, keep, absorbed, *_ = make_pair()
    merge_enterprises(keep, absorbed, officer)
    db.session.commit()
    login_as("officer")
    response = client.get(f"/enterprises/{absorbed.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/enterprises/{keep.id}")
    assert "该企业已并入“华峰化工有限公司”" in client.get(response.headers["Location"]).text
    for url in (f"/enterprises/{absorbed.id}/edit", f"/leads/new/{absorbed.id}"):
        assert client.get(url, follow_redirects=True).request.path == f"/enterprises/{keep.id}", url
    listing = client.get("/enterprises/").text
    assert "华峰化工有限公司" in listing and "重庆华峰化工股份有限公司" not in listing


def test_bad_merge_input_is_a_chinese_message_and_changes_nothing(client, login_as, make_pair):
    _, keep, absorbed, *_ = make_pair()
    login_as("officer")
    before = _snapshot()
    for overrides, message in (
        ({"other_id": "abc"}, "请填写要并入的企业编号（正整数）"),
        ({"other_id": "²"}, "请填写要并入的企业编号（正整数）"),
        ({"other_id": "99999999999999999999"}, "请填写要并入的企业编号（正整数）"),
        ({"other_id": "999999"}, "未找到编号为 999999 的企业"),
        ({"other_id": str(keep.id)}, "不能将企业与其自身合并"),
        ({"confirmed": ""}, "请先勾选“已核对为同一企业”再合并"),
        ({"keep_version": "x"}, "页面缺少版本信息"),
        ({"keep_version": str(keep.version + 5)}, "已被他人修改"),
    ):
        response = _post(client, keep, absorbed, **overrides)
        assert response.status_code == 200 and message in response.text, message
        assert _snapshot() == before, message
    # the confirmation page refuses the same way, before anything is posted
    html = client.get(f"/enterprises/{keep.id}/merge?other_id=abc", follow_redirects=True).text
    assert "请填写要并入的企业编号（正整数）" in html
    keep.credit_code = CODE_B
    db.session.commit()
    html = client.get(f"/enterprises/{keep.id}/merge?other_id={absorbed.id}", follow_redirects=True).text
    assert "两个不同的统一社会信用代码说明不是同一企业" in html


def test_district_users_cannot_merge(client, login_as, make_pair, make_enterprise):
    _, keep, absorbed, *_ = make_pair()
    local = make_enterprise(name="涪陵本地材料有限公司", kind="local", district="涪陵区")
    near = make_enterprise(
        name="涪陵本地材料股份有限公司", kind="local", district="涪陵区", confirm_duplicate=True
    )
    before = _snapshot()
    login_as("district", "长寿区")
    assert client.get(f"/enterprises/{local.id}").status_code == 404
    assert client.get(f"/enterprises/{local.id}/merge?other_id={near.id}").status_code == 404
    assert _post(client, local, near).status_code == 404
    client.get("/logout")
    login_as("district", "涪陵区")
    assert client.get(f"/enterprises/{local.id}").status_code == 200
    assert "疑似重复企业" not in client.get(f"/enterprises/{local.id}").text
    assert _post(client, local, near).status_code == 403
    assert _post(client, keep, absorbed).status_code == 404  # keep is not in 涪陵区 nor intended for it
    assert _snapshot() == before


def test_merge_needs_the_csrf_token(csrf_enabled, client, login_as, make_pair):
    _, keep, absorbed, *_ = make_pair()
    login_as("officer")
    before = _snapshot()
    response = _post(client, keep, absorbed)
    assert response.status_code == 400 and "CSRF" in response.text and _snapshot() == before
    confirm = client.get(f"/enterprises/{keep.id}/merge?other_id={absorbed.id}").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', confirm).group(1)
    assert "并入本企业" in _post(client, keep, absorbed, csrf_token=token).text
    db.session.expire_all()
    assert absorbed.merged_into_id == keep.id


def test_the_api_points_at_the_kept_record_and_refuses_writes_to_the_absorbed_one(
    client, login_as, make_enterprise
):
    user = login_as("officer")
    keep = make_enterprise(name="合并保留企业有限公司")
    absorbed = make_enterprise(name="合并被并企业有限公司")
    merge_enterprises(keep, absorbed, user)
    db.session.commit()
    body = client.get(f"/api/v1/enterprises/{absorbed.id}").get_json()
    assert body["merged_into_id"] == keep.id
    refused = client.patch(
        f"/api/v1/enterprises/{absorbed.id}", json={"version": body["version"], "products": "x"}
    )
    assert refused.status_code == 400 and f"已并入编号 {keep.id}" in refused.get_json()["error"]
    lead = client.post(
        "/api/v1/leads", json={"enterprise_id": absorbed.id, "title": "并入后的线索", "source": "展会"}
    )
    assert lead.status_code == 400 and "已并入" in lead.get_json()["error"]
