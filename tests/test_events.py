"""招商活动: the service's checks (every field, in Chinese), the pages (list, count, filters, export,
record, edit with its version, delete, the enterprises met), the district scope on every route
with users of two districts, and the events shown on the enterprise and lead pages."""

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from crm.audit.models import AuditLog
from crm.core.timeutil import today_local
from crm.enterprises.credit_code import check_character
from crm.events.models import EVENT_KINDS, Event, EventEnterprise
from crm.events.service import (
    EventConflict,
    EventError,
    EventFilter,
    create_event,
    event_query,
    link_enterprise,
    update_event,
    validate,
)
from crm.extensions import db
from crm.places.service import active_divisions, resolve_district
from tests.conftest import PASSWORD, IsolatedClient

CODE = "91500000MA5U7G8X1" + check_character("91500000MA5U7G8X1")
CJK = re.compile(r"[\u4e00-\u9fff]")
TODAY = today_local()
DAY = TODAY - timedelta(days=10)


def _division() -> str:
    return active_divisions()[0].name


def _raw(**overrides) -> dict:
    return {
        "kind": "推介会",
        "title": "先进材料产业投资推介会",
        "held_on": DAY.isoformat(),
        "place": "苏州市",
        "division": _division(),
        "district": "",
        "participants": "张三等 3 人",
        "outcome": "收集线索 2 条",
        **overrides,
    }


def _event(by, **overrides) -> Event:
    event = create_event(_raw(**overrides), by)
    db.session.commit()
    return event


