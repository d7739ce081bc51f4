"""A home page per role: officers see their overdue and this week's follow-ups, their leads by stage
and what changed on them; district staff the projects needing an update, the troubled ones and the
latest updates; a badge in the navigation counts the work waiting."""

import re
from datetime import timedelta

from sqlalchemy import event

from crm.core.timeutil import today_local
from crm.extensions import db
from crm.projects.service import add_update


def test_an_officer_starts_the_day_with_their_follow_ups(client, login_as, make_lead, make_user):
    officer = login_as("officer", display_name="周招商")
    today = today_local()
    late = make_lead(owner=officer, title="逾期的线索")
    late.next_follow_up_on = today - timedelta(days=4)
    make_lead(owner=officer, title="本周的线索", next_follow_up_on=today.isoformat())
    make_lead(owner=make_user("officer"), title="别人的线索", next_follow_up_on=today.isoformat())
    db.session.commit()
    page = client.get("/").text
    overdue = page.split('data-testid="overdue"')[1].split("</ul>")[0]
    week = page.split('data-testid="this-week"')[1].split("</ul>")[0]
    assert "逾期的线索" in overdue and "逾期 4 天" in overdue and "本周的线索" not in overdue
    assert "本周的线索" in week and "别人的线索" not in page
    # The badge on 我的待办 counts what its first list shows — due today or overdue — on every page.
    assert re.search(r'data-testid="badge-leads.todo"[^>]*>2</span>', client.get("/leads/").text)
    todo = client.get("/leads/todo").text
    assert "逾期的线索" in todo and "本周的线索" in todo
    # My leads by stage: each number opens my leads of that stage, as many as it says.
    for href, count in re.findall(r'<a href="([^"]+)" data-count="(\d+)"', page):
        listing = client.get(href.replace("&amp;", "&")).text
        assert f'data-testid="list-total" data-count="{count}"' in listing, href
    # What changed on my leads, newest first.
    assert "新建线索" in page.split('data-testid="timeline"')[1]


def test_a_district_user_starts_with_the_projects_to_update(
    client, login_as, make_project, make_enterprise, make_user
):
    today = today_local()
    make_project(name="久未更新的项目", district="涪陵区", signed_on=today - timedelta(days=40))
    fresh = make_project(name="刚更新的项目", district="涪陵区", signed_on=today - timedelta(days=40))
    make_project(name="长寿的项目", district="长寿区", signed_on=today - timedelta(days=40))
    add_update(fresh, {"note": "设备安装"}, make_user("manager"))
    db.session.commit()
    login_as("district", "涪陵区")
    page = client.get("/").text
    due = page.split('data-testid="due"')[1].split("</ul>")[0]
    troubled = page.split('data-testid="troubled"')[1].split("</ul>")[0]
    assert "久未更新的项目" in due and "已过期" in due and "刚更新的项目" not in due
    assert "久未更新的项目" in troubled and "停滞" in troubled
    assert "设备安装" in page.split('data-testid="recent-updates"')[1]
    assert "长寿的项目" not in page
    assert re.search(r'data-testid="badge-projects.mine"[^>]*>1</span>', page)


def test_managers_land_on_the_dashboard_and_admins_on_the_system(client, login_as):
    login_as("manager")
    assert "驾驶舱" in client.get("/").text
    client.post("/logout")
    login_as("admin")
    page = client.get("/").text
    assert "启用中的账号" in page and "badge-leads.todo" not in page


def _queries(client, url: str) -> int:
    statements = []

    def count(*args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_a_district_home_reads_the_same_number_of_times_however_many_projects(
    client, login_as, make_project, make_user
):
    today = today_local()
    reporter = make_user("manager")
    for number in range(2):
        project = make_project(name=f"项目{number}", district="涪陵区", signed_on=today - timedelta(days=40))
        add_update(project, {"note": "推进"}, reporter)
    db.session.commit()
    login_as("district", "涪陵区")
    few = _queries(client, "/")
    for number in range(2, 8):
        project = make_project(name=f"项目{number}", district="涪陵区", signed_on=today - timedelta(days=40))
        add_update(project, {"note": "推进"}, reporter)
    db.session.commit()
    assert _queries(client, "/") == few
