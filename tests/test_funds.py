"""The funds ledger (到位资金台账) and the 统计口径: recording, correcting and reviewing arrivals of
money; what counts as 实际到位资金 and each rate's base, as the definitions file says, in every
place a figure appears."""

import html
import io
import re
from contextlib import contextmanager
from copy import deepcopy
from datetime import date

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.audit.listeners import AppendOnlyError
from crm.audit.models import AuditLog
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.projects import measures
from crm.projects.funds import FundsError, add_entry, review_entry, set_plan
from crm.projects.measures import DEFAULT_FILE, MeasuresError
from crm.projects.models import MEASURES_KEY, FundEntry, Project
from crm.projects.service import ProjectFilter, add_update, rates, totals, visible_projects
from crm.readmodels.cache import forget_all
from reports.figures import Figures, Scope

MONEY = {"source_region": "国内省外", "kind": "固定资产投资"}
TODAY = today_local()


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(FundEntry))


def _entry(project, user, amount, day="2026-06-01", **values):
    return add_entry(project, {**MONEY, "amount_wan": amount, "arrived_on": day, **values}, user)


# ---------------------------------------------------------------- recording and correcting


def test_an_arrival_is_recorded_with_its_source_kind_and_who(make_project, make_user):
    project = make_project(agreed_investment_wan=10_000)
    staff = make_user("district", "涪陵区")
    entry = add_entry(
        project,
        {
            "amount_wan": "2,000",
            "arrived_on": "2026-06-01",
            "source_region": "境外",
            "kind": "固定资产投资",
            "evidence_type": "银行进账单",
            "note": "首期注资",
        },
        staff,
    )
    db.session.commit()
    assert (entry.amount_wan, entry.arrived_on, entry.source_region, entry.kind) == (
        2000,
        date(2026, 6, 1),
        "境外",
        "固定资产投资",
    )
    assert entry.review == "待核实" and entry.counts_as_investment and entry.created_by == staff
    assert project.funds_in_place_wan == 2000 and project.recorded_funds_wan == 2000
    logged = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "fund_entries"))
    assert logged.action == "insert" and logged.after["amount_wan"] == 2000


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"amount_wan": ""}, "amount_wan", "请填写到位金额"),
        ({"amount_wan": "-5"}, "amount_wan", "不能为负数"),
        ({"amount_wan": "2.5"}, "amount_wan", "应为整数"),
        ({"amount_wan": "0"}, "amount_wan", "到位金额须大于 0"),
        ({"arrived_on": ""}, "arrived_on", "请填写到位日期"),
        ({"arrived_on": "2026-02-30"}, "arrived_on", "不是有效日期"),
        ({"arrived_on": "2100-01-01"}, "arrived_on", "到位日期不能晚于今天"),
        ({"arrived_on": "2025-12-31"}, "arrived_on", "到位日期不能早于签约日期"),
        ({"source_region": ""}, "source_region", "请选择资金来源地"),
        ({"source_region": "外省"}, "source_region", "资金来源地“外省”无效"),
        ({"kind": "贷款"}, "kind", "资金类型“贷款”无效"),
        ({"evidence_type": "收据"}, "evidence_type", "凭证类型“收据”无效"),
        ({"counts_as_investment": "也许"}, "counts_as_investment", "应为“是”或“否”"),
        ({"note": "x" * 2001}, "note", "不能超过 2000 个字符"),
        ({"corrects_id": "999999"}, "corrects_id", "要更正的到位资金登记不存在"),
    ],
)
def test_a_bad_entry_is_refused_in_chinese_and_changes_nothing(make_project, make_user, raw, field, message):
    project = make_project()
    good = {**MONEY, "amount_wan": "100", "arrived_on": "2026-06-01"}
    with pytest.raises(FundsError, match=message) as refused:
        add_entry(project, {**good, **raw}, make_user("officer"))
    assert field in dict(refused.value.problems)
    db.session.rollback()
    assert _count() == 0