def _client(app, user) -> IsolatedClient:
    """A client logged in as `user` (several users in one test, each with their own cookies)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _shown_count(html: str) -> int:
    return int(re.search(r'id="event-count" data-count="(\d+)">共 (\d+) 场', html).group(2))


# ---------------------------------------------------------------- the service's checks


def _problems(raw: dict, user) -> dict[str, str]:
    with pytest.raises(EventError) as caught:
        validate(raw, user)
    return dict(reversed(caught.value.problems))


def test_every_field_is_checked_and_every_problem_is_chinese(make_user):
    officer = make_user("officer")
    problems = _problems({}, officer)
    assert set(problems) == {"kind", "title", "held_on", "organiser"}
    assert "推介会" in problems["kind"] and "活动名称" in problems["title"]
    assert problems["held_on"] == "请填写活动开始日期"
    assert problems["organiser"] == "请选择主办单位：一个处室，或一个区县（二选一）"
    bad = _problems(
        _raw(
            kind="party",
            title="x" * 129,
            # Today as the test runs (TODAY was read at collection: a run crossing midnight,
            # Beijing time, would make TODAY + 1 today itself), and well after it.
            held_on=(today_local() + timedelta(days=30)).isoformat(),
            ends_on="2026-02-30",
            place="地" * 129,
            division="不存在的处室",
            district="火星区",
            participants="人" * 257,
            outcome="成" * 4001,
        ),
        officer,
    )
    assert set(bad) == {
        "kind",
        "title",
        "held_on",
        "ends_on",
        "place",
        "division",
        "district",
        "participants",
        "outcome",
    }
    assert "不能晚于今天" in bad["held_on"] and "不是有效日期" in bad["ends_on"]
    assert "未知的处室“不存在的处室”" in bad["division"] and _division() in bad["division"]
    assert bad["district"] == "未知的区县或功能区：“火星区”"
    assert "不能超过 128 个字符" in bad["title"] and "不能超过 4000 个字符" in bad["outcome"]
    for message in [*problems.values(), *bad.values()]:
        assert CJK.search(message) and not re.search(r"[A-Za-z]{4,}", message.replace("party", ""))
    assert _problems(_raw(ends_on=(DAY - timedelta(days=1)).isoformat()), officer) == {
        "ends_on": "结束日期不能早于开始日期"
    }
    assert (
        "不能超过一年" in _problems(_raw(ends_on=(DAY + timedelta(days=400)).isoformat()), officer)["ends_on"]
    )
    assert _problems(_raw(district="涪陵区"), officer) == {
        "organiser": "请选择主办单位：一个处室，或一个区县（二选一）"
    }
    assert "控制字符" in _problems(_raw(place="苏州\x07"), officer)["place"]
    assert _problems(_raw(title=["列表"]), officer) == {"title": "活动名称应为文本"}
    # Alias of a district, a date as people write it, a multi-day event: all accepted.
    data = validate(
        _raw(division="", district="大渡口", held_on=f"{DAY.year}年{DAY.month}月{DAY.day}日", ends_on=""),
        officer,
    )
    assert data.district_id == resolve_district("大渡口区").id and data.division_id is None
    assert data.held_on == DAY and data.ends_on is None


def test_a_district_users_event_is_their_districts_whatever_is_submitted(make_user):
    fuling = make_user("district", "涪陵区")
    event = _event(fuling, division=_division(), district="长寿区")
    assert event.district.name == "涪陵区" and event.division_id is None
    with pytest.raises(EventError, match="您的角色不能登记招商活动"):
        create_event(_raw(), make_user("admin"))


def test_a_stale_version_is_refused_by_the_service(make_user):
    officer = make_user("officer")
    event = _event(officer)
    update_event(event, _raw(title="第一次修改"), officer, event.version)
    db.session.commit()
    with pytest.raises(EventConflict):
        update_event(event, _raw(title="第二次修改"), officer, 1)
    db.session.rollback()
    assert db.session.get(Event, event.id).title == "第一次修改"


def test_only_the_recorder_the_organising_district_and_managers_change_an_event(app, make_user):
    recorder, other = make_user("officer"), make_user("officer")
    event = _event(recorder, district="涪陵区", division="")
    fuling, changshou = make_user("district", "涪陵区"), make_user("district", "长寿区")
    for user, allowed in ((recorder, True), (other, False), (fuling, True), (make_user("manager"), True)):
        client = _client(app, user)
        assert client.get(f"/events/{event.id}/edit").status_code == (200 if allowed else 403), user
    # Another district does not even learn that the event exists.
    assert _client(app, changshou).get(f"/events/{event.id}/edit").status_code == 404


# ---------------------------------------------------------------- pages: record, edit, delete


def test_an_officer_records_an_event_and_a_refused_submit_keeps_what_was_typed(client, login_as):
    login_as("officer")
    typed = _raw(title="赴苏州开展 PA66 产业链招商", held_on="2026-13-40", district="涪陵区")
    page = client.post("/events/new", data=typed)
    assert page.status_code == 200 and _count(Event) == 0
    html = page.text
    assert "开始日期“2026-13-40”不是有效日期" in html
    assert "请选择主办单位：一个处室，或一个区县（二选一）" in html
    assert 'value="赴苏州开展 PA66 产业链招商"' in html and 'value="2026-13-40"' in html
    assert "收集线索 2 条" in html  # the outcome textarea, as typed
    response = client.post("/events/new", data=_raw(title="赴苏州开展 PA66 产业链招商"))
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.division.name == _division() and event.held_on == DAY and event.created_by.role == "officer"
    detail = client.get(response.headers["Location"]).text
    assert "已登记招商活动" in detail and "赴苏州开展 PA66 产业链招商" in detail and _division() in detail


def test_the_district_form_offers_no_organiser_and_saves_their_district(client, login_as):
    user = login_as("district", "涪陵区")
    form = client.get("/events/new").text
    assert 'name="division"' not in form and "区县专员登记的活动由本区县主办" in form
    response = client.post("/events/new", data=_raw(division="", district="长寿区"))
    assert response.status_code == 302
    assert db.session.scalar(select(Event)).district_id == user.district_id


def test_an_edit_over_a_newer_save_is_refused_with_what_changed_and_nothing_saved(app, make_user):
    officer, manager = (
        make_user("officer", display_name="王专员"),
        make_user("manager", display_name="李处长"),
    )
    event = _event(officer, title="原来的名称")
    mine, theirs = _client(app, officer), _client(app, manager)
    seen = re.search(r'name="version" type="hidden" value="(\d+)"', mine.get(f"/events/{event.id}/edit").text)
    assert (
        theirs.post(
            f"/events/{event.id}/edit", data=_raw(title="处长改的名称", version=seen.group(1))
        ).status_code
        == 302
    )
    page = mine.post(f"/events/{event.id}/edit", data=_raw(title="专员改的名称", version=seen.group(1)))
    assert page.status_code == 200
    assert "该活动在您编辑期间已被他人修改，您的修改尚未保存" in page.text
    assert 'data-testid="conflict"' in page.text and manager.username in page.text
    assert "活动名称 原来的名称 → 处长改的名称" in page.text
    assert 'value="专员改的名称"' in page.text  # what was typed stays
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "处长改的名称"
    # Saving again from there is a knowing overwrite: the page carries the version now on file.
    newer = re.search(r'name="version" type="hidden" value="(\d+)"', page.text).group(1)
    assert (
        mine.post(f"/events/{event.id}/edit", data=_raw(title="专员改的名称", version=newer)).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "专员改的名称"
    # A version missing or forged is never taken as "no check".
    assert "您的修改尚未保存" in mine.post(f"/events/{event.id}/edit", data=_raw(title="再改")).text
    forged = mine.post(f"/events/{event.id}/edit", data=_raw(title="再改", version="abc"))
    assert forged.status_code == 200 and 'value="再改"' in forged.text
    db.session.expire_all()
    assert db.session.get(Event, event.id).title == "专员改的名称"


def test_a_manager_deletes_an_event_after_confirming_and_the_log_keeps_it(app, make_user, make_enterprise):
    officer = make_user("officer")
    event = _event(officer)
    link_enterprise(event, make_enterprise(name="被删除活动接洽的企业有限公司"))
    db.session.commit()
    event_id = event.id
    assert _client(app, officer).post(f"/events/{event_id}/delete", data={"confirm": "y"}).status_code == 403
    manager = _client(app, make_user("manager"))
    unconfirmed = manager.post(f"/events/{event_id}/delete", data={}, follow_redirects=True)
    assert "请先勾选确认" in unconfirmed.text and _count(Event) == 1
    done = manager.post(f"/events/{event_id}/delete", data={"confirm": "y"}, follow_redirects=True)
    assert "已删除招商活动“先进材料产业投资推介会”" in done.text
    assert _count(Event) == 0 and _count(EventEnterprise) == 0
    deleted = db.session.scalars(
        select(AuditLog.table_name).where(AuditLog.action == "delete").order_by(AuditLog.id)
    ).all()
    assert "events" in deleted and "event_enterprises" in deleted
    assert manager.get(f"/events/{event_id}").status_code == 404


# ---------------------------------------------------------------- the list, its count and its export


def test_the_count_on_the_list_is_the_number_of_rows_that_match(app, make_user):
    officer, manager = make_user("officer"), make_user("manager")
    divisions = active_divisions()
    plan = [
        ("推介会", 3, divisions[0].name, ""),
        ("展会", 5, divisions[1].name, ""),
        ("外出招商", 12, "", "涪陵区"),
        ("推介会", 20, "", "长寿区"),
        ("新闻宣传", 40, divisions[0].name, ""),
        ("外出招商", 70, "", "涪陵区"),
    ]
    for number, (kind, days_ago, division, district) in enumerate(plan):
        _event(
            officer,
            kind=kind,
            title=f"活动{number}号{'（苏州）' if number % 2 else ''}",
            place="重庆",
            held_on=(TODAY - timedelta(days=days_ago)).isoformat(),
            division=division,
            district=district,
        )
    fuling = resolve_district("涪陵区").id
    client = _client(app, manager)
    queries = [
        "",
        "kind=推介会",
        "kind=推介会&kind=外出招商",
        f"division={divisions[0].id}",
        f"district={fuling}",
        f"from={(TODAY - timedelta(days=15)).isoformat()}&to={(TODAY - timedelta(days=4)).isoformat()}",
        "q=苏州",
        f"kind=外出招商&district={fuling}&from={(TODAY - timedelta(days=30)).isoformat()}",
    ]
    for query in queries:
        html = client.get(f"/events?per_page=200&{query}").text
        filters = EventFilter.from_args(MultiDict([pair.split("=") for pair in query.split("&") if pair]))
        expected = len(db.session.scalars(event_query(filters, manager)).unique().all())
        rows = len(re.findall(r'<a href="/events/\d+">', html))
        assert _shown_count(html) == rows == expected, query
    # The figures for a few filters, counted by hand from the plan.
    assert _shown_count(client.get("/events?kind=推介会").text) == 2
    assert _shown_count(client.get(f"/events?district={fuling}").text) == 2
    assert _shown_count(client.get("/events?q=苏州").text) == 3
    # Pages of 2: the count is of all pages, not of the page shown.
    paged = client.get("/events?per_page=2&page=2").text
    assert _shown_count(paged) == 6 and len(re.findall(r'<a href="/events/\d+">', paged)) == 2


@pytest.mark.parametrize(
    "query",
    [
        "kind=party&kind=%E2%80%8B",
        "division=%C2%B2&district=%D9%A2",
        "division=-1&district=99999999999999999999",
        "from=2026-13-45&to=abc",
        "from=9999-12-31&to=0001-01-01",
        "q=" + "长" * 500,
        "q=%25_%5C",
        "page=abc&per_page=-3",
        "page=99999999999",
    ],
)
def test_garbage_in_the_query_string_is_ignored_never_a_500(client, login_as, make_user, query):
    _event(make_user("officer"))
    login_as("manager")
    page = client.get(f"/events?{query}")
    assert page.status_code == 200 and 'id="event-count"' in page.text
    with client.get(f"/events/export.xlsx?{query}") as export:
        assert export.status_code == 200


def test_the_export_has_what_the_list_shows(client, login_as, make_user, make_enterprise):
    officer = make_user("officer")
    shown = _event(officer, kind="展会", title="参加新材料博览会")
    link_enterprise(shown, make_enterprise(name="博览会接洽企业有限公司"))
    _event(officer, kind="推介会", title="不在筛选内的推介会")
    db.session.commit()
    login_as("manager")
    with client.get("/events/export.xlsx?kind=展会") as response:
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("开始日期", "结束日期", "活动类型", "活动名称", "主办单位")
    assert len(rows) == 2 and rows[1][2] == "展会" and rows[1][3] == "参加新材料博览会"
    assert rows[1][8] == 1 and rows[1][9] == "博览会接洽企业有限公司"
    assert db.session.scalar(
        select(AuditLog).where(AuditLog.table_name == "events", AuditLog.action == "export")
    )


# ---------------------------------------------------------------- roles and the district scope


def test_admins_see_nothing_of_events(client, login_as, make_user, make_enterprise):
    event = _event(make_user("officer"))
    firm = make_enterprise(name="管理员看不到活动的企业有限公司")
    link_enterprise(event, firm)
    db.session.commit()
    login_as("admin")
    for url in (
        "/events",
        "/events/export.xlsx",
        "/events/new",
        f"/events/{event.id}",
        f"/events/{event.id}/edit",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/events/{event.id}/delete", data={"confirm": "y"}).status_code == 403
    assert client.get("/imports/events").status_code == 403
    assert 'href="/events"' not in client.get("/").text  # not in the navigation
    assert 'data-testid="events"' not in client.get(f"/enterprises/{firm.id}").text
    assert _count(Event) == 1


def _event_routes(app) -> list[tuple[str, str]]:
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/events/<")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def test_another_districts_event_is_a_404_on_every_route_and_changes_nothing(
    app, make_user, make_enterprise, make_lead
):
    changshou_user = make_user("district", "长寿区")
    theirs = _event(changshou_user, title="长寿区的招商推介会")
    firm = make_enterprise(name="长寿区接洽企业有限公司", kind="local", district="长寿区")
    link = link_enterprise(theirs, firm)
    db.session.commit()
    before = (theirs.version, _count(Event), _count(EventEnterprise))
    fuling = _client(app, make_user("district", "涪陵区"))
    routes = _event_routes(app)
    assert len(routes) >= 6
    for rule, method in routes:
        url = rule.replace("<int:event_id>", str(theirs.id)).replace("<int:link_id>", str(link.id))
        response = fuling.open(
            url, method=method, data=_raw(title="涪陵改的", confirm="y", enterprise=firm.name)
        )
        # Deleting is for managers: the role is refused before the event is looked for.
        expected = 403 if rule.endswith("/<int:event_id>/delete") else 404
        assert response.status_code == expected, (method, url, response.status_code)
    listing = fuling.get("/events").text
    assert "长寿区的招商推介会" not in listing and _shown_count(listing) == 0
    with fuling.get("/events/export.xlsx") as export:
        assert len(list(load_workbook(io.BytesIO(export.data)).active.iter_rows())) == 1  # the header only
    db.session.expire_all()
    assert (db.session.get(Event, theirs.id).version, _count(Event), _count(EventEnterprise)) == before
    # Their own district's user sees it all.
    changshou = _client(app, changshou_user)
    assert "长寿区接洽企业有限公司" in changshou.get(f"/events/{theirs.id}").text


def test_a_division_event_shows_a_district_only_its_own_firms_and_leads(
    app, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    fuling_lead = make_lead(
        make_enterprise(name="甲意向企业有限公司"), officer, title="涪陵扩产项目", district="涪陵区"
    )
    other_lead = make_lead(
        make_enterprise(name="乙意向企业有限公司"), officer, title="长寿扩产项目", district="长寿区"
    )
    fair = _event(officer, kind="展会", title="处室组织的新材料博览会")
    link_enterprise(fair, fuling_lead.enterprise, fuling_lead)
    link_enterprise(fair, other_lead.enterprise, other_lead)
    db.session.commit()
    fuling = _client(app, make_user("district", "涪陵区"))
    page = fuling.get(f"/events/{fair.id}")
    assert page.status_code == 200
    assert "甲意向企业有限公司" in page.text and "涪陵扩产项目" in page.text
    assert "乙意向企业有限公司" not in page.text and "长寿扩产项目" not in page.text
    listing = fuling.get("/events").text
    assert "处室组织的新材料博览会" in listing and re.search(r'<td class="text-end">1</td>', listing)
    with fuling.get("/events/export.xlsx") as export:
        row = list(load_workbook(io.BytesIO(export.data)).active.iter_rows(values_only=True))[1]
    assert row[8] == 1 and row[9] == "甲意向企业有限公司"
    # Seen, but not theirs to change: the division organised it.
    assert fuling.get(f"/events/{fair.id}/edit").status_code == 403
    other_link = next(link for link in fair.met if link.lead_id == other_lead.id)
    assert fuling.post(f"/events/{fair.id}/enterprises/{other_link.id}/delete").status_code == 403
    assert _count(EventEnterprise) == 2
    # The bureau sees both.
    bureau = _client(app, make_user("manager")).get(f"/events/{fair.id}").text
    assert "乙意向企业有限公司" in bureau and "甲意向企业有限公司" in bureau


# ---------------------------------------------------------------- the enterprises met


def _add(client, event_id: int, **data):
    return client.post(f"/events/{event_id}/enterprises", data=data, follow_redirects=True)


def test_an_enterprise_is_added_by_credit_code_or_name_and_removed(app, make_user, make_enterprise):
    officer = make_user("officer")
    event = _event(officer)
    by_code = make_enterprise(name="信用代码查找企业有限公司", credit_code=CODE)
    by_name = make_enterprise(name="重庆名称查找新材料股份有限公司")
    client = _client(app, officer)
    done = _add(client, event.id, enterprise=CODE.lower(), note="展位洽谈")
    assert "已添加接洽企业“信用代码查找企业有限公司”" in done.text
    # The name as duplicates are found: company form and place folded away.
    assert "已添加接洽企业" in _add(client, event.id, enterprise="名称查找新材料有限公司").text
    again = _add(client, event.id, enterprise=CODE)
    assert "“信用代码查找企业有限公司”已在本活动的接洽企业中" in again.text
    missing = _add(client, event.id, enterprise="并不存在的企业")
    assert "企业库中没有“并不存在的企业”" in missing.text and 'value="并不存在的企业"' in missing.text
    links = db.session.scalars(select(EventEnterprise).order_by(EventEnterprise.id)).all()
    assert [(link.enterprise_id, link.note) for link in links] == [(by_code.id, "展位洽谈"), (by_name.id, "")]
    removed = client.post(f"/events/{event.id}/enterprises/{links[0].id}/delete", follow_redirects=True)
    assert "已移除该接洽企业" in removed.text
    assert db.session.scalars(select(EventEnterprise.enterprise_id)).all() == [by_name.id]
    assert (
        client.post(f"/events/{event.id}/enterprises/{links[0].id}/delete", follow_redirects=True).status_code
        == 200
    )
    assert _count(EventEnterprise) == 1


def test_a_name_that_fits_several_firms_or_a_firm_with_leads_asks_which(
    app, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    event = _event(officer)
    first = make_enterprise(name="华峰铝业科技有限公司")
    second = make_enterprise(name="华峰铝业装备有限公司")
    lead = make_lead(first, officer, title="铝板带扩产")
    other_firm_lead = make_lead(second, officer, title="另一企业的线索")
    client = _client(app, officer)
    page = _add(client, event.id, enterprise="华峰铝业")
    assert 'data-testid="met-options"' in page.text and _count(EventEnterprise) == 0
    assert f'value="{first.id}:{lead.id}"' in page.text and f'value="{second.id}:"' in page.text
    assert 'value="华峰铝业"' in page.text  # what was typed stays
    done = _add(client, event.id, enterprise="华峰铝业", choice=f"{first.id}:{lead.id}")
    assert "已添加接洽企业“华峰铝业科技有限公司”" in done.text and "铝板带扩产" in done.text
    # A lead of another firm, or a forged firm id, is refused and nothing is added.
    forged = _add(client, event.id, choice=f"{first.id}:{other_firm_lead.id}")
    assert "请选择“华峰铝业科技有限公司”自己的线索" in forged.text
    assert "请选择企业库中的企业" in _add(client, event.id, choice="abc:").text
    assert "请选择企业库中的企业" in _add(client, event.id, choice="999999:").text
    link = db.session.scalar(select(EventEnterprise))
    assert (link.enterprise_id, link.lead_id, _count(EventEnterprise)) == (first.id, lead.id, 1)


def test_a_district_user_links_only_firms_and_leads_they_may_see(app, make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    fuling_user = make_user("district", "涪陵区")
    event = _event(fuling_user, title="涪陵区推介会")
    ours = make_enterprise(name="甲本地材料有限公司", kind="local", district="涪陵区")
    theirs = make_enterprise(name="乙本地材料有限公司", kind="local", district="长寿区")
    hidden_lead = make_lead(ours, officer, title="意向长寿的线索", district="长寿区")
    client = _client(app, fuling_user)
    refused = _add(client, event.id, enterprise="乙本地材料有限公司")
    assert "企业库中没有“乙本地材料有限公司”（或不在您的查看范围内）" in refused.text
    assert "请选择企业库中的企业" in _add(client, event.id, choice=f"{theirs.id}:").text
    assert "自己的线索" in _add(client, event.id, choice=f"{ours.id}:{hidden_lead.id}").text
    assert _count(EventEnterprise) == 0
    # The firm of their own district is found, without offering a lead they may not see.
    done = _add(client, event.id, enterprise="甲本地材料有限公司")
    assert "已添加接洽企业“甲本地材料有限公司”" in done.text and "意向长寿的线索" not in done.text
    assert db.session.scalar(select(EventEnterprise.lead_id)) is None


def test_a_merged_firm_is_not_offered_and_not_linked(make_user, make_enterprise):
    officer = make_user("officer")
    event = _event(officer)
    kept, absorbed = make_enterprise(name="保留企业有限公司"), make_enterprise(name="被合并企业有限公司")
    absorbed.merged_into_id = kept.id
    db.session.commit()
    with pytest.raises(EventError, match="已并入编号"):
        link_enterprise(event, absorbed)


# ---------------------------------------------------------------- the enterprise and lead pages


def test_the_enterprise_and_lead_pages_list_the_events_the_user_may_see(
    app, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    firm = make_enterprise(name="活动接洽过的企业有限公司", kind="local", district="涪陵区")
    lead = make_lead(firm, officer, title="接洽过的线索", district="涪陵区")
    fuling_event = _event(make_user("district", "涪陵区"), title="涪陵区组织的对接会")
    changshou_event = _event(make_user("district", "长寿区"), title="长寿区组织的对接会")
    link_enterprise(fuling_event, firm, lead)
    link_enterprise(changshou_event, firm)
    db.session.commit()
    bureau = _client(app, officer)
    firm_page = bureau.get(f"/enterprises/{firm.id}").text
    assert "涪陵区组织的对接会" in firm_page and "长寿区组织的对接会" in firm_page
    lead_page = bureau.get(f"/leads/{lead.id}").text
    assert "涪陵区组织的对接会" in lead_page and "长寿区组织的对接会" not in lead_page
    fuling = _client(app, make_user("district", "涪陵区"))
    firm_page = fuling.get(f"/enterprises/{firm.id}").text
    assert "涪陵区组织的对接会" in firm_page and "长寿区组织的对接会" not in firm_page
    assert "涪陵区组织的对接会" in fuling.get(f"/leads/{lead.id}").text


def test_the_navigation_offers_events_to_those_who_record_them(app, make_user):
    for role, shown in (("officer", True), ("manager", True), ("district", True), ("admin", False)):
        home = _client(app, make_user(role)).get("/").text
        assert ('href="/events"' in home) is shown, role
    assert all(kind in _client(app, make_user("officer")).get("/events").text for kind in EVENT_KINDS)


def test_an_event_of_a_retired_division_is_edited_without_changing_its_organiser(client, login_as, make_user):
    manager = login_as("manager")
    event = _event(manager)
    retired = event.division
    retired.active = False  # dropped from divisions.yaml: kept, no longer offered
    db.session.commit()
    page = client.get(f"/events/{event.id}/edit").text
    assert f'<option selected value="{retired.name}">' in page or f'value="{retired.name}" selected' in page
    data = {**_raw(division=retired.name, title="改正错别字后的活动名称"), "version": event.version}
    response = client.post(f"/events/{event.id}/edit", data=data)
    assert response.status_code == 302
    db.session.expire_all()
    assert (event.title, event.division_id) == ("改正错别字后的活动名称", retired.id)
    # A new event cannot name it.
    with pytest.raises(EventError, match=f"未知的处室“{retired.name}”"):
        validate(_raw(division=retired.name), manager)
