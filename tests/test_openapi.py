"""/api/v1/openapi.json: an OpenAPI 3 description generated from the code, held to the real routes
(every method of every /api/v1/ rule described, nothing described that the app lacks) and to what
the API really returns (each schema names exactly the keys of the JSON it describes)."""

import re
from datetime import timedelta

from crm import create_app
from crm.api.openapi import build_spec
from crm.auth.tokens import create_token
from crm.core.timeutil import today_local
from crm.extensions import db
from crm.inbox.service import post

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask adds them to every rule


def _routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every rule under /api/v1/ in the app's url_map."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(path, method.lower()) for method in rule.methods - IGNORED_METHODS}
    return found


def _described(spec: dict) -> set[tuple[str, str]]:
    return {
        (path, method) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS
    }


def _spec(client, make_user) -> dict:
    token = create_token(make_user("officer"), "接口文档").secret
    db.session.commit()
    response = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(spec: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_the_description_is_openapi_3_with_both_ways_in(client, make_user):
    spec = _spec(client, make_user)
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    assert "Bearer" in spec["info"]["description"]
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["cookieSession"]["type"] == "apiKey" and schemes["cookieSession"]["in"] == "cookie"
    assert {"bearerAuth": []} in spec["security"] and {"cookieSession": []} in spec["security"]
    for path, item in spec["paths"].items():
        assert path.startswith("/api/v1/")
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            assert operation["summary"] and operation["responses"], (path, method)
            assert "401" in operation["responses"]
            assert all(re.fullmatch(r"[1-5][0-9]{2}", code) for code in operation["responses"])
    operation_ids = [
        op["operationId"] for item in spec["paths"].values() for m, op in item.items() if m in HTTP_METHODS
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_route_is_described_and_nothing_else(app, client, make_user):
    spec = _spec(client, make_user)
    routes = _routes(app)
    assert ("/api/v1/me", "get") in routes and ("/api/v1/leads/{lead_id}", "patch") in routes
    assert _described(spec) == routes


def test_path_parameters_match_the_urls(client, make_user):
    spec = _spec(client, make_user)
    for path, item in spec["paths"].items():
        named = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p.get("in") == "path"}
        assert declared == named, path
        assert all(p["schema"]["type"] == "integer" for p in item.get("parameters", []) if p["in"] == "path")


def test_every_reference_resolves(client, make_user):
    spec = _spec(client, make_user)
    refs = set(_refs(spec))
    assert "#/components/schemas/Enterprise" in refs
    for ref in refs:
        assert isinstance(_resolve(spec, ref), dict), ref


def test_writes_document_the_csrf_header_and_403(client, make_user):
    spec = _spec(client, make_user)
    for item in spec["paths"].values():
        for method in {"post", "put", "patch", "delete"} & set(item):
            operation = item[method]
            assert {"$ref": "#/components/parameters/CsrfToken"} in operation["parameters"]
            assert "403" in operation["responses"]


def test_the_check_catches_an_undescribed_route_and_a_described_method_the_app_lacks():
    probe = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})

    def undocumented():
        """A route someone forgot to describe."""
        return ""

    def wrong_method():
        """Describes a method the route does not have.
        ---
        delete:
          summary: 删除
          responses: {"204": {description: 已删除}}
        """
        return ""

    probe.add_url_rule("/api/v1/probe", endpoint="api.probe", view_func=undocumented)
    probe.add_url_rule("/api/v1/wrong/<int:item_id>", endpoint="api.wrong", view_func=wrong_method)
    with probe.app_context():
        spec = build_spec(probe).to_dict()
    missing, extra = _routes(probe) - _described(spec), _described(spec) - _routes(probe)
    assert missing == {("/api/v1/probe", "get"), ("/api/v1/wrong/{item_id}", "get")}
    assert extra == {("/api/v1/wrong/{item_id}", "delete")}