def test_a_correction_replaces_an_entry_and_both_stay_on_file(make_project, make_user):
    project = make_project(agreed_investment_wan=10_000)
    officer = make_user("officer")
    first = _entry(project, officer, 3000)
    _entry(project, officer, 500, "2026-07-01")
    db.session.commit()
    assert project.funds_in_place_wan == 3500
    with pytest.raises(FundsError, match="更正到位资金须在“说明”中写明更正原因"):
        _entry(project, officer, 2000, corrects_id=first.id)
    db.session.rollback()
    _entry(project, officer, 2000, corrects_id=first.id, note="按银行回单核减")
    db.session.commit()
    assert project.funds_in_place_wan == 2500 and project.recorded_funds_wan == 2500
    assert _count() == 3
    with pytest.raises(FundsError, match="已被更正过"):
        _entry(project, officer, 1000, corrects_id=first.id, note="再次更正")
    db.session.rollback()
    # A correction to 0 withdraws an entry that should never have been recorded.
    second = db.session.scalars(select(FundEntry).where(FundEntry.amount_wan == 500)).one()
    _entry(project, officer, 0, "2026-07-01", corrects_id=second.id, note="重复登记，撤销")
    db.session.commit()
    assert project.funds_in_place_wan == 2000


def test_an_entry_is_never_rewritten_only_reviewed(make_project, make_user):
    project = make_project()
    entry = _entry(project, make_user("officer"), 800)
    db.session.commit()
    entry.amount_wan = 80
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(FundEntry, entry.id))
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    review_entry(db.session.get(FundEntry, entry.id), {"review": "已核实"}, make_user("manager"), 1)
    db.session.commit()
    kept = db.session.get(FundEntry, entry.id)
    assert (kept.amount_wan, kept.review, kept.version) == (800, "已核实", 2)


def test_the_bureau_verifies_or_refuses_with_a_reason_and_stale_reviews_are_caught(make_project, make_user):
    project = make_project(agreed_investment_wan=10_000)
    manager = make_user("manager")
    entry = _entry(project, make_user("officer"), 1000)
    db.session.commit()
    with pytest.raises(FundsError, match="不予认定须写明理由"):
        review_entry(entry, {"review": "不予认定", "review_reason": " "}, manager, 1)
    with pytest.raises(FundsError, match="核实结论“通过”无效"):
        review_entry(entry, {"review": "通过"}, manager, 1)
    review_entry(entry, {"review": "不予认定", "review_reason": "凭证为借款合同，不属投资"}, manager, 1)
    db.session.commit()
    assert project.funds_in_place_wan == 0 and project.recorded_funds_wan == 0
    # A second manager read the entry before that verdict: theirs is refused, not laid over it.
    with pytest.raises(FundsError, match="刚被他人核实或更正"):
        review_entry(entry, {"review": "已核实"}, manager, 1)
    review_entry(entry, {"review": "已核实", "review_reason": "补交了银行进账单"}, manager, 2)
    db.session.commit()
    assert project.funds_in_place_wan == 1000
    verdicts = db.session.scalars(
        select(AuditLog.after)
        .where(AuditLog.table_name == "fund_entries", AuditLog.action == "update")
        .order_by(AuditLog.id)
    ).all()
    assert [v["review"] for v in verdicts] == ["不予认定", "已核实"]


def test_money_outside_the_investment_count_is_recorded_but_not_counted(make_project, make_user):
    project = make_project()
    _entry(project, make_user("officer"), 700, counts_as_investment=False, note="本地银行贷款")
    db.session.commit()
    assert project.recorded_funds_wan == 700 and project.funds_in_place_wan == 0


def test_an_update_no_longer_carries_funds(make_project, make_user):
    project = make_project()
    with pytest.raises(Exception, match="到位资金请在项目的“到位资金”中登记"):
        add_update(project, {"note": "资金到位", "funds_wan": "300"}, make_user("officer"))


# ---------------------------------------------------------------- pages and API


def test_a_district_user_records_an_arrival_in_the_ledger_page(make_project, client, login_as):
    project = make_project(district="涪陵区", agreed_investment_wan=10_000)
    login_as("district", "涪陵区")
    page = client.get(f"/projects/{project.id}/funds")
    assert page.status_code == 200 and "登记一笔到位资金" in page.text and "保存核实" not in page.text
    typed = {"amount_wan": "1,200", "arrived_on": "2100-01-01", "source_region": "港澳台", "kind": "其他"}
    refused = client.post(f"/projects/{project.id}/funds", data={**typed, "note": "二期设备款"})
    # Everything typed comes back, the message beside its field; nothing is kept.
    assert "到位日期不能晚于今天" in refused.text and 'value="1,200"' in refused.text
    assert "二期设备款" in refused.text and 'selected value="港澳台"' in refused.text
    assert _count() == 0
    saved = client.post(
        f"/projects/{project.id}/funds",
        data={**typed, "arrived_on": "2026-06-01", "counts_as_investment": "y"},
        follow_redirects=True,
    )
    assert "已登记到位资金 1200 万元（港澳台，其他），待核实" in saved.text
    assert re.search(r'data-testid="counted">(<[^>]+>)?1,200 万元', saved.text)
    detail = client.get(f"/projects/{project.id}").text
    assert "到位资金台账（1 笔）" in detail and "1,200 万元" in detail


