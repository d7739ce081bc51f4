"""/api/v1/enterprises: same rules and permissions as the pages, Chinese JSON errors."""

from sqlalchemy import func, select

from crm.enterprises.models import Enterprise
from crm.extensions import db


def _count():
    return db.session.scalar(select(func.count()).select_from(Enterprise))


def test_list_shape_search_and_paging(client, login_as, make_enterprise):
    login_as("officer")
    for i in range(3):
        make_enterprise(name=f"测试材料{i}号有限公司", products="PA66 切片" if i == 1 else "铝板")
    data = client.get("/api/v1/enterprises?per_page=2").get_json()
    assert set(data) == {"items", "page", "per_page", "total"}
    assert (data["page"], data["per_page"], data["total"], len(data["items"])) == (1, 2, 3, 2)
    assert {"id", "name", "credit_code", "products"} <= set(data["items"][0])
    found = client.get("/api/v1/enterprises", query_string={"q": "pa66"}).get_json()
    assert [e["name"] for e in found["items"]] == ["测试材料1号有限公司"]


def test_create_read_update(client, login_as):
    login_as("officer")
    response = client.post(
        "/api/v1/enterprises", json={"name": "华峰化工有限公司", "credit_code": "914403001922038216"}
    )
    assert response.status_code == 201
    created = response.get_json()
    assert (
        client.get(f"/api/v1/enterprises/{created['id']}").get_json()["credit_code"] == "914403001922038216"
    )
    response = client.patch(f"/api/v1/enterprises/{created['id']}", json={"products": "己二酸", "version": 1})
    assert response.status_code == 200 and response.get_json()["products"] == "己二酸"
    assert response.get_json()["name"] == "华峰化工有限公司"  # PATCH keeps what it did not send
    stale = client.patch(f"/api/v1/enterprises/{created['id']}", json={"products": "PET", "version": 1})
    assert stale.status_code == 409 and "已被他人修改" in stale.get_json()["error"]


def test_duplicates_and_bad_input_are_chinese_json_and_write_nothing(client, login_as):
    login_as("officer")
    client.post("/api/v1/enterprises", json={"name": "华峰化工有限公司"})
    response = client.post("/api/v1/enterprises", json={"name": "重庆华峰化工股份有限公司"})
    assert response.status_code == 409 and response.get_json()["duplicates"][0]["name"] == "华峰化工有限公司"
    for body, message in (
        ({"name": "某公司", "credit_code": "91440300192203821X"}, "校验位不符"),
        ({"name": "某公司", "revenue_wan": -1}, "不能为负数"),
        ({"name": "某公司", "revenue_wan": "很多"}, "应为不小于 0 的数字"),
        ({"name": ""}, "请填写企业名称"),
        ([1, 2], "请求体应为 JSON 对象"),
    ):
        response = client.post("/api/v1/enterprises", json=body)
        assert response.status_code == 400 and message in response.get_json()["error"], body
    response = client.post("/api/v1/enterprises", data="not json", content_type="text/plain")
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert _count() == 1


def test_district_users_read_only_their_scope_and_cannot_write(client, login_as, make_enterprise):
    other = make_enterprise(name="长寿某企业有限公司", kind="local", district="长寿区")
    login_as("district", "涪陵区")
    assert client.get("/api/v1/enterprises").get_json()["total"] == 0
    assert client.get(f"/api/v1/enterprises/{other.id}").status_code == 404
    response = client.post("/api/v1/enterprises", json={"name": "新公司"})
    assert response.status_code == 403 and response.get_json() == {
        "error": "您没有权限访问此页面或执行此操作。"
    }
    assert client.patch(f"/api/v1/enterprises/{other.id}", json={"version": 1}).status_code == 403
