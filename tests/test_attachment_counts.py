"""The map's node counts: enterprises, leads and projects per catalogue entry, rolled up, and scoped."""

from datetime import date

from sqlalchemy import select

from crm.enterprises.models import Enterprise
from crm.enterprises.names import name_key
from crm.extensions import db
from crm.industry.models import CatalogueEntry
from crm.leads.models import Lead
from crm.places.service import resolve_district
from crm.projects.models import Project
from crm.readmodels.attachments import attachment_counts


def _entry(code):
    return db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.code == code))


def _world(make_user):
    officer = make_user("officer")
    pa66 = _entry("CH-PA-03")
    firm = Enterprise(kind="target", name="某某尼龙材料有限公司", name_key=name_key("某某尼龙材料有限公司"))
    firm.catalogue_entries = [pa66]
    db.session.add(firm)
    db.session.flush()
    db.session.add(
        Lead(
            enterprise=firm,
            title="尼龙66 扩产",
            source="以商招商",
            owner=officer,
            catalogue_entry=pa66,
            intended_district=resolve_district("涪陵区"),
            stage="线索",
        )
    )
    db.session.add(
        Project(
            name="尼龙66 项目",
            enterprise=firm,
            district=resolve_district("长寿区"),
            catalogue_entry=pa66,
            agreed_investment_wan=50_000,
            signed_on=date(2026, 11, 2),
        )
    )
    db.session.commit()


def test_counts_roll_up_from_entries_to_chains_and_sectors(make_user):
    _world(make_user)
    manager = make_user("manager")
    counts = attachment_counts(manager)
    for node in ("CH-PA-03", "CH-PA", "CH"):
        assert counts[node] == {"enterprises": 1, "leads": 1, "projects": 1}, node
    assert counts["CH-PA-01"] == {"enterprises": 0, "leads": 0, "projects": 0}


def test_a_district_user_counts_only_what_they_see(make_user):
    _world(make_user)
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


def test_the_map_page_shows_the_counts(client, login_as, make_user):
    _world(make_user)
    login_as("manager")
    html = client.get("/map").get_data(as_text=True)
    assert "1 / 1 / 1" in html
