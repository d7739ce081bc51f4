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