def test_reviews_are_the_managers_and_another_districts_ledger_is_a_404(
    make_project, make_user, client, login_as
):
    mine = make_project(district="涪陵区")
    theirs = make_project(district="长寿区")
    entry = _entry(theirs, make_user("district", "长寿区"), 300)
    db.session.commit()
    login_as("district", "涪陵区")
    assert client.get(f"/projects/{theirs.id}/funds").status_code == 404
    assert client.get(f"/api/v1/projects/{theirs.id}/funds").status_code == 404
    body = {**MONEY, "amount_wan": "5", "arrived_on": "2026-06-01"}
    assert client.post(f"/projects/{theirs.id}/funds", data=body).status_code == 404
    assert client.post(f"/api/v1/projects/{theirs.id}/funds", json=body).status_code == 404
    review = {"review": "已核实", "version": "1"}
    assert client.post(f"/projects/{theirs.id}/funds/{entry.id}/review", data=review).status_code == 403
    assert client.post(f"/projects/{mine.id}/funds/{entry.id}/review", data=review).status_code == 403
    client.get("/logout")
    login_as("manager")
    # The entry of one project cannot be reviewed through another project's address.
    assert client.post(f"/projects/{mine.id}/funds/{entry.id}/review", data=review).status_code == 404
    done = client.post(f"/projects/{theirs.id}/funds/{entry.id}/review", data=review, follow_redirects=True)
    assert "已将第" in done.text and "标记为“已核实”" in done.text
    db.session.expire_all()
    assert db.session.get(FundEntry, entry.id).review == "已核实"
    assert _count() == 1


def test_the_funds_api_keeps_its_contract(make_project, client, login_as):
    project = make_project(district="涪陵区")
    login_as("district", "涪陵区")
    created = client.post(
        f"/api/v1/projects/{project.id}/funds",
        json={
            "amount_wan": 1500,
            "arrived_on": "2026-06-01",
            "source_region": "市外省内",
            "kind": "固定资产投资",
        },
    )
    assert created.status_code == 201
    entry = created.get_json()
    assert {k: entry[k] for k in ("amount_wan", "arrived_on", "source_region", "kind")} == {
        "amount_wan": 1500,
        "arrived_on": "2026-06-01",
        "source_region": "市外省内",
        "kind": "固定资产投资",
    }
    assert isinstance(entry["id"], int) and entry["review"] == "待核实" and entry["counted"] is True
    listed = client.get(f"/api/v1/projects/{project.id}/funds").get_json()
    assert [item["id"] for item in listed["items"]] == [entry["id"]]
    assert {k: listed["items"][0][k] for k in entry} == entry


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"amount_wan": 1.5}, "到位金额（万元）应为整数"),
        ({"amount_wan": "很多"}, "到位金额（万元）“很多”应为不小于 0 的数字"),
        ({"amount_wan": True}, "到位金额（万元）应为数字"),
        ({"arrived_on": "06/01/2026"}, "到位日期“06/01/2026”不是有效日期"),
        ({"arrived_on": None}, "请填写到位日期"),
        (
            {"source_region": "国外"},
            "资金来源地“国外”无效，可选：境外、港澳台、国内省外、市外省内、市内区县外、区县内",
        ),
        ({"kind": None}, "请选择资金类型：固定资产投资、其他"),
        ({"kind": ["其他"]}, "资金类型“['其他']”无效"),
    ],
)
def test_a_bad_field_in_the_api_is_a_chinese_400(make_project, client, login_as, body, message):
    project = make_project()
    login_as("officer")
    good = {"amount_wan": 100, "arrived_on": "2026-06-01", "source_region": "境外", "kind": "其他"}
    response = client.post(f"/api/v1/projects/{project.id}/funds", json={**good, **body})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _count() == 0


# ---------------------------------------------------------------- the 统计口径


