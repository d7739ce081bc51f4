"""Projects: figures derived from append-only updates, computed health on fixed dates (the SQL
health on edge dates too), updates retried after a race, the bureau's edit with its optimistic
lock and forged or fractional values refused in Chinese, strict district scope on every route, the API."""

import io
import json
import re
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from crm.audit.listeners import AppendOnlyError
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.leads.service import add_follow_up, move_lead, sign_lead
from crm.projects.funds import add_entry
from crm.projects.models import FundEntry, Project, ProjectUpdate, health_sql
from crm.projects.service import (
    ProjectConflict,
    ProjectError,
    UpdateRace,
    add_update,
    add_update_retrying,
    edit_values,
    update_project,
)
from tests.conftest import SIGNED_ON

SIGNED = SIGNED_ON  # make_project's signing date


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def project(make_enterprise, make_project):
    return make_project(name="评审测试项目", enterprise=make_enterprise(name="评审项目企业有限公司"))


def plan(project, **dates):
    values = edit_values(project)
    values.update({f"planned_{stage}": day.isoformat() for stage, day in dates.items()})
    update_project(project, values, project.version)
    db.session.commit()


# ---------------------------------------------------------------- derived figures and health


def test_health_on_fixed_dates(make_project, make_user):
    reporter = make_user("district", "涪陵区")
    project = make_project()
    plan(project, 注册=date(2026, 2, 1), 供地=date(2026, 4, 1))
    # Signed 5 Jan, no update yet: on track for 13 days, stalled from day 14.
    assert project.health(date(2026, 1, 18)) == "正常推进"
    assert project.health(date(2026, 1, 19)) == "停滞"
    add_update(
        project,
        {"reported_on": "2026-01-20", "stage_reached": "注册", "stage_reached_on": "2026-01-20"},
        reporter,
        today=date(2026, 1, 20),
    )
    assert project.stage == "注册" and project.milestone("注册").actual_on == date(2026, 1, 20)
    assert project.health(date(2026, 1, 25)) == "正常推进"
    # 供地 planned for 1 April and not reached: behind from 2 April (behind wins over stalled).
    assert project.health(date(2026, 4, 1)) == "停滞"
    assert project.health(date(2026, 4, 2)) == "滞后"
    add_update(
        project, {"reported_on": "2026-04-03", "stage_reached": "供地"}, reporter, today=date(2026, 4, 3)
    )
    assert project.health(date(2026, 4, 3)) == "正常推进"
    add_update(
        project,
        {
            "reported_on": "2026-04-10",
            "stage_reached": "终止",
            "termination_reason": "合同解除",
            "note": "协议解除",
        },
        reporter,
        today=date(2026, 4, 10),
    )
    assert project.health(date(2027, 1, 1)) == "终止" and project.termination_reason == "合同解除"
    db.session.commit()


def test_sql_health_agrees_with_the_model(make_project, make_user):
    reporter = make_user("district", "涪陵区")
    projects = [make_project() for _ in range(4)]
    plan(projects[1], 注册=date(2026, 1, 10))
    add_update(projects[2], {"reported_on": "2026-02-01", "note": "推进中"}, reporter, today=date(2026, 2, 1))
    add_update(
        projects[3],
        {"reported_on": "2026-01-06", "stage_reached": "终止", "termination_reason": "其他", "note": "终止"},
        reporter,
        today=date(2026, 1, 6),
    )
    db.session.commit()
    for day in (date(2026, 1, 8), date(2026, 1, 20), date(2026, 2, 10), date(2026, 3, 1)):
        in_sql = dict(db.session.execute(select(Project.id, health_sql(day))).all())
        assert in_sql == {p.id: p.health(day) for p in projects}


@pytest.mark.parametrize(
    ("last_update", "planned", "today"),
    [
        (None, None, SIGNED + timedelta(days=13)),
        (None, None, SIGNED + timedelta(days=14)),  # exactly 14 days: stalled in both
        (date(2026, 2, 1), None, date(2026, 2, 15)),
        (date(2026, 2, 1), None, date(2026, 2, 14)),
        (date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 10)),  # planned today: not yet late
        (date(2026, 2, 1), date(2026, 2, 10), date(2026, 2, 11)),
        (None, date(2026, 1, 6), date(2026, 1, 7)),
    ],
)
def test_sql_health_agrees_with_the_model_on_edge_dates(project, make_user, last_update, planned, today):
    if planned:
        update_project(
            project, {**edit_values(project), "planned_供地": planned.isoformat()}, project.version
        )
    if last_update:
        add_update(
            project, {"reported_on": last_update.isoformat(), "note": "进展"}, make_user(), today=today
        )
    db.session.commit()
    in_sql = db.session.scalar(select(health_sql(today)).where(Project.id == project.id))
    assert in_sql == project.health(today)


