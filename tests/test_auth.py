"""Login, logout, sessions and CSRF, all in Chinese."""

import re

from crm.auth.models import User
from crm.auth.service import reset_password, set_active
from crm.extensions import db
from tests.conftest import PASSWORD


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def test_login_page_is_chinese(client):
    response = client.get("/login")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "用户名" in html and "密码" in html and "登录" in html


def test_wrong_password_shows_chinese_error_and_no_session(client, make_user):
    user = make_user("officer")
    response = client.post("/login", data={"username": user.username, "password": "wrong-password"})
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client):
    response = client.post("/login", data={"username": "nobody", "password": "whatever-1"})
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_empty_login_form_gets_chinese_messages(client):
    html = client.post("/login", data={}).get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html


def test_login_then_home_then_logout(client, make_user):
    user = make_user("manager", display_name="王处长")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "王处长" in home and "处室负责人" in home
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "您已安全退出登录" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_logout_by_get_also_ends_the_session(client, login_as):
    login_as("officer")
    client.get("/logout")
    assert client.get("/").headers["Location"].startswith("/login")


def test_username_is_case_insensitive(client, make_user):
    make_user("officer", username="Officer7")
    response = client.post("/login", data={"username": "  officer7 ", "password": PASSWORD})
    assert response.status_code == 302


def test_next_goes_back_to_the_page_asked_for(client, make_user):
    user = make_user("admin")
    assert client.get("/admin/users").headers["Location"] == "/login?next=/admin/users"
    response = client.post("/login?next=/admin/users", data={"username": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/admin/users"


def test_next_to_another_host_is_ignored(client, make_user):
    user = make_user("officer")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/login", data={"username": user.username, "password": PASSWORD, "next": target}
        )
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_disabled_user_cannot_log_in(client, make_user):
    user = make_user("officer")
    set_active(user, False)
    db.session.commit()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "用户名或密码错误，或账号已停用" in response.get_data(as_text=True)


def test_disabling_ends_an_open_session(client, login_as):
    user = login_as("officer")
    assert client.get("/").status_code == 200
    set_active(user, False)
    db.session.commit()
    assert client.get("/").status_code == 302


def test_password_reset_ends_open_sessions(client, login_as):
    user = login_as("officer")
    reset_password(user, "another-password-1")
    db.session.commit()
    assert client.get("/").status_code == 302
    response = client.post("/login", data={"username": user.username, "password": "another-password-1"})
    assert response.status_code == 302


def test_password_is_stored_hashed(make_user):
    user = make_user("officer")
    assert PASSWORD not in user.password_hash
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_session_cookie_is_httponly_and_lax(client, make_user):
    user = make_user("officer")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_without_csrf_token_is_refused(client, make_user, csrf_enabled):
    user = make_user("officer")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True) and "请刷新页面" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_with_csrf_token_works(client, make_user, csrf_enabled):
    user = make_user("officer")
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_logout_from_a_stale_tab_works_without_a_token(client, make_user, csrf_enabled):
    # Logout is exempt from CSRF on purpose: GET logs out as well, so a token would protect nothing.
    user = make_user("officer")
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_makes_copied_cookies_worthless(app, client, make_user):
    user = make_user("officer")
    client.post("/login", data={"username": user.username, "password": PASSWORD, "remember": "y"})
    copied = {cookie.key: cookie.value for cookie in client._cookies.values()}
    assert "session" in copied and "remember_token" in copied
    client.post("/logout")
    thief = app.test_client()
    for key, value in copied.items():
        thief.set_cookie(key, value)
    assert thief.get("/").status_code == 302


def test_remember_cookie_is_secure_with_session_cookie(tmp_path, monkeypatch):
    from crm.config import settings

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    config = settings(str(tmp_path))
    assert config["SESSION_COOKIE_SECURE"] is config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_DURATION"].days == 14


def test_full_width_usernames_fold_to_ascii(client, make_user):
    user = make_user("officer", username="ＬＩ０１")
    assert user.username == "LI01"
    response = client.post("/login", data={"username": "li01", "password": PASSWORD})
    assert response.status_code == 302


def test_usernames_of_other_cased_scripts_are_refused(make_user):
    import pytest

    from crm.auth.service import UserError

    with pytest.raises(UserError, match="用户名须为"):
        make_user("officer", username="Ärger")
    db.session.rollback()


def test_login_does_not_keep_the_pre_login_session(client, make_user, csrf_enabled):
    user = make_user("officer")
    html = client.get("/login").get_data(as_text=True)
    token = _csrf_token(html)
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})
    with client.session_transaction() as session:
        assert session.get("csrf_token") is None  # the token seen before login is gone