@contextmanager
def definitions(app, tmp_path, change):
    """The application running on a definitions file changed by `change` (a function of the
    parsed YAML), written out and read back as a bureau would edit it."""
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    changed = deepcopy(data)
    change(changed)
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    before = app.extensions[MEASURES_KEY]
    app.extensions[MEASURES_KEY] = measures.load(path)
    forget_all()
    try:
        yield
    finally:
        app.extensions[MEASURES_KEY] = before
        forget_all()


def _over_this_years_plan(data):
    data["rates"]["funds_rate"].update(
        denominator="year_plan",
        period="calendar_year",
        definition="资金到位率 = 当年实际到位资金 ÷ 年度计划到位资金；按统计日所在自然年计。",
    )


def _verified_only(data):
    data["funds"].update(
        count_unverified=False,
        definition="只计已核实的登记：计入招商引资到位资金、未被更正的登记金额之和（固定资产投资与其他资金均计入）。",
    )


@pytest.fixture
def ledger(make_project, make_user):
    """One project of 10 000 万元 agreed, 5 000 planned for this year; 2 000 verified arrived this
    year, 1 000 unverified this year, 400 verified last year."""
    project = make_project(agreed_investment_wan=10_000, signed_on=date(2025, 3, 1))
    officer, manager = make_user("officer"), make_user("manager")
    verified = _entry(project, officer, 2000, f"{TODAY.year}-02-01")
    _entry(project, officer, 1000, f"{TODAY.year}-03-01", source_region="境外", kind="其他")
    old = _entry(project, officer, 400, f"{TODAY.year - 1}-11-01")
    for entry in (verified, old):
        review_entry(entry, {"review": "已核实"}, manager, 1)
    set_plan(project, TODAY.year, "5000")
    db.session.commit()
    return project


def _shown_rate(client) -> dict:
    """资金到位率 as the dashboard, the overview and the project list print it."""
    dashboard = client.get("/dashboard").text
    overview = client.get("/projects/overview").text
    listing = client.get("/projects/").text
    return {
        "dashboard": re.search(r'data-rate="资金到位率">([\d.]+%)', dashboard).group(1),
        "overview": re.search(r'data-measure-value="funds_rate">([\d.]+%)', overview).group(1),
        "list": re.search(r'data-testid="funds-rate">([\d.]+%)', listing).group(1),
    }


def test_switching_the_funds_rate_base_in_the_file_changes_every_place(
    app, tmp_path, ledger, client, login_as
):
    manager = login_as("manager")
    assert _shown_rate(client) == dict.fromkeys(("dashboard", "overview", "list"), "34.0%")  # 3 400 ÷ 10 000
    assert "资金到位率 = 实际到位资金 ÷ 协议投资额" in client.get("/dashboard").text
    with definitions(app, tmp_path, _over_this_years_plan):
        assert _shown_rate(client) == dict.fromkeys(
            ("dashboard", "overview", "list"), "60.0%"
        )  # 3 000 ÷ 5 000
        assert "资金到位率 = 当年实际到位资金 ÷ 年度计划到位资金" in client.get("/dashboard").text
        assert "当年的年度计划到位资金" in client.get("/measures").text
        total = rates(visible_projects(ProjectFilter(), user=manager), TODAY)[0]
        assert (total.rate_funds_wan, total.rate_base_wan) == (3000, 5000)
    assert _shown_rate(client)["overview"] == "34.0%"


def _figure(pattern: str, page: str) -> int:
    return int(re.search(pattern, page).group(1))


