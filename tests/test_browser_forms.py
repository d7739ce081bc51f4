"""No typed input is ever lost or changed by an error: a real browser submits every form of the
application with one bad field and finds every other field as it was typed, the message beside the
bad field (and at the top), and nothing saved. A date typed into the signing form is the date stored."""

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from crm.auth.models import User
from crm.core.timeutil import today_local
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.leads.models import FollowUp, Lead, StageChange
from crm.leads.service import add_follow_up, move_lead
from crm.projects.models import FundEntry, Project, ProjectUpdate
from tests.conftest import PASSWORD
from tests.helpers import browser_login

COUNTED = (Enterprise, Contact, Lead, FollowUp, StageChange, Project, ProjectUpdate, FundEntry)


def _counts(live_app) -> dict[str, int]:
    with live_app.app_context():
        return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def _login(page, server: str, username: str) -> None:
    browser_login(page, server, username, PASSWORD)


def _refused(page, control, message: str) -> None:
    """The message sits beside the control (its invalid-feedback) and in the summary at the top."""
    expect(control).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator(".invalid-feedback", has_text=message).first).to_be_visible()
    expect(page.locator(".alert-danger", has_text=message)).to_be_visible()


def test_every_form_comes_back_as_typed_and_saves_nothing(
    page, live_server, live_app, make_enterprise, make_lead, make_project
):
    today = today_local()
    with live_app.app_context():
        officer = db.session.scalar(select(User).where(User.username == "live_officer"))
        firm = make_enterprise(name="表单测试材料有限公司", hq_province="江苏省")
        lead = make_lead(
            firm,
            officer,
            title="表单测试线索",
            source="展会",
            district="涪陵区",
            catalogue_code="CH-PA-03",
            intended_investment_wan="30000",
        )
        add_follow_up(lead, {"kind": "电话", "notes": "首次电话沟通"}, officer)
        move_lead(lead, "初步接洽", officer)
        db.session.commit()
        project = make_project(
            name="表单测试项目", enterprise=firm, district="涪陵区", signed_on=today - timedelta(days=60)
        )
        firm_id, lead_id, project_id = firm.id, lead.id, project.id
    before = _counts(live_app)
    _login(page, live_server, "live_officer")

    # A new enterprise: 2.5 万元 of revenue is refused; the name, province and products stay.
    page.goto(live_server + "/enterprises/new")
    page.get_by_label("企业名称").fill("表单新建材料有限公司")
    page.get_by_label("总部省份").fill("浙江省")
    page.get_by_label("主要产品").fill("聚酰胺 PA66 切片")
    page.get_by_label("年营业收入（万元）").fill("2.5")
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("年营业收入（万元）"), "应为整数，不能有小数")
    expect(page.get_by_label("企业名称")).to_have_value("表单新建材料有限公司")
    expect(page.get_by_label("总部省份")).to_have_value("浙江省")
    expect(page.get_by_label("主要产品")).to_have_value("聚酰胺 PA66 切片")
    expect(page.get_by_label("年营业收入（万元）")).to_have_value("2.5")

    # Editing it: a malformed credit code is refused; the products typed stay.
    page.goto(f"{live_server}/enterprises/{firm_id}/edit")
    page.get_by_label("主要产品").fill("改性尼龙、阻燃材料")
    page.get_by_label("统一社会信用代码（境外企业可不填）").fill("12345")
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("统一社会信用代码（境外企业可不填）"), "统一社会信用代码")
    expect(page.get_by_label("主要产品")).to_have_value("改性尼龙、阻燃材料")

    # A contact on the enterprise page: a bad phone; the name, title and email stay.
    page.goto(f"{live_server}/enterprises/{firm_id}")
    contact = page.locator("form[action$='/contacts']")
    contact.get_by_label("联系人姓名").fill("王经理")
    contact.get_by_label("职务").fill("投资总监")
    contact.get_by_label("电话").fill("打电话")
    contact.get_by_label("邮箱").fill("wang@example.com")
    contact.get_by_role("button", name="添加联系人").click()
    contact = page.locator("form[action$='/contacts']")
    _refused(page, contact.get_by_label("电话"), "电话“打电话”格式不正确")
    expect(contact.get_by_label("联系人姓名")).to_have_value("王经理")
    expect(contact.get_by_label("职务")).to_have_value("投资总监")
    expect(contact.get_by_label("邮箱")).to_have_value("wang@example.com")

    # A new lead: 2.5 万元 intended; the title, source and district stay.
    page.goto(f"{live_server}/leads/new/{firm_id}")
    page.get_by_label("线索名称").fill("表单第二期")
    page.get_by_label("来源").select_option("以商招商")
    page.get_by_label("意向区县").select_option("长寿区")
    page.get_by_label("意向投资（万元）").fill("2.5")
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("意向投资（万元）"), "应为整数，不能有小数")
    expect(page.get_by_label("线索名称")).to_have_value("表单第二期")
    expect(page.get_by_label("来源")).to_have_value("以商招商")
    expect(page.get_by_label("意向区县")).to_have_value("长寿区")

    # Editing the lead: an unknown catalogue code; the new title stays.
    page.goto(f"{live_server}/leads/{lead_id}/edit")
    page.get_by_label("线索名称").fill("表单测试线索（改）")
    page.get_by_label("目录条目代码（如 CH-PA-03）").fill("XX-99")
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("目录条目代码（如 CH-PA-03）"), "未知或已停用的目录条目代码")
    expect(page.get_by_label("线索名称")).to_have_value("表单测试线索（改）")

    # A follow-up: a next date in the past; the notes, participants and kind stay.
    page.goto(f"{live_server}/leads/{lead_id}")
    page.get_by_label("方式").select_option("拜访")
    page.get_by_label("参与人员").fill("李招商、王经理")
    page.get_by_label("情况记录").fill("上门拜访，企业关注用地指标")
    page.get_by_label("下次跟进日期").fill((today - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="保存跟进").click()
    _refused(page, page.get_by_label("下次跟进日期"), "下次跟进日期不能早于今天")
    expect(page.get_by_label("方式")).to_have_value("拜访")
    expect(page.get_by_label("参与人员")).to_have_value("李招商、王经理")
    expect(page.get_by_label("情况记录")).to_have_value("上门拜访，企业关注用地指标")

    # A stage move to 流失 without a reason; the note stays.
    page.get_by_label("目标阶段").select_option("流失")
    page.get_by_label("说明", exact=True).fill("企业另选他地")
    page.get_by_role("button", name="变更").click()
    _refused(page, page.get_by_label("流失原因"), "标记为流失须选择原因")
    expect(page.get_by_label("目标阶段")).to_have_value("流失")
    expect(page.get_by_label("说明", exact=True)).to_have_value("企业另选他地")

    # Signing: the typed date survives an error in the amount, and is the date stored.
    signed_on = (today - timedelta(days=10)).isoformat()
    page.get_by_label("签约日期").fill(signed_on)
    page.get_by_label("协议投资额").fill("2.5")
    page.get_by_role("button", name="签约").click()
    _refused(page, page.get_by_label("协议投资额"), "应为整数，不能有小数")
    expect(page.get_by_label("签约日期")).to_have_value(signed_on)

    # The project's update: an actual date in the future; the note, issues and dates stay.
    page.goto(f"{live_server}/projects/{project_id}")
    update = page.locator("#update form")
    reported = (today - timedelta(days=1)).isoformat()
    tomorrow = (today + timedelta(days=1)).isoformat()
    update.get_by_label("填报日期", exact=True).fill(reported)
    update.get_by_label("达到阶段（未推进可不选）").select_option("注册")
    update.get_by_label("实际日期（不填为填报日期）").fill(tomorrow)
    update.get_by_label("进展情况").fill("设备进场调试")
    update.get_by_label("需协调事项（需要市级帮助解决的问题）").fill("110kV 变电站接入")
    update.get_by_role("button", name="提交进展").click()
    _refused(page, update.get_by_label("实际日期（不填为填报日期）"), "实际日期不能晚于今天")
    expect(update.get_by_label("填报日期", exact=True)).to_have_value(reported)
    expect(update.get_by_label("实际日期（不填为填报日期）")).to_have_value(tomorrow)
    expect(update.get_by_label("进展情况")).to_have_value("设备进场调试")
    expect(update.get_by_label("需协调事项（需要市级帮助解决的问题）")).to_have_value("110kV 变电站接入")

    # The funds ledger: 2.5 万元; the date, source, kind and note stay.
    page.goto(f"{live_server}/projects/{project_id}/funds")
    record = page.locator("#record form")
    record.get_by_label("到位金额（万元）").fill("2.5")
    record.get_by_label("到位日期").fill(reported)
    record.get_by_label("资金来源地").select_option("境外")
    record.get_by_label("资金类型").select_option("其他")
    record.get_by_label("说明（更正时写明原因）").fill("首期外汇注资")
    record.get_by_role("button", name="登记", exact=True).click()
    _refused(page, record.get_by_label("到位金额（万元）"), "应为整数，不能有小数")
    expect(record.get_by_label("到位日期")).to_have_value(reported)
    expect(record.get_by_label("资金来源地")).to_have_value("境外")
    expect(record.get_by_label("资金类型")).to_have_value("其他")
    expect(record.get_by_label("说明（更正时写明原因）")).to_have_value("首期外汇注资")

    # The project's edit: 2.5 万元 agreed; the park stays.
    page.goto(f"{live_server}/projects/{project_id}/edit")
    page.get_by_label("园区").fill("白涛化工园区")
    page.get_by_label("协议投资额（万元）").fill("2.5")
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("协议投资额（万元）"), "应为整数，不能有小数")
    expect(page.get_by_label("园区")).to_have_value("白涛化工园区")

    assert _counts(live_app) == before  # nothing at all was saved

    # Fixing only the amount on the lead page signs with the date that was typed, not today's.
    page.goto(f"{live_server}/leads/{lead_id}")
    page.get_by_label("签约日期").fill(signed_on)
    page.get_by_label("协议投资额").fill("30000")
    page.get_by_role("button", name="签约").click()
    expect(page.get_by_text("已签约，项目已建立。")).to_be_visible()
    with live_app.app_context():
        signed = db.session.scalar(select(Project).where(Project.lead_id == lead_id))
        assert signed.signed_on.isoformat() == signed_on


