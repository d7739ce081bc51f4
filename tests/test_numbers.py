"""Every number equals its list: each figure on the dashboard and the project overview links to a
list, and that list — with the same filter, saying what it leaves out — totals to the same number."""

import html
import re
from datetime import timedelta

from crm.core.timeutil import today_local
from crm.extensions import db
from crm.projects.funds import add_entry
from crm.projects.service import add_update

LINK = re.compile(r'<a href="([^"]+)"([^>]*\bdata-count="(\d+)"[^>]*)>')
FUNDS_LINK = re.compile(r'<a href="([^"]+)" data-funds="(\d+)"')


def _world(make_enterprise, make_lead, make_project, make_user):
    """Projects in two clusters and districts, one started, one producing, one terminated; leads in
    several stages."""
    today = today_local()
    reporter = make_user("manager")
    firm = make_enterprise(name="数字核对材料有限公司")
    made = {}
    for name, code, district in (
        ("铝合金一期", "NF-AL-01", "涪陵区"),
        ("铝合金二期", "NF-AL-01", "长寿区"),
        ("尼龙项目", "CH-PA-03", "长寿区"),
        ("终止项目", "CH-PA-03", "涪陵区"),
    ):
        made[name] = make_project(
            name=name,
            enterprise=firm,
            district=district,
            catalogue_code=code,
            signed_on=today - timedelta(days=90),
        )
    for name, stage in (("铝合金一期", "开工"), ("尼龙项目", "投产"), ("终止项目", "终止")):
        values = {
            "stage_reached": stage,
            "stage_reached_on": (today - timedelta(days=5)).isoformat(),
            "note": "进展",
        }
        if stage == "终止":
            values["termination_reason"] = "合同解除"
        add_update(made[name], values, reporter)
        entry = {"amount_wan": 1200, "arrived_on": today.isoformat(), "source_region": "境外", "kind": "其他"}
        add_entry(made[name], entry, reporter)
    db.session.commit()
    for title in ("线索甲", "线索乙"):
        make_lead(firm, title=title, source="展会")


def _follow(client, page_html: str) -> int:
    """Follow every counted link of a page; returns how many were checked."""
    checked = 0
    for href, attrs, count in LINK.findall(page_html):
        listing = client.get(html.unescape(href)).text
        if "/projects/" in href:
            totals = re.search(r'data-testid="totals" data-count="(\d+)" data-agreed="(\d+)"', listing)
            assert totals.group(1) == count, (href, count, totals.group(1))
            agreed = re.search(r'data-agreed="(\d+)"', attrs)
            if agreed:
                assert totals.group(2) == agreed.group(1), (href, agreed.group(1), totals.group(2))
        else:
            total = re.search(r'data-testid="list-total" data-count="(\d+)"', listing)
            assert total.group(1) == count, (href, count, total.group(1))
        checked += 1
    for href, funds in FUNDS_LINK.findall(page_html):
        listing = client.get(html.unescape(href)).text
        shown = re.search(r'data-testid="funds-total" data-funds="(\d+)"', listing)
        assert shown.group(1) == funds, (href, funds, shown.group(1))
        checked += 1
    return checked


def test_every_dashboard_number_opens_a_list_with_the_same_total(
    client, login_as, make_enterprise, make_lead, make_project, make_user
):
    _world(make_enterprise, make_lead, make_project, make_user)
    login_as("manager")
    page = client.get("/dashboard").text
    assert _follow(client, page) >= 7 + 3 + 2  # the funnel's stages, two clusters, the total, funds, 亿元以上
    assert 'data-funds="3600" data-testid="funds-total"' in page  # three arrivals, the terminated one's too
    # The dashboard counts live projects; its list says so and the terminated one is left out.
    total = re.search(r'合计（不重复计算，不含终止）：<a href="([^"]+)" data-count="(\d+)"', page)
    assert total.group(2) == "3"
    listing = client.get(html.unescape(total.group(1))).text
    assert "不含已终止的项目" in listing and "终止项目" not in listing and "铝合金二期" in listing


def test_every_overview_number_opens_a_list_with_the_same_total(
    client, login_as, make_enterprise, make_lead, make_project, make_user
):
    _world(make_enterprise, make_lead, make_project, make_user)
    login_as("manager")
    page = client.get("/projects/overview").text
    assert _follow(client, page) >= 3 * 2 + 3 * 2  # signed, started, producing per district and cluster
    started = re.search(r'<a href="([^"]+reached=[^"]+)" data-count="1"', page)
    listing = client.get(html.unescape(started.group(1))).text
    assert "仅含已达到“开工”及之后阶段的项目（不含已终止）" in listing


def test_a_district_users_numbers_are_their_own(
    client, login_as, make_enterprise, make_lead, make_project, make_user
):
    _world(make_enterprise, make_lead, make_project, make_user)
    login_as("district", "长寿区")
    page = client.get("/projects/overview").text
    assert _follow(client, page) >= 3
    assert "涪陵区" not in page.split('data-testid="rates-district"')[1].split("</table>")[0]
