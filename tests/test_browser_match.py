"""Real-browser journey of issue 18: an officer corrects a firm's empty match in the browser, `flask
match learn` proposes the word, a manager accepts it on 匹配学习, and the firm's page then matches
the entry the officer chose."""

from playwright.sync_api import expect

from crm.extensions import db
from crm.readmodels.models import MatchFeedback
from tests.conftest import PASSWORD
from tests.helpers import browser_login


def _login(page, server: str, username: str) -> None:
    browser_login(page, server, username, PASSWORD)


def test_a_correction_in_the_browser_is_learnt_accepted_and_changes_the_match(
    page, live_server, live_app, make_enterprise
):
    with live_app.app_context():
        firm = make_enterprise(name="浏览器鑫晟材料有限公司", products="鑫晟甲型料、鑫晟乙型料")
        firm_id = firm.id
    _login(page, live_server, "live_officer")
    page.goto(f"{live_server}/enterprises/{firm_id}")
    matches = page.get_by_test_id("matches")
    expect(matches.get_by_test_id("no-match")).to_contain_text("没有已知的产品用语")
    matches.get_by_label("指定该企业对应的目录条目").fill("NF-TI-01")
    matches.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("match-feedback")).to_contain_text("更正")
    expect(page.get_by_test_id("match-feedback")).to_contain_text("NF-TI-01")
    with live_app.app_context():
        kept = db.session.query(MatchFeedback).filter_by(enterprise_id=firm_id).one()
        assert kept.chosen_code == "NF-TI-01" and kept.created_by.username == "live_officer"

    result = live_app.test_cli_runner().invoke(args=["match", "learn"])
    assert result.exit_code == 0, result.output
    assert "“鑫晟甲型料” → NF-TI-01" in result.output

    _login(page, live_server, "live_manager")
    page.goto(f"{live_server}/catalogue/learning")
    row = page.get_by_test_id("proposals").locator("tr", has_text="鑫晟甲型料")
    expect(row).to_contain_text("浏览器鑫晟材料有限公司")
    row.get_by_role("button", name="采纳").click()
    expect(page.get_by_test_id("decided")).to_contain_text("鑫晟甲型料")
    page.goto(f"{live_server}/enterprises/{firm_id}")
    first = page.get_by_test_id("matches").locator("ol li").first
    expect(first).to_contain_text("NF-TI-01")
    expect(page.get_by_test_id("matches")).to_contain_text("轻合金材料产业集群")
