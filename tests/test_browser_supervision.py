"""Real-browser journeys of issue 17: a district's 需协调事项 becomes a 督办事项 that the bureau's
division is told of, answers and closes, with the light and the counts following on the dashboard
and in the brief; a lead handed to a district and left past its deadline is red, and its owner
hears of it from the daily job."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from crm.auth.service import create_user, find_user
from crm.core.timeutil import today_local
from crm.core.weeks import week_of
from crm.extensions import db
from crm.places.service import resolve_district
from crm.projects.service import add_update
from crm.supervision.handovers import hand_over
from reports.figures import Scope, gather
from tests.conftest import PASSWORD
from tests.helpers import browser_login


def _login(page, server: str, username: str) -> None:
    browser_login(page, server, username, PASSWORD)


def _dashboard_count(page, server: str, light: str) -> int:
    page.goto(server + "/dashboard")
    return int(page.get_by_test_id(f"items-{light}").inner_text())


def _brief_lights(app, district: str) -> dict:
    """The counts the district's brief prints under 督办事项, for this week."""
    with app.app_context():
        today = today_local()
        week = week_of(today)
        scope = Scope(district_id=resolve_district(district).id)
        return gather(scope, week, generated_at=None, today=today)["warnings"]["items"]["counts"]


def test_a_districts_problem_becomes_an_item_the_division_answers_and_closes(
    page, live_server, live_app, make_enterprise, make_project
):
    with live_app.app_context():
        create_user(
            "live_division", PASSWORD, "officer", display_name="一处专员", division_name="产业招商一处"
        )
        project = make_project(
            name="涪陵区督办测试项目",
            enterprise=make_enterprise(name="涪陵督办测试企业有限公司", confirm_duplicate=True),
            district="涪陵区",
        )
        district_user = find_user("live_district")
        add_update(
            project,
            {"note": "厂房主体完工", "issues": "二期用电负荷不足，需协调新建110千伏变电站"},
            district_user,
        )
        db.session.commit()
        project_id = project.id
    before_brief = _brief_lights(live_app, "涪陵区")
    _login(page, live_server, "live_manager")
    yellow_before = _dashboard_count(page, live_server, "yellow")

    # The district's staff turn the update's 需协调事项 into an item, in one click and a form.
    _login(page, live_server, "live_district")
    page.goto(f"{live_server}/projects/{project_id}")
    page.get_by_test_id("raise-item").click()
    expect(page.get_by_label("事项内容")).to_have_value("二期用电负荷不足，需协调新建110千伏变电站")
    page.get_by_label("类别").select_option("用能")
    page.get_by_label("责任单位").select_option("产业招商一处")
    page.get_by_label("办理时限").fill(today_local().isoformat())  # due today: yellow
    page.get_by_role("button", name="提出督办事项").click()
    expect(page.get_by_text("已提出督办事项，并已通知责任单位。")).to_be_visible()
    expect(page.locator("h1 [data-light]")).to_have_attribute("data-light", "yellow")
    item_url = page.url
    page.goto(f"{live_server}/projects/{project_id}")
    expect(page.get_by_test_id("updates")).to_contain_text("已转为督办事项")
    expect(page.get_by_test_id("project-items").locator("[data-light]")).to_have_attribute(
        "data-light", "yellow"
    )

    # The light and the counts follow on the dashboard and in the brief.
    _login(page, live_server, "live_manager")
    assert _dashboard_count(page, live_server, "yellow") == yellow_before + 1
    assert _brief_lights(live_app, "涪陵区")["yellow"] == before_brief["yellow"] + 1

    # The division hears of it, answers and closes it.
    _login(page, live_server, "live_division")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    page.get_by_test_id("bell").click()
    notice = page.get_by_test_id("notifications").locator("[data-kind='assigned']")
    expect(notice).to_contain_text("涪陵区督办测试项目")
    notice.get_by_role("link").click()
    expect(page).to_have_url(item_url)
    expect(page.get_by_test_id("bell")).not_to_contain_text("1")
    page.get_by_label("内容").fill("已与国网重庆市电力公司对接，列入年度电网建设计划。")
    page.get_by_role("button", name="回复").click()
    expect(page.get_by_test_id("replies")).to_contain_text("列入年度电网建设计划")
    page.get_by_label("内容").fill("变电站已开工，2027 年二季度投运，临时用电已解决。")
    page.get_by_role("button", name=re.compile("办结")).click()
    expect(page.get_by_test_id("status")).to_have_text("已办结")
    expect(page.get_by_test_id("result")).to_contain_text("临时用电已解决")
    expect(page.locator("h1 [data-light]")).to_have_count(0)

    # The district that raised it hears of the close; the light leaves the dashboard and the brief.
    _login(page, live_server, "live_district")
    page.get_by_test_id("bell").click()
    expect(page.get_by_test_id("notifications")).to_contain_text("办结")
    _login(page, live_server, "live_manager")
    assert _dashboard_count(page, live_server, "yellow") == yellow_before
    row = page.get_by_test_id("dashboard-units").locator("tr[data-unit='产业招商一处']")
    expect(row.locator("td").last).not_to_have_text("0")
    assert _brief_lights(live_app, "涪陵区") == before_brief


def test_a_lead_left_past_its_deadline_is_red_and_its_owner_is_told(
    page, live_server, live_app, make_enterprise, make_lead
):
    with live_app.app_context():
        owner = find_user("live_officer")
        lead = make_lead(
            enterprise=make_enterprise(name="交办超时测试企业有限公司", confirm_duplicate=True),
            owner=owner,
            title="交办超时测试线索",
        )
        # Handed to 涪陵区 eight days ago and never answered.
        hand_over(lead, "涪陵区", "请对接落地园区", owner, today_local() - timedelta(days=8))
        db.session.commit()
        lead_id = lead.id
        result = live_app.test_cli_runner().invoke(args=["notify", "run"])
        assert result.exit_code == 0, result.output

    _login(page, live_server, "live_officer")
    page.get_by_test_id("bell").click()
    overdue = page.get_by_test_id("notifications").locator(
        "[data-kind='overdue']", has_text="交办超时测试线索"
    )
    expect(overdue.first).to_contain_text("已逾期")
    page.goto(f"{live_server}/leads/{lead_id}")
    expect(page.get_by_test_id("lead-handovers").locator("[data-light]")).to_have_attribute(
        "data-light", "red"
    )

    # The district it was handed to sees it red among those waiting for it.
    _login(page, live_server, "live_district")
    page.goto(f"{live_server}/handovers?to_me=1&light=red")
    expect(page.get_by_test_id("handovers")).to_contain_text("交办超时测试线索")