def test_the_stage_comes_from_the_updates_and_corrections_replace_them(make_project, make_user):
    reporter = make_user("district", "涪陵区")
    project = make_project(agreed_investment_wan=10_000)
    first = add_update(project, {"reported_on": "2026-02-01", "stage_reached": "开工"}, reporter)
    add_update(project, {"reported_on": "2026-03-01", "note": "主体施工"}, reporter)
    assert project.stage == "开工" and project.last_update_on == date(2026, 3, 1)
    # 开工 was a typing error for 注册: the correction replaces it, the original stays on file.
    add_update(
        project,
        {"reported_on": "2026-03-02", "corrects_id": first.id, "stage_reached": "注册", "note": "更正"},
        reporter,
    )
    db.session.commit()
    assert project.stage == "注册" and project.last_update_on == date(2026, 3, 2)
    assert project.milestone("开工").actual_on is None
    assert db.session.scalar(select(func.count()).select_from(ProjectUpdate)) == 3
    with pytest.raises(ProjectError, match="已被更正过"):
        add_update(project, {"corrects_id": first.id, "note": "再次更正"}, reporter)


def test_updates_can_never_be_rewritten(make_project, make_user):
    reporter = make_user("district", "涪陵区")
    project = make_project()
    update = add_update(project, {"note": "第一次填报"}, reporter)
    db.session.commit()
    update.note = "改写历史"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(ProjectUpdate, update.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(ProjectUpdate, update.id).note == "第一次填报"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"stage_reached": "签约"}, "阶段“签约”无效"),
        ({"stage_reached": "注册", "stage_reached_on": "2025-12-31"}, "实际日期不能早于签约日期"),
        ({"reported_on": "2100-01-01", "note": "x"}, "填报日期不能晚于今天"),
        # Money goes to the ledger now, with its source and kind: an update that sends some is told so.
        ({"funds_wan": "300", "note": "x"}, "到位资金请在项目的“到位资金”中登记"),
        ({"stage_reached": "终止", "note": "x"}, "终止项目须选择原因"),
        ({"note": "x" * 5001}, "进展情况不能超过 5000 个字符"),
        ({}, "请至少填写一项"),
        ({"corrects_id": "99999", "note": "x"}, "要更正的更新不存在"),
    ],
)
def test_bad_updates_are_refused_in_chinese_and_change_nothing(make_project, make_user, raw, message):
    project = make_project()
    with pytest.raises(ProjectError, match=message):
        add_update(project, raw, make_user("officer"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ProjectUpdate)) == 0
    assert db.session.get(Project, project.id).stage == "签约"


def test_stages_only_move_forward_without_a_correction(make_project, make_user):
    reporter = make_user("officer")
    project = make_project()
    add_update(project, {"stage_reached": "开工", "stage_reached_on": "2026-03-01"}, reporter)
    with pytest.raises(ProjectError, match="只能向后推进"):
        add_update(project, {"stage_reached": "供地"}, reporter)


def test_an_update_racing_another_save_is_retried_not_a_500(project, make_user):
    reporter = make_user("district", "涪陵区")
    stale = db.session.get(Project, project.id)
    # Another save moved the project on after this request read it.
    set_committed_value(stale, "version", stale.version + 5)
    with pytest.raises(UpdateRace):
        add_update(stale, {"note": "第一次"}, reporter, today=date(2026, 2, 1))
    db.session.rollback()
    assert _count(ProjectUpdate) == 0

    reads = []

    def load():
        reads.append(1)
        fresh = db.session.get(Project, project.id)
        if len(reads) == 1:
            set_committed_value(fresh, "version", fresh.version + 5)
        return fresh

    add_update_retrying(load, {"note": "重试后保存"}, reporter)
    db.session.commit()
    assert len(reads) == 2
    assert _count(ProjectUpdate) == 1
    assert db.session.get(Project, project.id).updates[0].note == "重试后保存"


# ---------------------------------------------------------------- the bureau's edit


