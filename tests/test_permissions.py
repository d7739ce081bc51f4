"""One permission mechanism: every route closed to anonymous visitors, role checks, district scope."""

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from crm import create_app
from crm.auth.models import User
from crm.auth.permissions import ScopeError, get_visible_or_404, scoped
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.places.models import District
from crm.places.service import resolve_district

# logout is walked: it too must land on login; /healthz answers probes (tests/test_health.py)
OPEN_ENDPOINTS = {"auth.login", "static", "bootstrap.static", "health.healthz"}


def _url_for_rule(rule) -> str:
    """A URL that matches the rule, with placeholder values for its arguments."""
    values = {
        arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("csrf", [False, True])
def test_every_rule_sends_anonymous_visitors_to_login(request, app, client, csrf):
    # With CSRF on, as in production, the login check must still come first for anonymous POSTs.
    if csrf:
        request.getfixturevalue("csrf_enabled")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in OPEN_ENDPOINTS:
            continue
        url = _url_for_rule(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            if url.startswith("/api/"):
                assert response.status_code == 401, (method, url)
                assert response.get_json() == {"error": "请先登录"}, (method, url)
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/login"), (method, url)
            checked += 1
    assert checked >= 10


def test_login_and_static_are_open(client):
    assert client.get("/login").status_code == 200
    for asset in ("/static/app.css", "/bootstrap/static/css/bootstrap.min.css"):
        with client.get(asset) as response:  # a file response must be closed
            assert response.status_code == 200


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        ("officer", "/admin/users", 403),
        ("manager", "/admin/users", 403),
        ("district", "/admin/users", 403),
        ("admin", "/admin/users", 200),
        ("officer", "/audit/", 403),
        ("district", "/audit/", 403),
        ("manager", "/audit/", 200),
        ("admin", "/audit/", 200),
    ],
)
def test_role_checks(client, login_as, role, url, status):
    login_as(role)
    response = client.get(url)
    assert response.status_code == status
    if status == 403:
        assert "您没有权限" in response.get_data(as_text=True)


def test_forbidden_post_changes_nothing(client, login_as, make_user):
    target = make_user("officer")
    login_as("manager")
    response = client.post(f"/admin/users/{target.id}/active")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_district_user_sees_only_their_district(make_user):
    fuling = make_user("district", "涪陵区")
    rows = db.session.scalars(scoped(select(District), District, fuling)).all()
    assert [d.name for d in rows] == ["涪陵区"]


def test_city_roles_see_every_district(make_user):
    for role in ("officer", "manager", "admin"):
        user = make_user(role)
        assert len(db.session.scalars(scoped(select(District), District, user)).all()) == 41


def test_visible_or_404_hides_other_districts(app, make_user):
    from werkzeug.exceptions import NotFound

    fuling = make_user("district", "涪陵区")
    own, other = resolve_district("涪陵区"), resolve_district("长寿区")
    with app.test_request_context():
        assert get_visible_or_404(District, own.id, fuling) is own
        with pytest.raises(NotFound):
            get_visible_or_404(District, other.id, fuling)


def test_scope_fails_loudly_for_a_model_without_district_scope(make_user):
    fuling = make_user("district", "涪陵区")
    with pytest.raises(ScopeError):
        scoped(select(User), User, fuling)


def test_scope_refuses_anonymous(app):
    from flask_login import AnonymousUserMixin

    with pytest.raises(PermissionError):
        scoped(select(District), District, AnonymousUserMixin())


def test_every_view_but_login_is_behind_the_login_check(app):
    # The check is global (before_request), so a new blueprint cannot forget it; only @public opts out.
    public = sorted(
        endpoint for endpoint, view in app.view_functions.items() if getattr(view, "_public", False)
    )
    # logout only ever ends a session; /healthz tells only whether the database is up and migrated
    assert public == ["auth.login", "auth.logout", "health.healthz"]


def test_admin_posts_need_a_csrf_token(client, login_as, make_user, csrf_enabled):
    login_as("admin")
    target = make_user("officer")
    for url, data in (
        (f"/admin/users/{target.id}/active", {}),
        (f"/admin/users/{target.id}/password", {"password": "brand-new-pw", "confirm": "brand-new-pw"}),
        (
            "/admin/users/new",
            {"username": "x_new", "role": "officer", "password": "abcdefgh12", "confirm": "abcdefgh12"},
        ),
    ):
        response = client.post(url, data=data)
        assert response.status_code == 400 and "CSRF" in response.text, url
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True
    assert db.session.scalar(select(User).where(User.username == "x_new")) is None


def test_a_lead_intending_a_district_opens_its_firm_to_that_district(
    app, make_user, make_enterprise, make_lead
):
    # The link is registered by the leads domain once, however many apps a process makes.
    create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    assert len(Enterprise.district_links) == 1
    fuling = make_user("district", "涪陵区")
    wanted = make_enterprise(name="意向涪陵有限公司", hq_province="江苏省")
    elsewhere = make_enterprise(name="意向长寿有限公司", hq_province="江苏省")
    make_lead(wanted, title="来涪陵", source="展会", district="涪陵区")
    make_lead(elsewhere, title="去长寿", source="展会", district="长寿区")
    seen = db.session.scalars(scoped(select(Enterprise), Enterprise, fuling)).all()
    assert [e.name for e in seen] == ["意向涪陵有限公司"]