def test_the_description_needs_a_login(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 401 and response.get_json() == {"error": "请先登录"}


def _properties(spec: dict, name: str) -> set[str]:
    schema = spec["components"]["schemas"][name]
    if "allOf" in schema:
        found = set()
        for part in schema["allOf"]:
            part = _resolve(spec, part["$ref"]) if "$ref" in part else part
            found |= set(part["properties"])
        return found
    return set(schema["properties"])


def test_the_schemas_name_exactly_what_the_api_returns(
    client, login_as, make_enterprise, make_lead, make_project, make_user
):
    user = login_as("officer")
    spec = client.get("/api/v1/openapi.json").get_json()
    enterprise = make_enterprise(credit_code=None)
    lead = make_lead(enterprise=enterprise, owner=user)
    project = make_project(enterprise=enterprise)

    me = client.get("/api/v1/me").get_json()
    assert set(me) <= _properties(spec, "Me") and set(me["user"]) == _properties(spec, "User")
    assert set(client.get("/api/v1/").get_json()) == _properties(spec, "Index")

    page = client.get("/api/v1/enterprises").get_json()
    assert set(page) == _properties(spec, "EnterprisePage")
    assert set(page["items"][0]) == _properties(spec, "Enterprise")
    assert set(client.get("/api/v1/leads").get_json()["items"][0]) == _properties(spec, "Lead")
    follow_up = client.post(f"/api/v1/leads/{lead.id}/follow-ups", json={"kind": "电话", "notes": "初次电话"})
    assert follow_up.status_code == 201
    assert set(follow_up.get_json()) == _properties(spec, "FollowUp")

    assert set(client.get("/api/v1/projects").get_json()["items"][0]) == _properties(spec, "Project")
    update = client.post(f"/api/v1/projects/{project.id}/updates", json={"note": "完成土地摘牌"})
    assert update.status_code == 201, update.get_json()
    assert set(update.get_json()) == _properties(spec, "ProjectUpdateCreated")
    detail = client.get(f"/api/v1/projects/{project.id}").get_json()
    assert set(detail) == _properties(spec, "ProjectDetail")
    assert set(detail["updates"][0]) == _properties(spec, "ProjectUpdate")
    entry = client.post(
        f"/api/v1/projects/{project.id}/funds",
        json={
            "amount_wan": 100,
            "arrived_on": str(project.signed_on),
            "source_region": "境外",
            "kind": "其他",
        },
    )
    assert entry.status_code == 201, entry.get_json()
    assert set(entry.get_json()) == _properties(spec, "FundEntry")
    listed = client.get(f"/api/v1/projects/{project.id}/funds").get_json()
    assert set(listed) == _properties(spec, "FundEntryList")
    assert set(listed["items"][0]) == _properties(spec, "FundEntry")

    deadline = (today_local() + timedelta(days=5)).isoformat()
    raised = client.post(
        f"/api/v1/projects/{project.id}/items",
        json={
            "description": "需协调施工用电增容",
            "category": "用能",
            "deadline": deadline,
            "responsible": "涪陵区",
        },
    )
    assert raised.status_code == 201, raised.get_json()
    assert set(raised.get_json()) == _properties(spec, "ItemDetail")
    items = client.get("/api/v1/items").get_json()
    assert set(items) == _properties(spec, "ItemPage") and set(items["items"][0]) == _properties(spec, "Item")
    reply = client.post(f"/api/v1/items/{raised.get_json()['id']}/replies", json={"body": "已对接供电公司"})
    assert reply.status_code == 201 and set(reply.get_json()) == _properties(spec, "ItemReply")
    post([user], "reply", "测试通知", "/items", "schema:test")
    db.session.commit()
    notes = client.get("/api/v1/notifications").get_json()
    assert set(notes) == _properties(spec, "NotificationList")
    assert set(notes["items"][0]) == _properties(spec, "Notification")
    read = client.post("/api/v1/notifications/read", json={"all": True})
    assert read.status_code == 200 and set(read.get_json()) == _properties(spec, "NotificationRead")

    # The enumerations come from the code: every stage a lead can be in is listed.
    lead_stages = spec["components"]["schemas"]["Lead"]["properties"]["stage"]["enum"]
    assert "线索" in lead_stages and "签约" in lead_stages

    token = create_token(make_user("manager"), "schema").secret
    db.session.commit()
    with_token = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert set(with_token) <= _properties(spec, "Me")
    assert set(with_token["token"]) == set(
        spec["components"]["schemas"]["Me"]["properties"]["token"]["properties"]
    )