def test_the_catalogue_editor_keeps_what_the_manager_typed(page, live_server, live_app):
    with live_app.app_context():
        entry = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "NF-AL-01"))
        version, note = entry.version, entry.note
    _login(page, live_server, "live_manager")
    page.goto(live_server + "/catalogue/NF-AL-01/edit")
    page.get_by_label("备注").fill("重点对接长三角铝加工企业")
    page.get_by_label("关键词（用逗号、顿号或换行分隔）").fill("、".join(f"词{n}" for n in range(45)))
    page.get_by_role("button", name="保存").click()
    _refused(page, page.get_by_label("关键词（用逗号、顿号或换行分隔）"), "关键词最多 40 个")
    expect(page.get_by_label("备注")).to_have_value("重点对接长三角铝加工企业")
    with live_app.app_context():
        entry = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == "NF-AL-01"))
        assert (entry.version, entry.note) == (version, note)


def test_adopting_a_suggestion_fills_the_form_in_place(page, live_server, live_app, make_enterprise):
    with live_app.app_context():
        firm_id = make_enterprise(name="采用测试铝业有限公司", products="高强高模耐蚀铝合金").id
    before = _counts(live_app)
    _login(page, live_server, "live_officer")
    page.goto(f"{live_server}/leads/new/{firm_id}")
    page.get_by_label("线索名称").fill("铝合金扩产项目")
    page.get_by_label("来源").select_option("以商招商")
    page.get_by_test_id("suggestions").get_by_role("button", name="采用").first.click()
    expect(page.get_by_label("目录条目代码（如 CH-PA-03）")).to_have_value("NF-AL-01")
    expect(page.get_by_label("意向区县")).not_to_have_value("")
    expect(page.get_by_label("线索名称")).to_have_value("铝合金扩产项目")
    expect(page.get_by_label("来源")).to_have_value("以商招商")
    assert _counts(live_app) == before
    # The code field offers every entry by code, name and synonyms as the officer types.
    expect(page.locator("#catalogue-entries option[value='CH-PA-03']")).to_have_attribute(
        "label", re.compile("PA—66")
    )


def test_the_picker_adds_catalogue_entries_to_a_field_of_several_codes(page, live_server, live_app):
    _login(page, live_server, "live_officer")
    page.goto(live_server + "/enterprises/new")
    codes = page.get_by_label("目录条目代码（多个用逗号分隔，如 CH-PA-03）")
    codes.fill("NF-AL-01")
    search = page.get_by_label("搜索并加入目录条目")
    expect(search).to_have_attribute("list", "catalogue-entries")
    # Choosing an entry from the list (the browser fills in its code) adds it to the field.
    search.fill("ch-pa-03")
    search.dispatch_event("change")
    expect(codes).to_have_value("NF-AL-01, CH-PA-03")
    expect(search).to_have_value("")
    expect(page.locator("#catalogue-entries option[value='CH-PA-03']")).to_have_attribute(
        "label", re.compile("尼龙66")
    )