def test_counting_only_verified_funds_changes_every_place(app, tmp_path, ledger, client, login_as):
    manager = login_as("manager")
    everywhere = lambda: {  # noqa: E731
        "project": db.session.get(Project, ledger.id).funds_in_place_wan,
        "totals": totals(visible_projects(ProjectFilter(), user=manager)).funds_wan,
        "rates": rates(visible_projects(ProjectFilter(), user=manager), TODAY)[0].funds_wan,
        "brief": Figures(Scope()).headline(date(2000, 1, 1), TODAY)["funds_wan"],
        "dashboard": _figure(r'data-funds="(\d+)" data-testid="funds-total"', client.get("/dashboard").text),
        "list": _figure(r'data-testid="funds-total" data-funds="(\d+)"', client.get("/projects/").text),
        "api": sum(
            item["amount_wan"]
            for item in client.get(f"/api/v1/projects/{ledger.id}/funds").get_json()["items"]
            if item["counted"]
        ),
    }
    assert set(everywhere().values()) == {3400}
    with definitions(app, tmp_path, _verified_only):
        db.session.expire_all()
        assert set(everywhere().values()) == {2400}
        assert "只计已核实的登记" in client.get(f"/projects/{ledger.id}/funds").text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["rates"]["funds_rate"].update(denominator="contract"), "denominator“contract”无效"),
        (lambda d: d["rates"]["funds_rate"].update(denominator="year_plan"), "须配期间 calendar_year"),
        (
            lambda d: d["rates"]["funds_rate"].update(period="calendar_year", denominator="year_plan"),
            "定义须写明分母“年度计划到位资金”",
        ),
        (lambda d: d["counts"]["big_projects"].update(threshold_wan=6000), "定义须写明门槛（万元）“6000”"),
        (lambda d: d["funds"].update(kinds=["贷款"]), "kinds 应列出计入的资金类型"),
        (lambda d: d.pop("reviewed"), "须有 reviewed 审核记录"),
        (lambda d: d["rates"].pop("start_rate"), "rates 一节应恰好定义"),
    ],
)
def test_a_definitions_file_that_cannot_be_used_stops_the_start_in_chinese(tmp_path, change, message):
    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MeasuresError, match=re.escape(message)):
        measures.load(path)


def test_the_definitions_file_is_read_from_the_configuration(tmp_path):
    from crm import create_app

    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    _over_this_years_plan(data)
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    other = create_app({"TESTING": True, "MEASURES_FILE": str(path)})
    assert other.extensions[MEASURES_KEY].rates["funds_rate"].denominator == "year_plan"
    path.write_text("funds: [", encoding="utf-8")
    with pytest.raises(MeasuresError, match="无法读取统计口径文件"):
        create_app({"TESTING": True, "MEASURES_FILE": str(path)})


def test_the_definitions_page_lists_what_is_in_force(client, login_as):
    login_as("manager")
    page = client.get("/measures").text
    for label in ("实际到位资金", "资金到位率", "开工率", "投产率", "履约率", "亿元以上项目", "省外到位资金"):
        assert f'data-measure="{label}"' in page
    assert "招商投资局综合处（初版）" in page


def test_big_projects_are_counted_by_the_threshold_and_open_their_list(make_project, client, login_as):
    make_project(agreed_investment_wan=10_000, name="整亿项目")
    make_project(agreed_investment_wan=9_999, name="差一点项目")
    login_as("manager")
    dashboard = client.get("/dashboard").text
    assert re.search(r'data-count="1" data-testid="big-projects"', dashboard)
    listing = client.get("/projects/?big=1").text
    assert "整亿项目" in listing and "差一点项目" not in listing and "仅含亿元以上项目" in listing


# ---------------------------------------------------------------- reports by 口径


def _breakdown(page: str, key: str) -> dict[str, int]:
    table = re.search(rf'data-testid="breakdown-{key}">(.*?)</table>', page, re.S).group(1)
    return {
        label: int(amount)
        for label, amount in re.findall(
            r'<tr data-row="([^"]+)"><td>[^<]*</td><td class="text-end" data-funds="(\d+)"', table
        )
    }


