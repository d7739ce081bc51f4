"""The page frame: Chinese, navigation by role, flash messages, pagination, local assets, errors."""

import re

import pytest

from crm.audit.models import AuditLog
from crm.core.timeutil import format_local
from crm.extensions import db


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("officer", ["首页"], ["用户管理", "审计日志"]),
        ("district", ["首页"], ["用户管理", "审计日志"]),
        ("manager", ["首页", "审计日志"], ["用户管理"]),
        ("admin", ["首页", "审计日志", "用户管理"], []),
    ],
)
def test_navigation_by_role(client, login_as, role, visible, hidden):
    login_as(role)
    nav = client.get("/").get_data(as_text=True).split('aria-label="主导航"')[1].split("</nav>")[0]
    for label in visible:
        assert f">{label}</a>" in nav, label
    for label in hidden:
        assert f">{label}</a>" not in nav, label


def test_pages_use_only_local_assets(client, login_as):
    login_as("admin")
    for url in ("/", "/admin/users", "/audit/", "/admin/users/new"):
        html = client.get(url).get_data(as_text=True)
        assert '<html lang="zh-CN">' in html
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert ref.startswith("/") or ref.startswith("#"), (url, ref)
        for asset in re.findall(r'(?:src|href)="(/(?:static|bootstrap)/[^"]+)"', html):
            with client.get(asset) as response:  # a file response must be closed
                assert response.status_code == 200, asset


def test_district_user_sees_their_district_in_the_frame(client, login_as):
    login_as("district", "两江新区")
    assert "两江新区" in client.get("/").get_data(as_text=True)


def test_flash_message_after_login(client, make_user):
    from tests.conftest import PASSWORD

    user = make_user("officer", display_name="刘专员")
    html = client.post(
        "/login", data={"username": user.username, "password": PASSWORD}, follow_redirects=True
    ).get_data(as_text=True)
    assert 'class="alert alert-success' in html and "欢迎，刘专员" in html


def test_pagination_helper(client, login_as, make_user):
    login_as("admin")
    for i in range(30):
        make_user("officer", username=f"p{i:02d}")
    first = client.get("/admin/users?role=officer&per_page=10").get_data(as_text=True)
    assert "共 30 条，第 1 / 3 页" in first
    assert 'href="/admin/users?role=officer&amp;per_page=10&amp;page=2"' in first
    third = client.get("/admin/users?role=officer&per_page=10&page=3").get_data(as_text=True)
    assert "p29" in third and "p00" not in third
    for bad in ("abc", "-1", "0"):
        assert "第 1 / 3 页" in client.get(f"/admin/users?role=officer&per_page=10&page={bad}").get_data(
            as_text=True
        )


def test_times_are_shown_in_shanghai(client, login_as):
    login_as("manager")
    entry = db.session.query(AuditLog).order_by(AuditLog.id.desc()).first()
    shown = format_local(entry.created_at, "%Y-%m-%d %H:%M:%S")
    # The newest entry is the login itself, shown on the audit log's tab of logins.
    assert shown in client.get("/audit/?kind=access").get_data(as_text=True)
    from datetime import UTC, datetime

    assert format_local(datetime(2026, 1, 1, 16, 30, tzinfo=UTC)) == "2026-01-02 00:30"
    assert format_local(datetime(2026, 1, 1, 16, 30)) == "2026-01-02 00:30"


def test_unknown_page_is_a_chinese_404(client, login_as):
    login_as("officer")
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "您访问的页面或数据不存在" in response.get_data(as_text=True)


def test_unexpected_error_is_a_chinese_500(tmp_path):
    from crm import create_app
    from crm.auth.permissions import public

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})

    @app.route("/boom")
    @public
    def boom():
        raise RuntimeError("boom")

    @app.route("/api/v1/boom")
    @public
    def api_boom():
        raise RuntimeError("boom")

    with app.test_client() as client:
        response = client.get("/boom")
        assert response.status_code == 500 and "服务器内部错误" in response.get_data(as_text=True)
        response = client.get("/api/v1/boom")
        assert response.status_code == 500 and "服务器内部错误" in response.get_json()["error"]


def test_security_headers(client):
    headers = client.get("/login").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
