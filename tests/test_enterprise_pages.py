"""Enterprise pages: officers create and edit (meeting the duplicate warning), district scope holds."""

from datetime import date

from sqlalchemy import func, select

from crm.core.timeutil import format_wan
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.leads.models import Lead
from crm.places.service import resolve_district


def _form(**overrides):
    data = {
        "name": "华峰化工有限公司",
        "kind": "target",
        "ownership": "民营",
        "revenue_wan": "520000",
        "honours": ["链主"],
        "products": "己二酸",
        "catalogue_codes": "CH-PA-01",
    }
    data.update(overrides)
    return data


def _count():
    return db.session.scalar(select(func.count()).select_from(Enterprise))


def test_officer_creates_an_enterprise(client, login_as):
    login_as("officer")
    response = client.post("/enterprises/new", data=_form())
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建企业“华峰化工有限公司”" in html and "五十亿级" in html and "52.00 亿元" in html
    assert "CH-PA-01" in html and "链主" in html


def test_duplicate_warning_then_confirmed_creation(client, login_as):
    login_as("officer")
    client.post("/enterprises/new", data=_form())
    html = client.post("/enterprises/new", data=_form(name="重庆华峰化工股份有限公司")).get_data(as_text=True)
    assert 'data-testid="duplicate-warning"' in html and "华峰化工有限公司" in html
    assert _count() == 1
    response = client.post(
        "/enterprises/new", data=_form(name="重庆华峰化工股份有限公司", confirm_duplicate="y")
    )
    assert response.status_code == 302 and _count() == 2


def test_bad_input_on_the_page_is_chinese_and_writes_nothing(client, login_as):
    login_as("officer")
    for data, message in (
        (_form(credit_code="91440300192203821X"), "校验位不符"),
        (_form(revenue_wan="-3"), "不小于 0"),
        (_form(kind="local", district=""), "须填写所在区县"),
        (_form(name="<script>alert(1)</script>"), None),  # a valid name, shown escaped
    ):
        response = client.post("/enterprises/new", data=data)
        html = response.get_data(as_text=True)
        if message:
            assert message in html and _count() == 0, message
        else:
            assert "<script>alert(1)</script>" not in client.get("/enterprises/").get_data(as_text=True)


def test_edit_with_a_stale_version_is_refused(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name="甲材料有限公司")
    assert (
        client.post(
            f"/enterprises/{firm.id}/edit", data=_form(name="甲材料有限公司", products="铝板", version=1)
        ).status_code
        == 302
    )
    html = client.post(
        f"/enterprises/{firm.id}/edit", data=_form(name="甲材料有限公司", products="铜箔", version=1)
    ).text
    assert "已被他人修改" in html
    db.session.expire_all()
    assert db.session.get(Enterprise, firm.id).products == "铝板"


def test_contacts_are_added_on_the_page(client, login_as, make_enterprise):
    login_as("officer")
    firm = make_enterprise(name="甲材料有限公司")
    client.post(
        f"/enterprises/{firm.id}/contacts", data={"name": "王总", "title": "董事长", "phone": "13800000000"}
    )
    html = client.get(f"/enterprises/{firm.id}").text
    assert "王总（董事长）" in html and "已添加联系人" in html
    html = client.post(
        f"/enterprises/{firm.id}/contacts", data={"name": "李", "phone": "打电话"}, follow_redirects=True
    ).text
    assert "电话“打电话”格式不正确" in html


def test_district_users_see_only_firms_of_their_district(client, login_as, make_user, make_enterprise):
    officer = make_user("officer")
    near = make_enterprise(name="涪陵本地材料有限公司", kind="local", district="涪陵区")
    wanted = make_enterprise(name="外地目标企业有限公司")
    other = make_enterprise(name="长寿某企业有限公司", kind="local", district="长寿区")
    db.session.add(
        Lead(
            enterprise=wanted,
            title="落户涪陵",
            source="展会",
            owner=officer,
            intended_district=resolve_district("涪陵区"),
            stage="线索",
            next_follow_up_on=date(2026, 12, 1),
        )
    )
    db.session.commit()
    login_as("district", "涪陵区")
    listing = client.get("/enterprises/").text
    assert near.name in listing and wanted.name in listing and other.name not in listing
    assert client.get(f"/enterprises/{other.id}").status_code == 404
    assert client.get(f"/enterprises/{near.id}").status_code == 200
    assert client.get("/enterprises/new").status_code == 403
    assert client.post(f"/enterprises/{near.id}/contacts", data={"name": "x"}).status_code == 403


def test_money_is_shown_in_yi_from_one_yi_up():
    assert format_wan(9_999) == "9,999 万元"
    assert format_wan(10_000) == "1.00 亿元"
    assert format_wan(1_234_567) == "123.46 亿元"