def test_a_second_concurrent_edit_is_refused_with_what_changed(make_project, make_user, client, login_as):
    project = make_project()
    login_as("manager")
    seen = project.version
    form = {
        **{k: v for k, v in edit_values(project).items() if k != "catalogue_codes"},
        "catalogue_codes": "",
    }
    first = client.post(
        f"/projects/{project.id}/edit", data={**form, "agreed_investment_wan": "120000", "version": seen}
    )
    assert first.status_code == 302
    second = client.post(
        f"/projects/{project.id}/edit", data={**form, "park": "白涛化工园区", "version": seen}
    )
    assert second.status_code == 200
    assert "该项目在您编辑期间已被他人修改" in second.text and "协议投资额（万元）" in second.text
    db.session.expire_all()
    fresh = db.session.get(Project, project.id)
    assert fresh.agreed_investment_wan == 120000 and fresh.park is None
    # The page now carries the version it showed: saving again is a knowing overwrite, not a
    # second refusal (the posted, stale version was rendered back).
    shown = re.search(r'name="version" type="hidden" value="(\d+)"', second.text)
    assert shown and int(shown.group(1)) == fresh.version
    third = client.post(
        f"/projects/{project.id}/edit",
        data={**form, "agreed_investment_wan": "120000", "park": "白涛化工园区", "version": fresh.version},
    )
    assert third.status_code == 302


def test_planned_dates_are_checked(make_project):
    project = make_project()
    values = {**edit_values(project), "planned_注册": "2026-06-01", "planned_供地": "2026-05-01"}
    with pytest.raises(ProjectError, match="供地计划日期不能早于前一节点"):
        update_project(project, values, project.version)
    with pytest.raises(ProjectError, match="版本号无效"):
        update_project(project, edit_values(project), 0)
    db.session.rollback()
    assert all(m.planned_on is None for m in db.session.get(Project, project.id).milestones)


def test_a_stale_version_in_the_service_lists_the_other_editors_changes(make_project):
    project = make_project()
    seen = project.version
    update_project(project, {**edit_values(project), "park": "长寿经开区"}, seen)
    db.session.commit()
    with pytest.raises(ProjectConflict) as refused:
        update_project(project, {**edit_values(project), "expected_jobs": "300"}, seen)
    assert [(c.field, c.before, c.after) for c in refused.value.changes] == [("园区", None, "长寿经开区")]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("agreed_investment_wan", "1.5", "协议投资额（万元）应为整数"),
        ("expected_jobs", "10.4", "预计就业（人）应为整数"),
        ("district", "", "请选择落地区县"),
    ],
)
def test_the_bureau_edit_refuses_rather_than_rounds(project, field, value, message):
    values = {**edit_values(project), field: value}
    with pytest.raises(ProjectError, match=re.escape(message)):
        update_project(project, values, project.version)
    db.session.rollback()
    assert project.agreed_investment_wan == 100_000 and project.expected_jobs is None


def test_forged_hidden_fields_are_named_in_chinese(project, client, login_as):
    login_as("district", "涪陵区")
    response = client.post(
        f"/projects/{project.id}/updates",
        data={"note": "进展", "corrects_id": "1" * 13},
        follow_redirects=True,
    )
    assert "更正的更新编号：" in response.text and "Corrects Id" not in response.text
    client.get("/logout")
    login_as("officer")
    response = client.post(f"/projects/{project.id}/edit", data={"version": "abc"})
    assert "页面版本：" in response.text and "Version" not in response.text
    assert _count(ProjectUpdate) == 0


def test_district_staff_add_updates_but_cannot_edit_the_agreement(make_project, client, login_as):
    project = make_project(district="涪陵区")
    login_as("district", "涪陵区")
    assert client.get(f"/projects/{project.id}/edit").status_code == 403
    response = client.post(
        f"/projects/{project.id}/updates",
        data={"reported_on": today_local().isoformat(), "note": "场平完成"},
        follow_redirects=True,
    )
    assert "已添加进展更新" in response.text
    db.session.expire_all()
    assert db.session.get(Project, project.id).last_update_on == today_local()


# ---------------------------------------------------------------- scope, every route


