"""One search box: 1-, 2- and 3-character Chinese queries on both databases, ranked, scoped."""

import pytest

from crm.enterprises.service import add_contact
from crm.extensions import db
from crm.readmodels.search import search


@pytest.fixture
def world(make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    alu = make_enterprise(name="西南铝业有限公司", products="高强高模耐蚀铝合金板材")
    make_enterprise(name="铝业大家庭新材料有限公司", products="再生铝")
    nylon = make_enterprise(name="华峰尼龙材料有限公司", former_names="重庆尼龙厂", products="PA66 切片")
    add_contact(nylon, {"name": "钱多多", "title": "投资总监", "phone": "023-61234567"})
    make_lead(nylon, officer, title="尼龙66扩产项目", source="展会", district="涪陵区")
    make_lead(alu, officer, title="铝板新建项目", source="展会", district="长寿区")
    return officer


@pytest.mark.parametrize(
    ("query", "first", "also"),
    [
        ("铝", "铝业大家庭新材料有限公司", {"西南铝业有限公司", "铝板新建项目"}),  # 1 character
        ("铝业", "铝业大家庭新材料有限公司", {"西南铝业有限公司"}),  # 2: the name that starts with it first
        ("西南铝业", "西南铝业有限公司", set()),  # 3+: the trigram index on SQLite
        ("尼龙", "尼龙66扩产项目", {"华峰尼龙材料有限公司"}),
        ("pa66", "华峰尼龙材料有限公司", set()),  # products, normalised
        ("钱", "钱多多", set()),  # a contact, 1 character
        ("61234567", "钱多多", set()),  # a contact's phone
        ("重庆尼龙厂", "华峰尼龙材料有限公司", set()),  # a former name
    ],
)
def test_queries_of_every_length_find_and_rank(world, query, first, also):
    hits = search(query, world)
    titles = [hit.title for hit in hits]
    assert titles and titles[0] == first, titles
    assert also <= set(titles)


def test_nothing_for_nothing(world):
    assert search("", world) == [] and search("钛", world) == [] and search('"', world) == []


def test_district_users_find_only_what_they_may_see(world, make_user):
    titles = {hit.title for hit in search("项目", make_user("district", "涪陵区"))}
    assert titles == {"尼龙66扩产项目"}
    titles = {hit.title for hit in search("铝", make_user("district", "涪陵区"))}
    assert titles == set()


def test_the_search_page_and_box(client, login_as, world):
    login_as("officer")
    html = client.get("/search", query_string={"q": "尼龙"}).text
    assert 'data-testid="results"' in html and "尼龙66扩产项目" in html and "/leads/" in html
    assert 'aria-label="全局搜索"' in client.get("/").text
    assert client.get("/search?q=%25%5F%5C").status_code == 200


def test_edits_reach_the_index(world):
    from sqlalchemy import select

    from crm.enterprises.models import Enterprise
    from crm.enterprises.service import update_enterprise

    firm = db.session.scalar(select(Enterprise).where(Enterprise.name == "西南铝业有限公司"))
    update_enterprise(firm, {"name": "西南铝业集团有限公司"}, firm.version)
    db.session.commit()
    assert [hit.title for hit in search("铝业集团", world)] == ["西南铝业集团有限公司"]


@pytest.fixture
def trade(make_user, make_enterprise, make_lead):
    officer = make_user("officer")
    alu = make_enterprise(name="西南某某有限公司", products="工业型材", catalogue_codes="NF-AL-01")
    make_enterprise(name="华东某某有限公司", products="聚酰胺切片", catalogue_codes="CH-PA-03")
    make_enterprise(name="钛业某某有限公司", products="钛合金板材", catalogue_codes="NF-TI-01")
    make_lead(alu, officer, title="型材扩产项目", source="展会", catalogue_code="NF-AL-02", district="涪陵区")
    return officer


def test_a_trade_word_finds_firms_and_leads_of_its_chain(trade):
    titles = [hit.title for hit in search("铝材", trade)]
    # 铝材 is nowhere in their text: the 铝合金 chain's entries lead to them.
    assert set(titles) == {"西南某某有限公司", "型材扩产项目"}
    assert "按产业链" in search("铝材", trade)[0].detail


def test_a_clusters_name_finds_the_firms_of_the_cluster(trade):
    titles = {hit.title for hit in search("轻合金", trade)}
    assert {"西南某某有限公司", "钛业某某有限公司", "型材扩产项目"} <= titles
    assert "华东某某有限公司" not in titles


def test_other_spellings_are_found_and_literal_hits_rank_first(trade, make_enterprise):
    make_enterprise(name="尼龙66贸易有限公司", products="塑料粒子")
    titles = [hit.title for hit in search("尼龙66", trade)]
    # The name that says 尼龙66 first; the firm filed as PA—66 (聚酰胺 in its products) after it.
    assert titles[0] == "尼龙66贸易有限公司" and "华东某某有限公司" in titles


def test_trade_hits_stay_in_the_users_scope(trade, make_user):
    changshou = make_user("district", "长寿区")
    fuling = make_user("district", "涪陵区")
    assert [h.title for h in search("铝材", changshou)] == []
    assert "型材扩产项目" in [h.title for h in search("铝材", fuling)]


def test_contacts_of_the_same_name_at_two_firms_are_both_found(make_user, make_enterprise):
    officer = make_user("officer")
    for name in ("甲方材料有限公司", "乙方材料有限公司"):
        add_contact(make_enterprise(name=name), {"name": "王建国", "title": "总经理"})
    hits = [h for h in search("王建国", officer) if h.kind == "contact"]
    assert len(hits) == 2 and {h.detail.split()[0] for h in hits} == {"甲方材料有限公司", "乙方材料有限公司"}
