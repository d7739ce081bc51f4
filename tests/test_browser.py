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
    page.get_by_role("link", name="招商目录", exact=True).click()
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
    page.get_by_label("本月到位资金（万元）").fill("5000")
    page.get_by_label("进展情况").fill("首笔资金到位")
    page.get_by_role("button", name="提交进展").click()
    expect(page.get_by_text("健康状态：停滞 → 正常推进")).to_be_visible()
    expect(page.get_by_test_id("funds")).to_contain_text("5,000 万元（到位率 25.0%）")
    expect(page.get_by_test_id("updates")).to_contain_text("首笔资金到位")

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
