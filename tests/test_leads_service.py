"""Leads: validation, the stage gates, stage history, follow-ups and signing into a project."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.core.timeutil import today_local
from crm.extensions import db
from crm.leads.models import Lead, StageChange
from crm.leads.service import LeadError, add_follow_up, create_lead, move_lead, sign_lead, update_lead
from crm.projects.models import Project


@pytest.fixture
def lead(make_enterprise, make_lead):
    return make_lead(make_enterprise(name="华峰化工有限公司"), title="己二酸扩产项目", source="以商招商")


def _stages(lead) -> list[tuple]:
    stmt = select(StageChange).where(StageChange.lead_id == lead.id).order_by(StageChange.id)
    return [(c.from_stage, c.to_stage) for c in db.session.scalars(stmt)]


def test_a_new_lead_starts_at_the_first_stage_with_history(lead):
    assert lead.stage == "线索" and _stages(lead) == [(None, "线索")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"title": "", "source": "展会"}, "请填写线索名称"),
        ({"title": "某项目", "source": "网上"}, "请选择线索来源"),
        ({"title": "某项目", "source": "展会", "catalogue_code": "XX-01"}, "未知或已停用的目录条目代码"),
        ({"title": "某项目", "source": "展会", "district": "火星区"}, "未知的区县"),
        ({"title": "某项目", "source": "展会", "intended_investment_wan": "-1"}, "不小于 0"),
        ({"title": "某项目", "source": "展会", "intended_investment_wan": "abc"}, "不小于 0"),
        ({"title": "某项目", "source": "展会", "next_follow_up_on": "2020-01-01"}, "不能早于今天"),
        ({"title": "某项目", "source": "展会", "next_follow_up_on": "明天"}, "不是有效日期"),
        ({"title": "x" * 200, "source": "展会"}, "不能超过 128 个字符"),
    ],
)
def test_bad_lead_input_is_refused_and_writes_nothing(make_user, make_enterprise, raw, message):
    officer = make_user("officer")
    firm = make_enterprise(name="甲公司")
    with pytest.raises(LeadError, match=message):
        create_lead(firm, raw, officer)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_the_gates_in_order(lead, make_user):
    officer = lead.owner
    with pytest.raises(LeadError, match="至少有一条跟进记录"):
        move_lead(lead, "初步接洽", officer)
    add_follow_up(lead, {"kind": "电话", "notes": "首次电话沟通，对方有意向"}, officer)
    move_lead(lead, "初步接洽", officer)
    with pytest.raises(LeadError, match="须先填写意向区县"):
        move_lead(lead, "实地考察", officer)
    update_lead(lead, {"title": lead.title, "source": lead.source, "district": "涪陵区"}, lead.version)
    move_lead(lead, "实地考察", officer)
    with pytest.raises(LeadError, match="关联招商目录条目；进入“商务洽谈”须先填写意向投资额"):
        move_lead(lead, "商务洽谈", officer)
    update_lead(
        lead,
        {
            "title": lead.title,
            "source": lead.source,
            "district": "涪陵区",
            "catalogue_code": "CH-PA-01",
            "intended_investment_wan": "300000",
        },
        lead.version,
    )
    move_lead(lead, "商务洽谈", officer)
    db.session.commit()
    assert _stages(lead) == [
        (None, "线索"),
        ("线索", "初步接洽"),
        ("初步接洽", "实地考察"),
        ("实地考察", "商务洽谈"),
    ]


def test_skipping_ahead_needs_every_earlier_gate(lead):
    with pytest.raises(LeadError, match="跟进记录.*意向区县"):
        move_lead(lead, "实地考察", lead.owner)


def test_lost_needs_a_reason_and_dormant_can_come_back(lead):
    with pytest.raises(LeadError, match="须选择原因"):
        move_lead(lead, "流失", lead.owner)
    move_lead(lead, "流失", lead.owner, lost_reason="选址他地")
    assert lead.lost_reason == "选址他地"
    move_lead(lead, "线索", lead.owner, note="企业重新联系")
    assert lead.stage == "线索" and lead.lost_reason is None
    move_lead(lead, "搁置", lead.owner)
    assert lead.stage == "搁置"


def test_follow_ups_update_the_lead(lead):
    today = today_local()
    add_follow_up(
        lead,
        {
            "kind": "拜访",
            "notes": "拜访总部",
            "occurred_on": (today - timedelta(days=3)).isoformat(),
            "next_follow_up_on": (today + timedelta(days=7)).isoformat(),
        },
        lead.owner,
    )
    assert lead.last_contact_on == today - timedelta(days=3)
    assert lead.next_follow_up_on == today + timedelta(days=7)
    for raw, message in (
        (
            {"kind": "拜访", "notes": "x", "occurred_on": (today + timedelta(days=1)).isoformat()},
            "不能晚于今天",
        ),
        ({"kind": "飞鸽传书", "notes": "x"}, "请选择跟进方式"),
        ({"kind": "电话", "notes": ""}, "请填写情况记录"),
        ({"kind": "电话", "notes": "x" * 6000}, "不能超过 5000 个字符"),
        ({"kind": "电话", "notes": "x", "next_follow_up_on": "2000-01-01"}, "不能早于今天"),
    ):
        with pytest.raises(LeadError, match=message):
            add_follow_up(lead, raw, lead.owner)


def test_signing_creates_the_linked_project(lead):
    officer = lead.owner
    with pytest.raises(LeadError, match="跟进记录.*意向区县.*目录条目.*协议投资额"):
        sign_lead(lead, {"signed_on": date.today().isoformat()}, officer)
    add_follow_up(lead, {"kind": "签约仪式", "notes": "签约"}, officer)
    update_lead(
        lead,
        {"title": lead.title, "source": lead.source, "district": "长寿区", "catalogue_code": "CH-PA-01"},
        lead.version,
    )
    project = sign_lead(
        lead, {"signed_on": today_local().isoformat(), "agreed_investment_wan": "500000"}, officer
    )
    db.session.commit()
    assert (
        project.lead_id,
        project.district.name,
        project.catalogue_entry.code,
        project.agreed_investment_wan,
    ) == (lead.id, "长寿区", "CH-PA-01", 500_000)
    assert lead.stage == "签约" and _stages(lead)[-1] == ("线索", "签约")
    with pytest.raises(LeadError, match="已签约的线索不能再变更阶段"):
        move_lead(lead, "搁置", officer)
    assert db.session.scalar(select(func.count()).select_from(Project)) == 1


def test_a_stale_lead_edit_is_refused(lead):
    update_lead(lead, {"title": "新名称项目", "source": lead.source}, 1)
    db.session.commit()
    with pytest.raises(LeadError, match="已被他人修改"):
        update_lead(lead, {"title": "另一个名称", "source": lead.source}, 1)
