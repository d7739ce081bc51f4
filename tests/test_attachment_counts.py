"""The map's node counts: enterprises, leads and projects per catalogue entry, rolled up, and scoped."""

from datetime import date

import pytest

from crm.readmodels.attachments import attachment_counts


@pytest.fixture
def world(make_enterprise, make_lead, make_project):
    """One PA66 firm (CH-PA-03) with a lead intended for 涪陵区 and a project in 长寿区."""
    firm = make_enterprise(name="某某尼龙材料有限公司", kind="target", catalogue_codes="CH-PA-03")
    make_lead(firm, title="尼龙66 扩产", source="以商招商", catalogue_code="CH-PA-03", district="涪陵区")
    make_project(
        name="尼龙66 项目",
        enterprise=firm,
        district="长寿区",
        catalogue_code="CH-PA-03",
        agreed_investment_wan=50_000,
        signed_on=date(2026, 11, 2),
    )


def test_counts_roll_up_from_entries_to_chains_and_sectors(world, make_user):
    manager = make_user("manager")
    counts = attachment_counts(manager)
    for node in ("CH-PA-03", "CH-PA", "CH"):
        assert counts[node] == {"enterprises": 1, "leads": 1, "projects": 1}, node
    assert counts["CH-PA-01"] == {"enterprises": 0, "leads": 0, "projects": 0}


def test_a_district_user_counts_only_what_they_see(world, make_user):
    assert attachment_counts(make_user("district", "涪陵区"))["CH-PA-03"] == {
        "enterprises": 1,
        "leads": 1,
        "projects": 0,
    }
    assert attachment_counts(make_user("district", "长寿区"))["CH-PA-03"] == {
        "enterprises": 0,
        "leads": 0,
        "projects": 1,
    }


def test_the_map_page_shows_the_counts(world, client, login_as):
    login_as("manager")
    html = client.get("/map").get_data(as_text=True)
    assert "1 / 1 / 1" in html
