"""Amounts are whole 万元 everywhere: one parser (crm.core.amounts) gives every entry point the same
answer, and a decimal is refused with the same Chinese words — never rounded into another figure."""

import pytest
from sqlalchemy import func, select

from crm.core.amounts import parse_whole
from crm.core.timeutil import today_local
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.leads.service import add_follow_up, move_lead
from crm.projects.models import Project
from crm.projects.service import edit_values
from tests.helpers import batch_of, upload, xlsx

DECIMAL = "应为整数，不能有小数（收到“2.5”）"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("1,200,000", 1_200_000),
        ("８０", 80),
        (850000.0, 850000),
        (7, 7),
    ],
)
def test_whole_numbers_are_read_as_people_type_them(value, expected):
    assert parse_whole(value, "协议投资额（万元）") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2.5", "协议投资额（万元）" + DECIMAL),
        (2.5, "协议投资额（万元）" + DECIMAL),
        ("-5", "协议投资额（万元）应为不小于 0 的数字，不能为负数"),
        ("很多", "协议投资额（万元）“很多”应为不小于 0 的数字"),
        ("NaN", "协议投资额（万元）应为数字"),
        (True, "协议投资额（万元）应为数字"),
        ([5], "协议投资额（万元）应为数字"),
        (10**9, "协议投资额（万元）超出合理范围"),
    ],
)
def test_anything_else_is_refused_in_chinese(value, message):
    with pytest.raises(ValueError, match=message.replace("（", r"\（").replace("）", r"\）")):
        parse_whole(value, "协议投资额（万元）")


def _signable_lead(make_lead, owner):
    lead = make_lead(
        owner=owner, district="涪陵区", catalogue_code="CH-PA-01", intended_investment_wan="80000"
    )
    add_follow_up(lead, {"kind": "电话", "notes": "电话沟通"}, owner)
    move_lead(lead, "初步接洽", owner)
    db.session.commit()
    return lead


def test_2_5_gets_the_same_answer_from_the_signing_form_the_project_form_the_api_and_the_import(
    client, login_as, make_lead, make_project, make_enterprise
):
    officer = login_as("officer")
    today = today_local()

    # The lead-signing form: refused, no project, the lead still where it was.
    lead = _signable_lead(make_lead, officer)
    html = client.post(
        f"/leads/{lead.id}/sign",
        data={"signed_on": today.isoformat(), "agreed_investment_wan": "2.5"},
        follow_redirects=True,
    ).text
    assert "协议投资额（万元）" + DECIMAL in html
    assert _count(Project) == 0
    assert db.session.get(Lead, lead.id).stage == "初步接洽"

    # The project form: the same words, the agreed investment unchanged.
    project = make_project(agreed_investment_wan=100_000)
    form = {
        **{k: v for k, v in edit_values(project).items() if k != "catalogue_codes"},
        "catalogue_codes": "",
    }
    html = client.post(
        f"/projects/{project.id}/edit",
        data={**form, "agreed_investment_wan": "2.5", "version": project.version},
    ).text
    assert "协议投资额（万元）" + DECIMAL in html
    db.session.expire_all()
    assert db.session.get(Project, project.id).agreed_investment_wan == 100_000

    # The API: a lead's intended investment and a project's funds, 400 with the same words.
    answer = client.patch(
        f"/api/v1/leads/{lead.id}", json={"intended_investment_wan": 2.5, "version": lead.version}
    )
    assert answer.status_code == 400 and answer.get_json()["error"] == "意向投资（万元）" + DECIMAL
    assert db.session.get(Lead, lead.id).intended_investment_wan == 80_000
    answer = client.post(
        f"/api/v1/projects/{project.id}/funds",
        json={
            "amount_wan": "2.5",
            "arrived_on": str(project.signed_on),
            "source_region": "境外",
            "kind": "其他",
        },
    )
    assert answer.status_code == 400 and answer.get_json()["error"] == "到位金额（万元）" + DECIMAL
    assert db.session.get(Project, project.id).fund_entries == []

    # The import: the row is refused in the preview, and confirming imports nothing.
    make_enterprise(name="苏州示例新材料股份有限公司")
    rows = [
        ["企业名称", "线索名称", "来源", "意向投资（万元）"],
        ["苏州示例新材料股份有限公司", "二期", "展会", "2.5"],
    ]
    batch = batch_of(upload(client, xlsx(rows), kind="leads"))
    assert "意向投资（万元）" + DECIMAL in client.get(f"/imports/{batch.id}").text
    db.session.refresh(batch)
    client.post(f"/imports/{batch.id}/confirm", data={"version": batch.version})
    assert _count(Lead) == 1  # the signable lead only

    # An enterprise's revenue, through its form: the same rule.
    html = client.post(
        "/enterprises/new", data={"name": "重庆某某材料有限公司", "kind": "target", "revenue_wan": "2.5"}
    ).text
    assert "年营业收入（万元）" + DECIMAL in html
    assert db.session.scalar(select(Enterprise).where(Enterprise.name == "重庆某某材料有限公司")) is None