def _project_routes(app):
    return sorted(
        (rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/projects", "/api/v1/projects"))
    )


def test_every_project_route_keeps_other_districts_out(app, make_project, client, login_as):
    mine = make_project(district="涪陵区", name="涪陵的项目")
    theirs = make_project(district="长寿区", name="长寿的项目")
    login_as("district", "涪陵区")
    checked = set()
    for rule, methods in _project_routes(app):
        for method in methods:
            checked.add((rule, method))
            if "<int:project_id>" in rule:
                url = rule.replace("<int:project_id>", str(theirs.id))
                data = {
                    "note": "越权填报",
                    "amount_wan": "1",
                    "arrived_on": "2026-03-01",
                    "source_region": "境外",
                    "kind": "其他",
                }
                if method == "GET":
                    response = client.get(url)
                elif rule.startswith("/api"):
                    response = client.post(url, json=data)
                else:
                    response = client.post(url, data=data)
                assert response.status_code in (403, 404), (rule, method, response.status_code)
            else:
                response = client.get(rule)
                assert response.status_code in (200, 302), (rule, response.status_code)
                if rule.startswith("/api"):
                    body = json.dumps(response.get_json(), ensure_ascii=False)
                elif rule.endswith(".xlsx"):
                    sheet = load_workbook(io.BytesIO(response.data)).active
                    body = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
                else:
                    body = response.get_data(as_text=True)
                assert "长寿的项目" not in body, rule
                if rule in ("/projects/", "/api/v1/projects", "/projects/export.xlsx", "/projects/mine"):
                    assert "涪陵的项目" in body, rule
    db.session.expire_all()
    assert db.session.get(Project, theirs.id).recorded_funds_wan == 0
    assert db.session.scalar(select(func.count()).select_from(ProjectUpdate)) == 0
    assert db.session.scalar(select(func.count()).select_from(FundEntry)) == 0
    assert {rule for rule, _ in checked} >= {
        "/projects/",
        "/projects/<int:project_id>",
        "/projects/<int:project_id>/updates",
        "/projects/<int:project_id>/edit",
        "/api/v1/projects",
        "/api/v1/projects/<int:project_id>",
        "/api/v1/projects/<int:project_id>/updates",
        "/projects/<int:project_id>/funds",
        "/api/v1/projects/<int:project_id>/funds",
    }
    assert client.get(f"/projects/{mine.id}").status_code == 200


def test_the_other_district_sees_only_its_own(make_project, client, login_as):
    make_project(district="涪陵区", name="涪陵的项目")
    theirs = make_project(district="长寿区", name="长寿的项目")
    login_as("district", "长寿区")
    body = client.get("/api/v1/projects").get_json()
    assert [item["name"] for item in body["items"]] == ["长寿的项目"]
    assert client.get(f"/projects/{theirs.id}").status_code == 200


def test_overview_rates_state_their_period_and_match_the_database(make_project, make_user, client, login_as):
    reporter = make_user("officer")
    started = make_project(agreed_investment_wan=10_000)
    add_update(started, {"stage_reached": "开工", "stage_reached_on": "2026-03-01"}, reporter)
    add_entry(
        started,
        {"amount_wan": 4000, "arrived_on": "2026-03-02", "source_region": "国内省外", "kind": "固定资产投资"},
        reporter,
    )
    make_project(agreed_investment_wan=30_000)
    make_project(agreed_investment_wan=50_000, signed_on=date(2022, 6, 1))  # before the default period
    db.session.commit()
    login_as("manager")
    page = client.get("/projects/overview").text
    assert f"2023-01-01 至 {today_local()} 签约的项目" in page
    assert "50.0%" in page  # 开工率: 1 of the 2 signed in the period
    assert "10.0%" in page  # 资金到位率: 4 000 of 40 000


# ---------------------------------------------------------------- API contract


def test_api_lists_and_updates_projects(make_project, client, login_as):
    project = make_project(district="涪陵区")
    login_as("district", "涪陵区")
    body = client.get("/api/v1/projects").get_json()
    assert set(body) >= {"items", "page", "per_page", "total"}
    item = body["items"][0]
    assert {k: item[k] for k in ("id", "name", "district", "stage")} == {
        "id": project.id,
        "name": project.name,
        "district": "涪陵区",
        "stage": "签约",
    }
    assert item["health"] in ("正常推进", "停滞")
    created = client.post(
        f"/api/v1/projects/{project.id}/updates", json={"stage_reached": "注册", "note": "注册完成"}
    )
    assert created.status_code == 201 and created.get_json()["project"]["stage"] == "注册"
    bad = client.post(f"/api/v1/projects/{project.id}/updates", json={"stage_reached": "注册"})
    assert bad.status_code == 400 and "只能向后推进" in bad.get_json()["error"]
    detail = client.get(f"/api/v1/projects/{project.id}").get_json()
    assert [u["stage_reached"] for u in detail["updates"]] == ["注册"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"stage_reached_on": "2026-13-01", "stage_reached": "注册"}, "实际日期“2026-13-01”不是有效日期"),
        ({"funds_wan": 500}, "到位资金请在项目的“到位资金”中登记"),
        ({"stage_reached": ["注册"]}, "达到阶段应为文本"),
    ],
)
def test_the_update_api_names_the_wrong_value(project, client, login_as, body, message):
    login_as("district", "涪陵区")
    response = client.post(f"/api/v1/projects/{project.id}/updates", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _count(ProjectUpdate) == 0


def test_signing_a_lead_opens_a_project_with_its_milestones(client, login_as, make_enterprise, make_lead):
    officer = login_as("officer")
    firm = make_enterprise(name="签约测试企业有限公司")
    entry = db.session.scalar(select(CatalogueEntry).order_by(CatalogueEntry.id))
    lead = make_lead(
        firm,
        officer,
        title="签约测试",
        source="展会",
        district="涪陵区",
        catalogue_code=entry.code,
        intended_investment_wan=5000,
    )
    add_follow_up(lead, {"kind": "电话", "notes": "联系"}, officer)
    for stage in ("初步接洽", "实地考察", "商务洽谈"):
        move_lead(lead, stage, officer)
    project = sign_lead(
        lead, {"signed_on": today_local().isoformat(), "agreed_investment_wan": 5000}, officer
    )
    db.session.commit()
    assert [m.stage for m in project.milestones] == ["注册", "供地", "开工", "竣工", "投产", "达产"]
    assert [e.code for e in project.catalogue_entries] == [entry.code]
    assert client.get(f"/projects/{project.id}").status_code == 200
    assert f'href="/projects/{project.id}"' in client.get(f"/leads/{lead.id}").text
    assert f'href="/projects/{project.id}"' in client.get(f"/enterprises/{firm.id}").text


def test_mine_orders_by_the_update_due_soonest(make_project, make_user, client, login_as):
    reporter = make_user("district", "涪陵区")
    fresh = make_project(name="刚更新的项目", signed_on=today_local() - timedelta(days=30))
    add_update(fresh, {"note": "刚更新"}, reporter)
    make_project(name="久未更新的项目", signed_on=today_local() - timedelta(days=40))
    db.session.commit()
    login_as("district", "涪陵区")
    page = client.get("/projects/mine").text
    assert page.index("久未更新的项目") < page.index("刚更新的项目")
    assert re.search(r"已过期", page)


def test_a_lead_page_links_its_project_only_for_those_who_may_see_it(
    client, login_as, make_user, make_enterprise, make_lead
):
    officer = make_user("officer")
    firm = make_enterprise(name="迁区测试企业有限公司")
    entry = db.session.scalar(select(CatalogueEntry).order_by(CatalogueEntry.id))
    lead = make_lead(
        firm,
        officer,
        title="迁区测试线索",
        source="展会",
        district="涪陵区",
        catalogue_code=entry.code,
        intended_investment_wan=5000,
    )
    add_follow_up(lead, {"kind": "电话", "notes": "联系"}, officer)
    for stage in ("初步接洽", "实地考察", "商务洽谈"):
        move_lead(lead, stage, officer)
    project = sign_lead(
        lead, {"signed_on": today_local().isoformat(), "agreed_investment_wan": 5000}, officer
    )
    db.session.commit()
    update_project(
        project, {**edit_values(project), "district": "长寿区", "name": "迁往长寿的项目"}, project.version
    )
    db.session.commit()
    login_as("district", "涪陵区")  # still reads the lead (intended for 涪陵区), not the moved project
    page = client.get(f"/leads/{lead.id}").text
    assert "迁往长寿的项目" not in page and f"/projects/{project.id}" not in page


def test_far_off_signing_dates_filter_as_written(client, login_as, make_project):
    make_project(name="远日期项目")
    login_as("manager")
    assert "远日期项目" not in client.get("/projects/?signed_to=1800-01-01").text
    assert "远日期项目" in client.get("/projects/?signed_from=0001-01-01&signed_to=9999-12-31").text
    assert client.get("/api/v1/projects?signed_to=1800-01-01").get_json()["total"] == 0