def test_the_report_breaks_the_funds_down_and_every_table_adds_up(
    ledger, make_project, make_user, client, login_as
):
    other = make_project(district="长寿区", agreed_investment_wan=20_000, signed_on=date(TODAY.year, 2, 1))
    _entry(other, make_user("officer"), 600, f"{TODAY.year}-04-01", source_region="区县内", kind="其他")
    refused = _entry(other, make_user("officer"), 90, f"{TODAY.year}-04-02")
    review_entry(refused, {"review": "不予认定", "review_reason": "重复登记"}, make_user("manager"), 1)
    db.session.commit()
    login_as("manager")
    period = {"arrived_from": f"{TODAY.year}-01-01", "arrived_to": TODAY.isoformat()}
    page = client.get("/funds/report", query_string=period).text
    assert (
        _figure(r'data-testid="report-total" data-funds="(\d+)"', page) == 3600
    )  # last year's 400 is outside
    assert _figure(r'data-testid="report-outside" data-funds="(\d+)"', page) == 3000  # 国内省外 + 境外
    assert re.search(r"90 万元(</span>)?（1 笔）", page)
    assert _breakdown(page, "source") == {
        "境外": 1000,
        "港澳台": 0,
        "国内省外": 2000,
        "市外省内": 0,
        "市内区县外": 0,
        "区县内": 600,
        "未注明": 0,
    }
    assert _breakdown(page, "kind") == {"固定资产投资": 2000, "其他": 1600, "未注明": 0}
    assert _breakdown(page, "review") == {"待核实": 1600, "已核实": 2000}
    assert _breakdown(page, "cohort") == {"今年签约并履约": 600, "往年签约正在履约": 3000}
    assert _breakdown(page, "district") == {"涪陵区": 3000, "长寿区": 600}
    assert sum(_breakdown(page, "month").values()) == 3600

    workbook = load_workbook(io.BytesIO(client.get("/funds/report.xlsx", query_string=period).data))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    header = rows[0]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {ledger.name, other.name}
    mine = by_name[ledger.name]
    assert (
        mine["本期到位资金（万元）"],
        mine["其中：境外"],
        mine["其中：国内省外"],
        mine["其中：已核实"],
    ) == (3000, 1000, 2000, 2000)
    assert (mine["其中：固定资产投资"], mine["自签约累计到位（万元）"], mine["签约年度类别"]) == (
        2000,
        3400,
        "往年签约正在履约",
    )
    assert sum(r["本期到位资金（万元）"] for r in by_name.values()) == 3600
    for sheet in workbook.worksheets[1:]:
        last = list(sheet.iter_rows(values_only=True))[-1]
        assert last[0] == "合计" and (last[1] == 3600 or sheet.title == "按产业集群"), sheet.title


