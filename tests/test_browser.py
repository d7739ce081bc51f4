"""Real-browser journeys: Debian's Chromium driven by Playwright against a live server."""

import re

from playwright.sync_api import expect

from tests.conftest import PASSWORD


def test_login_journey(page, live_server):
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="链招")).to_be_visible()

    page.get_by_label("用户名").fill("live_officer")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("login-error")).to_have_text("用户名或密码错误，或账号已停用。")

    page.get_by_label("用户名").fill("live_officer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(live_server + "/")
    expect(page.get_by_role("heading", name="首页")).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_contain_text("招商专员")
    # The Bootstrap stylesheet really loaded from the app: the navbar is coloured.
    background = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")

    # 退出登录 and API 令牌 are in the menu under the user's name (Bootstrap's dropdown script).
    page.get_by_test_id("current-user").click()
    expect(page.get_by_role("link", name="API 令牌")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text("您已安全退出登录。")).to_be_visible()
    page.goto(live_server + "/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_admin_journey_creates_a_district_user(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="用户管理").click()
    page.get_by_role("link", name="新建用户").click()
    page.get_by_label("用户名").fill("browser_cs")
    page.get_by_label("姓名").fill("长寿测试")
    page.get_by_label("角色").select_option("district")
    page.get_by_label("初始密码").fill("a-browser-password")
    page.get_by_label("再次输入密码").fill("a-browser-password")
    page.get_by_role("button", name="创建").click()
    # The message beside the field it concerns, and as the summary at the top.
    expect(page.locator(".invalid-feedback", has_text="区县专员必须指定所属区县或功能区")).to_be_visible()
    expect(page.locator(".alert", has_text="区县专员必须指定所属区县或功能区")).to_be_visible()
    expect(page.get_by_label("用户名")).to_have_value("browser_cs")
    page.get_by_label("所属区县").select_option("长寿区")
    page.get_by_label("初始密码").fill("a-browser-password")
    page.get_by_label("再次输入密码").fill("a-browser-password")
    page.get_by_role("button", name="创建").click()
    expect(page.get_by_text("已创建用户 browser_cs（区县专员）。")).to_be_visible()
    expect(page.locator("dd", has_text="长寿区")).to_be_visible()


def test_manager_edits_a_catalogue_entry(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="产业地图", exact=True).click()
    page.get_by_test_id("industry-tabs").get_by_role("link", name="招商目录").click()
    page.get_by_label("招商动作").select_option("补链")
    page.get_by_label("搜索", exact=True).fill("镁")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text("共 7 条")).to_be_visible()
    page.get_by_role("link", name="NF-MG-02").click()
    expect(page.get_by_role("heading", name="高强耐蚀镁合金 NF-MG-02")).to_be_visible()
    expect(page.get_by_text("原文写法：“高强耐蚀合金”")).to_be_visible()
    page.get_by_role("link", name="编辑", exact=True).click()
    page.get_by_label("优先级").select_option("中")
    page.get_by_label("备注").fill("浏览器测试：已对接两家企业")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存目录条目 NF-MG-02。")).to_be_visible()
    expect(page.get_by_text("优先级：高 → 中")).to_be_visible()
    expect(page.get_by_text("浏览器测试：已对接两家企业", exact=True)).to_be_visible()


def test_officer_logs_an_enterprise_a_lead_and_a_follow_up(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_officer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="企业库", exact=True).click()
    page.get_by_role("link", name="新建企业").click()
    page.get_by_label("企业名称").fill("浏览器测试钛业有限公司")
    page.get_by_label("统一社会信用代码（境外企业可不填）").fill("91110000802100433B")
    page.get_by_label("目录条目代码（多个用逗号分隔，如 CH-PA-03）").fill("NF-TI-01")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已创建企业“浏览器测试钛业有限公司”。")).to_be_visible()
    # The same firm again, under a slightly different name: the duplicate warning comes first.
    page.get_by_role("link", name="企业库", exact=True).click()
    page.get_by_role("link", name="新建企业").click()
    page.get_by_label("企业名称").fill("重庆浏览器测试钛业股份有限公司")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("duplicate-warning")).to_contain_text("浏览器测试钛业有限公司")
    page.goto(live_server + "/enterprises/?q=钛业")
    page.get_by_role("link", name="浏览器测试钛业有限公司").click()
    page.get_by_role("link", name="登记线索").click()
    page.get_by_label("线索名称").fill("钛合金板材扩产")
    page.get_by_label("来源").select_option("展会")
    page.get_by_label("意向区县").select_option("九龙坡区")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已登记线索。")).to_be_visible()
    page.get_by_label("目标阶段").select_option("初步接洽")
    page.get_by_role("button", name="变更", exact=True).click()
    expect(page.get_by_text("进入“初步接洽”前须至少有一条跟进记录")).to_be_visible()
    page.get_by_label("方式").select_option("拜访")
    page.get_by_label("情况记录").fill("拜访企业总部，了解扩产计划")
    page.get_by_role("button", name="保存跟进").click()
    expect(page.get_by_test_id("timeline")).to_contain_text("拜访企业总部，了解扩产计划")
    page.get_by_label("目标阶段").select_option("初步接洽")
    page.get_by_role("button", name="变更", exact=True).click()
    expect(page.get_by_text("线索“钛合金板材扩产”已移至“初步接洽”。")).to_be_visible()
    expect(page.get_by_test_id("timeline")).to_contain_text("线索 → 初步接洽")
    # The same lead on the kanban: a drop into a gate it cannot pass, then one it can.
    page.get_by_role("link", name="招商线索").click()
    page.get_by_role("link", name="线索看板").click()
    card = page.locator("article.board-card", has_text="钛合金板材扩产")
    card.drag_to(
        page.locator("section.board-column[data-stage='商务洽谈'] .board-drop"),
        source_position={"x": 8, "y": 8},
    )
    expect(page.get_by_text("进入“商务洽谈”须先关联招商目录条目")).to_be_visible()
    card = page.locator("article.board-card", has_text="钛合金板材扩产")
    card.drag_to(
        page.locator("section.board-column[data-stage='实地考察'] .board-drop"),
        source_position={"x": 8, "y": 8},
    )
    expect(page.get_by_text("线索“钛合金板材扩产”已移至“实地考察”。")).to_be_visible()
    expect(page.locator("section.board-column[data-stage='实地考察']")).to_contain_text("钛合金板材扩产")


