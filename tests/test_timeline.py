"""Timelines of leads and enterprises: follow-ups, stage changes and audit entries, newest first,
within the viewer's district scope."""

from datetime import timedelta

from crm.core.actor import acting_as
from crm.core.timeutil import today_local
from crm.enterprises.service import add_contact, update_enterprise
from crm.extensions import db
from crm.leads.service import add_follow_up, move_lead, update_lead
from crm.readmodels.timeline import build_timeline

FIRM = "华峰化工有限公司"
EXPANSION = {"title": "己二酸扩产", "source": "展会", "district": "涪陵区"}  # the lead most tests follow


def _follow(lead, by, notes, days_ago=0):
    add_follow_up(
        lead, {"occurred_on": today_local() - timedelta(days=days_ago), "kind": "电话", "notes": notes}, by
    )
    db.session.commit()


def test_lead_timeline_is_newest_first_with_days_sorted_as_days(make_user, make_enterprise, make_lead):
    officer = make_user("officer", display_name="张专员")
    lead = make_lead(make_enterprise(name=FIRM), officer, **EXPANSION)
    _follow(lead, officer, "上周拜访的补记", days_ago=3)
    _follow(lead, officer, "今天电话沟通")
    move_lead(lead, "初步接洽", officer, "对方有意向")
    db.session.commit()
    with acting_as(officer.username, officer.id):  # as a request by the officer would be
        update_lead(lead, {"title": "己二酸二期扩产", "source": "展会", "district": "涪陵区"}, lead.version)
        db.session.commit()

    events = build_timeline(lead_ids=[lead.id], user=officer).events
    assert [(e.kind, e.text) for e in events] == [
        ("修改", ""),
        ("阶段", "线索 → 初步接洽：对方有意向"),
        ("跟进", "【电话】今天电话沟通"),
        ("阶段", "— → 线索：新建线索"),
        # logged today for three days ago: it sorts as its own day, below everything since
        ("跟进", "【电话】上周拜访的补记"),
    ]
    edit = events[0]
    assert [(c.label, c.before, c.after) for c in edit.changes] == [
        ("线索名称", "己二酸扩产", "己二酸二期扩产")
    ]
    assert edit.actor == "张专员" and events[1].actor == "张专员"
    assert events[-1].when == today_local() - timedelta(days=3) and events[-1].when_text.count(":") == 0


def test_lead_page_shows_the_timeline(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    lead = make_lead(make_enterprise(name=FIRM), officer, **EXPANSION)
    _follow(lead, officer, "电话沟通扩产意向")
    update_lead(lead, {"title": "己二酸扩产", "source": "以商招商", "district": "长寿区"}, lead.version)
    db.session.commit()
    html = client.get(f"/leads/{lead.id}").text
    timeline = html.split('data-testid="timeline"', 1)[1]
    assert (
        timeline.index("来源：展会 → 以商招商")
        < timeline.index("电话沟通扩产意向")
        < timeline.index("新建线索")
    )
    # id fields show what they point to, and bookkeeping stays out
    assert "意向区县：涪陵区 → 长寿区" in timeline
    assert "版本" not in timeline and "最近联系日期" not in timeline
    assert "线索“" not in timeline  # on the lead's own page its name would only repeat the title


def test_enterprise_page_timeline_has_leads_contacts_and_edits(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    firm = make_enterprise(name=FIRM, products="己二酸")
    lead = make_lead(firm, officer, **EXPANSION)
    _follow(lead, officer, "拜访企业总部")
    add_contact(firm, {"name": "王总", "title": "董事长"})
    update_enterprise(
        firm, {"name": "华峰化工有限公司", "products": "己二酸、尼龙66", "district": "涪陵区"}, firm.version
    )
    db.session.commit()
    html = client.get(f"/enterprises/{firm.id}").text
    timeline = html.split('data-testid="timeline"', 1)[1]
    for text in (
        "主要产品：己二酸 → 己二酸、尼龙66",
        "所在区县：（空） → 涪陵区",
        "联系人“王总”",
        "职务：董事长",
        "【电话】拜访企业总部",
        f'href="/leads/{lead.id}">线索“己二酸扩产”',
        "登记企业",
        "类别：招商目标",
    ):
        assert text in timeline, text
    assert "版本" not in timeline and "name_key" not in timeline and "search_text" not in timeline
    assert timeline.index("主要产品") < timeline.index("联系人“王总”") < timeline.index("拜访企业总部")


def test_a_district_user_sees_only_the_leads_of_their_district(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    firm = make_enterprise(name="涪陵本地材料有限公司", kind="local", district="涪陵区")
    ours = make_lead(firm, officer, title="涪陵二期", source="展会", district="涪陵区")
    theirs = make_lead(firm, officer, title="长寿新基地", source="展会", district="长寿区")
    _follow(ours, officer, "涪陵项目的跟进")
    _follow(theirs, officer, "长寿项目的秘密跟进")
    update_lead(
        theirs, {"title": "长寿新基地（扩大）", "source": "展会", "district": "长寿区"}, theirs.version
    )
    db.session.commit()
    login_as("district", "涪陵区")
    html = client.get(f"/enterprises/{firm.id}").text
    assert "涪陵项目的跟进" in html and "涪陵二期" in html
    assert "长寿项目的秘密跟进" not in html and "长寿新基地" not in html
    # the builder itself keeps the scope, whoever calls it
    district_user = make_user("district", "涪陵区")
    events = build_timeline(enterprise_ids=[firm.id], user=district_user).events
    assert not any("长寿" in e.subject or "长寿" in e.text for e in events)
    assert build_timeline(lead_ids=[theirs.id], user=district_user).events == []
    assert any("长寿项目的秘密跟进" in e.text for e in build_timeline(enterprise_ids=[firm.id], user=officer))


def test_a_long_timeline_is_cut_with_a_note(client, login_as, monkeypatch, make_enterprise, make_lead):
    officer = login_as("officer")
    lead = make_lead(make_enterprise(name=FIRM), officer, **EXPANSION)
    for day in range(5):
        _follow(lead, officer, f"第 {day} 天的跟进", days_ago=day)
    timeline = build_timeline(lead_ids=[lead.id], limit=3, user=officer)
    assert timeline.truncated
    assert [e.text for e in timeline] == [
        "【电话】第 0 天的跟进",
        "— → 线索：新建线索",
        "【电话】第 1 天的跟进",
    ]
    assert not build_timeline(lead_ids=[lead.id], limit=6, user=officer).truncated  # 5 + 1 events
    monkeypatch.setattr("crm.web.enterprises.TIMELINE_LIMIT", 4)
    html = client.get(f"/enterprises/{lead.enterprise_id}").text
    assert 'data-testid="timeline-truncated"' in html and "仅显示最近 4 条记录" in html
