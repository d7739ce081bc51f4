"""Bad input anywhere gets a Chinese answer, never a 500, and changes nothing."""

import pytest
from sqlalchemy import func, select

from crm.auth.models import User
from crm.config import CHEAP_PASSWORD_HASHING
from crm.extensions import db
from tests.conftest import PASSWORD

ODD_QUERIES = [
    "page=%C2%B2",
    "per_page=%C2%B9",
    "page=99999999999999999999",
    "page=9223372036854775807",
    "per_page=2&page=4611686018427387904",
    "endpoint=x",
    "_method=POST",
    "_external=1&_scheme=javascript&_anchor=x",
    "q=%25",
    "q=_",
    "q=%ff%fe",
    "role=%ff&status=%ff",
    "row_id=" + "9" * 80,
    "action=<script>",
    "page=abc",
    "page=-3",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
@pytest.mark.parametrize("path", ["/admin/users", "/audit/"])
def test_odd_query_strings_never_fail(client, login_as, make_user, path, query):
    login_as("admin")
    for _ in range(3):
        make_user("officer")
    response = client.get(f"{path}?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, (path, query)
    assert "javascript:" not in html and "<script>" not in html


def test_pager_links_keep_filters_but_not_url_for_arguments(client, login_as, make_user):
    login_as("admin")
    for _ in range(5):
        make_user("officer")
    html = client.get("/admin/users?per_page=2&endpoint=x&_external=1").get_data(as_text=True)
    assert 'href="/admin/users?per_page=2&amp;endpoint=x&amp;_external=1&amp;page=2"' in html


def test_like_wildcards_are_literal(client, login_as, make_user):
    login_as("admin")
    make_user("officer", username="wang_li")
    make_user("officer", username="wangli")
    html = client.get("/admin/users?q=g_l").get_data(as_text=True)
    assert ">wang_li</a>" in html and ">wangli</a>" not in html


@pytest.mark.parametrize("user_id", ["2147483648", "99999999999999999999", "0", "-1"])
def test_out_of_range_ids_are_404(client, login_as, user_id):
    login_as("admin")
    response = client.get(f"/admin/users/{user_id}")
    assert response.status_code == 404 and "不存在" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("post", "/login", {"username": "admin1\x00", "password": PASSWORD}),
        ("post", "/login", {"username": "a", "password": "a\x00b"}),
        ("get", "/login?next=%00", None),
        ("get", "/admin/users?q=%00", None),
        ("get", "/audit/?row_id=%00", None),
        ("get", "/audit/?actor=%00", None),
        (
            "post",
            "/admin/users/new",
            {
                "username": "ok_name",
                "display_name": "名\x00字",
                "role": "officer",
                "password": "abcdefgh12",
                "confirm": "abcdefgh12",
            },
        ),
    ],
)
def test_nul_bytes_are_refused_in_chinese(client, login_as, method, url, data):
    login_as("admin")
    before = db.session.scalar(select(func.count()).select_from(User))
    response = getattr(client, method)(url, data=data)
    assert response.status_code == 400
    assert "无效的控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_nul_in_api_json_is_refused(client, login_as):
    login_as("officer")
    response = client.post("/api/v1/me", json={"name": "a\x00b"})
    assert response.status_code == 400 and "无效的控制字符" in response.get_json()["error"]


def test_huge_login_fields_do_not_fail(client, make_user):
    user = make_user("officer")
    response = client.post("/login", data={"username": "x" * 100_000, "password": "y"})
    assert response.status_code == 200 and "请输入" not in response.text
    response = client.post("/login", data={"username": user.username, "password": "y" * 100_000})
    assert response.status_code == 200
    assert "用户名或密码错误" in response.text or "长度" in response.text


@pytest.mark.parametrize(
    "body",
    [
        (b"username=%ff%fe&password=%ff", "application/x-www-form-urlencoded"),
        (b"garbage", "multipart/form-data"),
        (b"--x\r\ngarbage", "multipart/form-data; boundary=x"),
    ],
)
def test_malformed_bodies_do_not_fail(client, body):
    data, content_type = body
    response = client.post("/login", data=data, content_type=content_type)
    assert response.status_code in (200, 400)
    assert '<html lang="zh-CN">' in response.text


def test_anonymous_logout_does_not_poison_the_next_login(client, make_user):
    user = make_user("officer")
    response = client.get("/logout")
    assert response.headers["Location"] == "/login"
    response = client.post("/login?next=/logout", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_database_failure_is_a_chinese_500_page(tmp_path):
    from flask_migrate import upgrade

    from crm import create_app
    from crm.auth.service import create_user
    from tests.conftest import IsolatedClient

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/broken.db",
            "WTF_CSRF_ENABLED": False,
            **CHEAP_PASSWORD_HASHING,
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
        create_user("victim", PASSWORD, "officer")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"username": "victim", "password": PASSWORD})
    with app.app_context():
        db.session.execute(db.text("ALTER TABLE users RENAME TO users_gone"))
        db.session.commit()
        db.engine.dispose()
    response = client.get("/")
    assert response.status_code == 500
    assert "服务器内部错误" in response.text and '<html lang="zh-CN">' in response.text