def test_district_user_keeps_a_project_current_and_cannot_reach_another(
    page, live_server, live_app, make_enterprise, make_project
):
    from datetime import timedelta

    from crm.core.timeutil import today_local

    with live_app.app_context():
        ids = {}
        for district in ("涪陵区", "长寿区"):
            project = make_project(
                name=f"{district}浏览器测试项目",
                enterprise=make_enterprise(name=f"{district}浏览器测试企业有限公司", confirm_duplicate=True),
                district=district,
                agreed_investment_wan=20_000,
                signed_on=today_local() - timedelta(days=30),  # no update since: 停滞
            )
            ids[district] = project.id

    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_district")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="本区项目").click()
    listing = page.get_by_test_id("my-projects")
    expect(listing).to_contain_text("涪陵区浏览器测试项目")
    expect(listing).not_to_contain_text("长寿区浏览器测试项目")
    expect(listing.locator("[data-health]").first).to_have_text("停滞")

    listing.get_by_role("link", name="涪陵区浏览器测试项目").click()
    page.get_by_label("进展情况").fill("首笔资金到位")
    page.get_by_role("button", name="提交进展").click()
    expect(page.get_by_text("健康状态：停滞 → 正常推进")).to_be_visible()
    expect(page.get_by_test_id("updates")).to_contain_text("首笔资金到位")
    # The money itself goes to the ledger, with where it came from and what it is.
    page.get_by_test_id("ledger-link").click()
    page.get_by_label("到位金额（万元）").fill("5000")
    page.get_by_label("资金来源地").select_option("国内省外")
    page.get_by_label("资金类型").select_option("固定资产投资")
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_text("已登记到位资金 5000 万元（国内省外，固定资产投资），待核实。")).to_be_visible()
    page.get_by_role("link", name="涪陵区浏览器测试项目").click()
    expect(page.get_by_test_id("funds")).to_contain_text("5,000 万元（占协议投资额 25.0%）")

    response = page.goto(f"{live_server}/projects/{ids['长寿区']}")
    assert response.status == 404
    expect(page.get_by_text("您访问的页面或数据不存在。")).to_be_visible()


def test_manager_follows_the_dashboard_and_downloads_a_brief(page, live_server):
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="驾驶舱")).to_be_visible()
    number = page.locator("[data-stage='线索']")
    count = int(number.inner_text())
    number.click()
    expect(page).to_have_url(re.compile(r"/leads/\?stage="))
    expect(page.locator("table tbody .badge", has_text="线索")).to_have_count(min(count, 25))
    page.get_by_role("link", name="周报").click()
    page.get_by_label("范围").select_option(label="轻合金材料产业集群")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="生成并下载 PDF").click()
    download = download_info.value
    assert "轻合金材料产业集群招商周报" in download.suggested_filename
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    page.goto(live_server + "/briefs/")
    expect(page.get_by_test_id("archive")).to_contain_text("轻合金材料产业集群")