def test_a_district_user_reports_only_on_their_district(ledger, make_project, make_user, client, login_as):
    other = make_project(district="长寿区", name="长寿的项目")
    _entry(other, make_user("officer"), 600, f"{TODAY.year}-04-01")
    db.session.commit()
    login_as("district", "长寿区")
    page = client.get("/funds/report", query_string={"district": "涪陵区"}).text
    assert _figure(r'data-testid="report-total" data-funds="(\d+)"', page) == 0  # 涪陵区 is not theirs to see
    page = client.get("/funds/report").text
    assert _figure(r'data-testid="report-total" data-funds="(\d+)"', page) == 600
    assert "涪陵区" not in _breakdown(page, "district")
    workbook = load_workbook(io.BytesIO(client.get("/funds/report.xlsx").data))
    names = [row[0] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert names == ["长寿的项目"]


def test_the_bureau_sets_this_years_funds_plan_on_the_edit_page(make_project, client, login_as):
    project = make_project()
    login_as("manager")
    form = client.get(f"/projects/{project.id}/edit").text
    assert f"{TODAY.year} 年计划到位资金（万元）" in form
    values = {
        "version": str(project.version),
        "name": project.name,
        "district": "涪陵区",
        "agreed_investment_wan": "100000",
        "fund_plan": "3.5",
    }
    refused = client.post(f"/projects/{project.id}/edit", data=values).text
    assert f"{TODAY.year} 年计划到位资金（万元）应为整数" in refused and 'value="3.5"' in refused
    assert (
        client.post(f"/projects/{project.id}/edit", data={**values, "fund_plan": "30,000"}).status_code == 302
    )
    db.session.expire_all()
    assert db.session.get(Project, project.id).plan_for(TODAY.year) == 30_000


# ---------------------------------------------------------------- the receipt


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


def test_an_arrival_is_recorded_with_its_receipt_and_a_bad_file_keeps_nothing(make_project, client, login_as):
    from crm.projects.attachments import Attachment

    project = make_project(district="涪陵区")
    login_as("district", "涪陵区")
    typed = {**MONEY, "amount_wan": "800", "arrived_on": "2026-06-01", "evidence_type": "银行进账单"}
    refused = client.post(
        f"/projects/{project.id}/funds",
        data={**typed, "evidence": (io.BytesIO(b"MZ\x90\x00 not a receipt"), "进账单.pdf")},
        content_type="multipart/form-data",
    )
    assert "凭证文件：" in refused.text and 'value="800"' in refused.text
    assert _count() == 0 and db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    saved = client.post(
        f"/projects/{project.id}/funds",
        data={**typed, "evidence": (io.BytesIO(PDF), "6月进账单.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    entry = db.session.scalars(select(FundEntry)).one()
    receipt = db.session.scalars(select(Attachment)).one()
    assert (receipt.fund_entry_id, receipt.category, receipt.name) == (entry.id, "到位凭证", "6月进账单.pdf")
    assert f'data-evidence="{receipt.id}">6月进账单.pdf</a>' in saved.text
    assert client.get(f"/attachments/{receipt.id}").data == PDF


def test_the_receipt_of_verified_money_cannot_be_deleted(make_project, make_user, client, login_as):
    from werkzeug.datastructures import FileStorage

    from crm.projects.attachments import store_attachment

    project = make_project()
    staff = make_user("officer")
    entry = _entry(project, staff, 500)
    receipt = store_attachment(project, FileStorage(io.BytesIO(PDF), "回单.pdf"), "到位凭证", staff, entry)
    db.session.commit()
    review_entry(entry, {"review": "已核实"}, make_user("manager"), 1)
    db.session.commit()
    login_as("manager")
    answer = client.post(f"/attachments/{receipt.id}/delete", follow_redirects=True)
    assert f"该文件是第 {entry.id} 号已核实到位资金的凭证，不能删除" in answer.text
    db.session.expire_all()
    assert client.get(f"/attachments/{receipt.id}").status_code == 200


# ---------------------------------------------------------------- what a review settles


def test_only_the_bureau_corrects_an_entry_it_has_reviewed(make_project, make_user):
    project = make_project()
    staff, manager = make_user("district", "涪陵区"), make_user("manager")
    refused = _entry(project, staff, 900)
    db.session.commit()
    review_entry(refused, {"review": "不予认定", "review_reason": "凭证不符"}, manager, 1)
    db.session.commit()
    # Resubmitting would bring refused money back into the figures without the bureau looking.
    with pytest.raises(FundsError, match=f"第 {refused.id} 号登记已“不予认定”，其更正须由处室负责人办理"):
        _entry(project, staff, 900, corrects_id=refused.id, note="补交凭证")
    db.session.rollback()
    assert project.funds_in_place_wan == 0
    _entry(project, manager, 900, corrects_id=refused.id, note="补交了银行进账单，重新登记")
    db.session.commit()
    assert project.funds_in_place_wan == 900


def test_a_review_read_before_a_correction_is_refused(make_project, make_user):
    project = make_project()
    officer, manager = make_user("officer"), make_user("manager")
    entry = _entry(project, officer, 1000)
    db.session.commit()
    seen = entry.version  # the manager opens the ledger …
    _entry(project, officer, 100, corrects_id=entry.id, note="金额录错")  # … someone corrects it …
    db.session.commit()
    with pytest.raises(FundsError, match="刚被他人核实或更正"):  # … and the verdict is not laid on it
        review_entry(entry, {"review": "已核实"}, manager, seen)
    db.session.rollback()
    assert db.session.get(FundEntry, entry.id).review == "待核实"


def test_the_year_plan_rate_counts_only_projects_with_a_plan(app, tmp_path, ledger, make_project, make_user):
    unplanned = make_project(agreed_investment_wan=5_000, signed_on=date(2025, 3, 1))
    _entry(unplanned, make_user("officer"), 4000, f"{TODAY.year}-05-01")
    db.session.commit()
    with definitions(app, tmp_path, _over_this_years_plan):
        total = rates(visible_projects(ProjectFilter(), user=make_user("manager")), TODAY)[0]
        assert (total.rate_funds_wan, total.rate_base_wan) == (3000, 5000)  # not 7 000 over 5 000


def test_the_report_reads_any_query_string_and_cuts_the_cumulative_at_its_end(ledger, client, login_as):
    login_as("manager")
    assert client.get("/funds/report?_method=POST&_external=1&arrived_from=乱码").status_code == 200
    period = {"arrived_from": f"{TODAY.year}-01-01", "arrived_to": f"{TODAY.year}-02-15"}
    workbook = load_workbook(io.BytesIO(client.get("/funds/report.xlsx", query_string=period).data))
    header, row = list(workbook.worksheets[0].iter_rows(values_only=True))
    figures = dict(zip(header, row, strict=True))
    # 2 000 arrived in the period; 400 the year before; the 1 000 of March is after its end.
    assert (figures["本期到位资金（万元）"], figures["自签约累计到位（万元）"]) == (2000, 2400)


def test_the_dashboard_shows_what_the_funds_are_made_of_and_its_report_agrees(ledger, client, login_as):
    login_as("manager")
    page = client.get("/dashboard").text
    total = _figure(r'data-funds="(\d+)" data-testid="funds-total"', page)
    split = page.split('data-testid="funds-split"')[1]
    sources = re.search(r'data-testid="split-source">(.*?)</table>', split, re.S).group(1)
    kinds = re.search(r'data-testid="split-kind">(.*?)</table>', split, re.S).group(1)
    row = r'<tr data-row="([^"]+)"><td>[^<]*</td><td class="text-end" data-funds="(\d+)"'
    assert dict(re.findall(row, sources)) == {"国内省外": "2400", "境外": "1000"}
    assert dict(re.findall(row, kinds)) == {"固定资产投资": "2400", "其他": "1000"}
    assert total == 3400 and _figure(r'data-funds="(\d+)" data-testid="outside-funds"', split) == 3400
    report = client.get(
        html.unescape(re.search(r'<a href="([^"]+)" data-testid="split-report"', split).group(1))
    )
    assert _figure(r'data-testid="report-total" data-funds="(\d+)"', report.text) == total
    assert "仅含 2023-01-01 至" in report.text


def test_a_receipt_is_added_to_an_entry_later_and_only_on_ones_own_district(
    make_project, make_user, client, login_as
):
    from crm.projects.attachments import Attachment

    mine, theirs = make_project(district="涪陵区"), make_project(district="长寿区")
    entry = _entry(mine, make_user("officer"), 300)
    other = _entry(theirs, make_user("officer"), 300)
    db.session.commit()
    login_as("district", "涪陵区")
    assert f'data-testid="no-file-{entry.id}"' in client.get(f"/projects/{mine.id}/funds").text
    sent = lambda project, item: client.post(  # noqa: E731
        f"/projects/{project.id}/funds/{item.id}/evidence",
        data={"file": (io.BytesIO(PDF), "补交的验资报告.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert sent(theirs, other).status_code == 404
    assert sent(mine, other).status_code == 404  # another project's entry through mine
    page = sent(mine, entry)
    assert "已为第" in page.text and "补交的验资报告.pdf" in page.text
    assert f'data-testid="no-file-{entry.id}"' not in page.text
    stored = db.session.scalars(select(Attachment)).one()
    assert (stored.fund_entry_id, stored.project_id, stored.category) == (entry.id, mine.id, "到位凭证")


def test_the_api_uploads_a_receipt_for_an_entry_of_the_same_project_only(
    make_project, make_user, client, login_as
):
    mine, theirs = make_project(district="涪陵区"), make_project(district="涪陵区")
    entry = _entry(mine, make_user("officer"), 300)
    elsewhere = _entry(theirs, make_user("officer"), 300)
    db.session.commit()
    login_as("district", "涪陵区")

    def upload(entry_id):
        body = {
            "file": (io.BytesIO(PDF), "进账单.pdf"),
            "category": "到位凭证",
            "fund_entry_id": str(entry_id),
        }
        return client.post(
            f"/api/v1/projects/{mine.id}/attachments", data=body, content_type="multipart/form-data"
        )

    refused = upload(elsewhere.id)
    assert refused.status_code == 400 and "不存在或不属于本项目" in refused.get_json()["error"]
    assert upload("abc").status_code == 400
    created = upload(entry.id)
    assert created.status_code == 201 and created.get_json()["fund_entry_id"] == entry.id


def test_a_refused_entry_the_bureau_corrected_is_no_longer_reported_as_refused(
    ledger, make_user, client, login_as
):
    manager = make_user("manager")
    refused = _entry(ledger, make_user("officer"), 90, f"{TODAY.year}-04-02")
    review_entry(refused, {"review": "不予认定", "review_reason": "凭证不符"}, manager, 1)
    db.session.commit()
    login_as("manager")
    assert re.search(r"90 万元(</span>)?（1 笔）", client.get("/funds/report").text)
    _entry(ledger, manager, 90, f"{TODAY.year}-04-02", corrects_id=refused.id, note="补交进账单后重新登记")
    db.session.commit()
    page = client.get("/funds/report").text
    assert re.search(r"0 万元(</span>)?（0 笔）", page)
    assert _figure(r'data-testid="report-total" data-funds="(\d+)"', page) == 3090  # counted now, once