def test_an_arrival_with_its_receipt_is_verified_and_counted_everywhere(
    page, live_server, live_app, make_enterprise, make_project, tmp_path
):
    """A district user records money with its bank receipt; the manager verifies it; the dashboard,
    the report's Excel and this week's brief show it under its source and kind, as the database says."""
    import io
    import subprocess
    from datetime import timedelta

    from openpyxl import load_workbook

    from crm.core.timeutil import today_local
    from crm.core.weeks import week_of
    from crm.extensions import db
    from crm.places.service import resolve_district
    from crm.projects.funds import funds_total
    from crm.projects.models import FundEntry, Project
    from crm.projects.service import ProjectFilter, rates
    from reports.figures import parse_week
    from reports.funds import composition

    today = today_local()
    with live_app.app_context():
        project = make_project(
            name="港资铝材浏览器项目",
            enterprise=make_enterprise(name="港资铝材浏览器测试有限公司", confirm_duplicate=True),
            district="涪陵区",
            agreed_investment_wan=70_000,
            signed_on=today - timedelta(days=40),
        )
        project_id = project.id
    receipt = tmp_path / "港资进账单.pdf"
    receipt.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")

    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("live_district")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/projects/{project_id}/funds")
    page.get_by_label("到位金额（万元）").fill("7000")
    page.get_by_label("资金来源地").select_option("港澳台")
    page.get_by_label("资金类型").select_option("固定资产投资")
    page.get_by_label("凭证类型").select_option("银行进账单")
    page.get_by_label("凭证文件（PDF、图片或 Office 文档）").set_input_files(str(receipt))
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.get_by_text("已登记到位资金 7000 万元（港澳台，固定资产投资），待核实。")).to_be_visible()
    expect(page.get_by_role("link", name="港资进账单.pdf")).to_be_visible()
    expect(page.locator("[data-review]").first).to_have_text("待核实")

    page.goto(live_server + "/logout")
    page.get_by_label("用户名").fill("live_manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/projects/{project_id}/funds")
    with live_app.app_context():
        entry_id = db.session.scalar(db.select(FundEntry.id).where(FundEntry.project_id == project_id))
    review = page.get_by_test_id(f"review-{entry_id}")
    page.locator(f"#entry-{entry_id}").get_by_text("核实", exact=True).click()
    review.get_by_label("核实结论").select_option("已核实")
    review.get_by_label("核实意见").fill("进账单与银行流水一致")
    review.get_by_role("button", name="保存核实").click()
    expect(page.get_by_text(f"已将第 {entry_id} 号登记标记为“已核实”。")).to_be_visible()
    expect(page.locator(f"#entry-{entry_id} [data-review]")).to_have_text("已核实")

    # The dashboard's 实际到位资金 is the database's, the new money in it.
    page.goto(live_server + "/dashboard")
    shown = int(page.get_by_test_id("funds-total").get_attribute("data-funds"))
    with live_app.app_context():
        from flask_login import login_user

        manager = db.session.scalar(
            db.select(db.Model.registry._class_registry["User"]).filter_by(username="live_manager")
        )
        with live_app.test_request_context():
            login_user(manager)
            from crm.industry.models import PLAN_START
            from crm.projects.service import visible_projects

            period = ProjectFilter(signed_from=PLAN_START, signed_to=today)
            assert shown == rates(visible_projects(period, today), today)[0].funds_wan >= 7000
            by_district = rates(visible_projects(period, today), today, Project.district_id, str)
            fuling = next(r for r in by_district if r.label == str(resolve_district("涪陵区").id))

    # The overview's 涪陵区 row counts it too, and its split shows it under 港澳台 and 固定资产投资.
    page.goto(live_server + "/projects/overview")
    row = page.get_by_test_id("rates-district").locator("tr", has_text="涪陵区")
    assert int(row.locator("[data-funds]").get_attribute("data-funds")) == fuling.funds_wan >= 7000
    for table, label in (("split-source", "港澳台"), ("split-kind", "固定资产投资")):
        cell = page.get_by_test_id(table).locator(f"tr[data-row='{label}'] [data-funds]")
        assert int(cell.get_attribute("data-funds")) >= 7000

    # The 统计报表 names it under 港澳台 and 固定资产投资, verified.
    page.goto(f"{live_server}/funds/report?district=涪陵区")
    with page.expect_download() as download_info:
        page.get_by_test_id("report-export").click()
    with open(download_info.value.path(), "rb") as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    row = dict(zip(rows[0], next(r for r in rows if r[0] == "港资铝材浏览器项目"), strict=True))
    assert (row["其中：港澳台"], row["其中：固定资产投资"], row["其中：已核实"]) == (7000, 7000, 7000)

    # This week's city brief prints this week's funds as the database counts them.
    page.goto(live_server + "/briefs/")
    page.get_by_label("范围").select_option("CITY")
    page.get_by_label("周次").select_option(week_of(today))
    with page.expect_download() as download_info:
        page.get_by_role("button", name="生成并下载 PDF").click()
    text = subprocess.run(
        ["pdftotext", "-raw", download_info.value.path(), "-"], capture_output=True, text=True, check=True
    ).stdout
    monday, sunday = parse_week(week_of(today))
    with live_app.app_context():
        ids = db.select(Project.id).scalar_subquery()
        week_funds = funds_total(ids, monday, sunday)
    assert week_funds >= 7000

    def wan(match) -> int:
        return round(float(match.group(1).replace(",", "")) * (10_000 if match.group(2) == "亿元" else 1))

    assert wan(re.search(r"资金到位\s*注\s+([\d.,]+) (亿元|万元)\s+累计", text)) == week_funds
    # And what it is made of: the week's 港澳台 money, as the ledger has it.
    with live_app.app_context():
        week_split = composition(db.select(Project), monday, sunday)
    by_source = {label: amount for label, amount, _ in week_split["source"].rows}
    assert wan(re.search(r"来源：港澳台\s+([\d.,]+) (亿元|万元)", text)) == by_source["港澳台"] >= 7000
