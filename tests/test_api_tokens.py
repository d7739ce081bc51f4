"""Personal API tokens: made on the command line or a page and shown once, stored hashed, used as
`Authorization: Bearer …` on /api/v1/ with exactly the user's role and district scope, read-only if so
made, refused in Chinese (401, never a fall-back to the cookie) when unknown, expired, revoked or
the user is disabled, and never setting a session cookie."""

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.auth.models import ApiToken, User
from crm.auth.service import set_active
from crm.auth.tokens import create_token
from crm.core.timeutil import to_local, utcnow
from crm.enterprises.models import Enterprise
from crm.extensions import db

TOKEN = re.compile(r"lz_[A-Za-z0-9]{43}")


def issue(user, **kwargs) -> str:
    """A committed token of `user`; returns the secret."""
    issued = create_token(user, kwargs.pop("name", "OA系统"), **kwargs)
    db.session.commit()
    return issued.secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def session_cookies(response) -> list[str]:
    return [
        c for c in response.headers.getlist("Set-Cookie") if c.startswith(("session=", "remember_token="))
    ]


def lasts(row: ApiToken) -> timedelta:
    """How long the token is valid from its creation, to the minute."""
    seconds = (to_local(row.expires_at) - to_local(row.created_at)).total_seconds()
    return timedelta(minutes=round(seconds / 60))


def token_row(secret: str) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest())
    )


# --- The command line and the contract ----------------------------------------------------------


def test_cli_token_answers_me_with_no_cookie(runner, client, make_user):
    user = make_user("district", "长寿区", display_name="长寿专员")
    result = runner.invoke(args=["tokens", "create", user.username, "--name", "统计平台"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert TOKEN.fullmatch(secret), "stdout holds the token alone"
    assert "只显示这一次" in result.stderr and secret not in result.stderr

    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 200
    data = response.get_json()
    assert data["user"]["username"] == user.username and data["user"]["district"] == "长寿区"
    assert data["token"]["name"] == "统计平台" and data["token"]["read_only"] is False
    assert "csrf_token" not in data
    assert session_cookies(response) == [] and response.headers.get("Set-Cookie") is None
    assert client.get_cookie("session") is None

    # Stored as a SHA-256 of the secret, never the secret; the audit log hides even the hash.
    row = token_row(secret)
    assert row.user_id == user.id and row.prefix == secret[:9] and row.created_by_id is None
    assert secret not in str([getattr(row, c.key) for c in ApiToken.__table__.columns])
    entry = db.session.scalar(select(AuditLog).where(AuditLog.table_name == "api_tokens"))
    assert entry.action == "insert" and entry.after["token_hash"] == "******"
    assert entry.actor_name == "命令行：tokens"


def test_cli_read_only_and_expiry(runner, make_user):
    user = make_user("officer")
    result = runner.invoke(
        args=["tokens", "create", user.username, "--name", "OA", "--read-only", "--expires-days", "7"]
    )
    assert result.exit_code == 0, result.output
    row = token_row(result.stdout.strip())
    assert row.read_only is True
    assert lasts(row) == timedelta(days=7)
    assert "只读" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--name", "OA"], "用户“nobody”不存在"),
        ([], "请指定用户名"),
        (["{user}"], "请填写令牌名称"),
        (["{user}", "--name", "OA", "--expires-days", "abc"], "有效天数应为 1–3650 之间的整数"),
        (["{user}", "--name", "OA", "--expires-days", "0"], "有效天数应为 1–3650 之间的整数"),
        (["{user}", "--name", "OA", "--expires-days", "9999"], "有效天数应为 1–3650 之间的整数"),
    ],
)
def test_cli_create_refusals_are_chinese(runner, make_user, args, message):
    user = make_user("officer")
    result = runner.invoke(args=["tokens", "create", *[a.format(user=user.username) for a in args]])
    assert result.exit_code == 1 and message in result.output
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_cli_list_and_revoke(runner, client, make_user):
    alice, bob = make_user("officer", username="alice"), make_user("manager", username="bob")
    alice_secret, bob_secret = issue(alice, name="OA"), issue(bob, name="数据交换")

    everyone = runner.invoke(args=["tokens", "list"])
    assert everyone.exit_code == 0
    assert "alice" in everyone.output and "bob" in everyone.output and "有效" in everyone.output
    assert alice_secret not in everyone.output and bob_secret not in everyone.output
    only_bob = runner.invoke(args=["tokens", "list", "bob"])
    assert "数据交换" in only_bob.output and "alice" not in only_bob.output

    token_id = token_row(alice_secret).id
    result = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert result.exit_code == 0 and "已撤销 alice 的 API 令牌" in result.output
    response = client.get("/api/v1/me", headers=bearer(alice_secret))
    assert response.status_code == 401 and response.get_json() == {"error": "API 令牌已被撤销"}
    assert client.get("/api/v1/me", headers=bearer(bob_secret)).status_code == 200
    assert "已撤销" in runner.invoke(args=["tokens", "list", "alice"]).output

    again = runner.invoke(args=["tokens", "revoke", str(token_id)])
    assert again.exit_code == 1 and "已于" in again.output
    assert runner.invoke(args=["tokens", "revoke", "99999"]).output.strip() == "错误：令牌 99999 不存在"
    assert "请指定令牌编号" in runner.invoke(args=["tokens", "revoke", "x"]).output


# --- Refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer lz_" + "x" * 43, "API 令牌无效"),
        ("Bearer " + "y" * 500, "API 令牌无效"),
        ("Bearer", "Authorization 请求头应为“Bearer <API 令牌>”"),
        ("Basic YWxpY2U6cHc=", "Authorization 请求头应为“Bearer <API 令牌>”"),
    ],
)
def test_a_bad_token_is_a_chinese_401_with_a_challenge(client, header, message):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json() == {"error": message}
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert session_cookies(response) == []


def test_an_expired_token_is_refused(client, make_user):
    secret = issue(make_user("officer"))
    row = token_row(secret)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401 and response.get_json() == {"error": "API 令牌已过期，请创建新的令牌"}


def test_the_token_of_a_disabled_user_is_refused(client, make_user):
    user = make_user("officer")
    secret = issue(user)
    set_active(user, False)
    db.session.commit()
    response = client.get("/api/v1/me", headers=bearer(secret))
    assert response.status_code == 401 and response.get_json() == {"error": "API 令牌所属账号已停用"}


def test_a_bad_token_never_falls_back_to_the_cookie(client, login_as, make_user):
    login_as("officer")
    assert client.get("/api/v1/me").status_code == 200  # the cookie alone works
    response = client.get("/api/v1/me", headers=bearer("lz_" + "z" * 43))
    assert response.status_code == 401
    revoked = issue(make_user("manager"))
    token_row(revoked).revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(revoked)).status_code == 401


def test_a_valid_token_wins_over_a_cookie(client, login_as, make_user):
    login_as("officer")
    other = make_user("manager")
    data = client.get("/api/v1/me", headers=bearer(issue(other))).get_json()
    assert data["user"]["username"] == other.username


def test_pages_ignore_the_token(client, make_user):
    secret = issue(make_user("officer"))
    response = client.get("/", headers=bearer(secret))
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- Scope, rights, CSRF, audit ------------------------------------------------------------------


def test_the_token_acts_with_the_users_district_scope_and_role(client, make_user, make_enterprise):
    mine = make_enterprise(name="涪陵本地材料有限公司", kind="local", district="涪陵区")
    other = make_enterprise(name="长寿钛业股份有限公司", kind="local", district="长寿区")
    secret = issue(make_user("district", "涪陵区"))

    listed = client.get("/api/v1/enterprises", headers=bearer(secret)).get_json()
    assert [e["id"] for e in listed["items"]] == [mine.id]
    assert client.get(f"/api/v1/enterprises/{other.id}", headers=bearer(secret)).status_code == 404
    # A district user may not create enterprises: the role holds with a token too.
    response = client.post("/api/v1/enterprises", json={"name": "新企业有限公司"}, headers=bearer(secret))
    assert (
        response.status_code == 403 and response.get_json()["error"] == "您没有权限访问此页面或执行此操作。"
    )


def test_a_read_only_token_reads_but_cannot_write(client, make_user):
    secret = issue(make_user("officer"), read_only=True)
    assert client.get("/api/v1/enterprises", headers=bearer(secret)).status_code == 200
    response = client.post("/api/v1/enterprises", json={"name": "只读测试有限公司"}, headers=bearer(secret))
    assert response.status_code == 403
    assert response.get_json() == {"error": "此 API 令牌为只读令牌，不能修改数据"}
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert db.session.scalar(select(func.count()).select_from(Enterprise)) == 0


@pytest.mark.usefixtures("csrf_enabled")
def test_a_token_write_needs_no_csrf_and_is_logged_as_the_user(client, make_user):
    user = make_user("officer")
    secret = issue(user)
    response = client.post("/api/v1/enterprises", json={"name": "令牌新建有限公司"}, headers=bearer(secret))
    assert response.status_code == 201, response.get_json()
    assert session_cookies(response) == []
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.table_name == "enterprises", AuditLog.action == "insert")
    )
    assert (entry.actor_id, entry.actor_name) == (user.id, user.username)


@pytest.mark.usefixtures("csrf_enabled")
def test_a_cookie_write_still_needs_csrf(client, login_as):
    login_as("officer")
    response = client.post("/api/v1/enterprises", json={"name": "会话新建有限公司"})
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
    csrf = client.get("/api/v1/me").get_json()["csrf_token"]
    response = client.post(
        "/api/v1/enterprises", json={"name": "会话新建有限公司"}, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 201


def test_last_use_is_recorded_outside_the_audit_log(client, make_user):
    secret = issue(make_user("officer"))
    assert token_row(secret).last_used_at is None
    before = db.session.scalar(select(func.count()).select_from(AuditLog))
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert token_row(secret).last_used_at is not None
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == before


# --- Pages -----------------------------------------------------------------------------------------


def test_the_user_menu_links_to_the_token_page(client, login_as):
    login_as("district")
    assert 'href="/tokens"' in client.get("/").text


def test_a_user_makes_a_token_on_the_page_and_sees_it_once(client, login_as):
    user = login_as("officer")
    page = client.get("/tokens")
    assert page.status_code == 200 and "还没有 API 令牌" in page.text

    response = client.post("/tokens", data={"name": "OA 系统", "expires_days": "30", "read_only": "y"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = TOKEN.search(response.text).group(0)
    assert "令牌只显示这一次" in response.text

    listed = client.get("/tokens").text
    assert secret not in listed and secret[:9] + "…" in listed and "OA 系统" in listed and "只读" in listed
    row = token_row(secret)
    assert (row.user_id, row.created_by_id, row.read_only) == (user.id, user.id, True)
    assert lasts(row) == timedelta(days=30)
    # The token works, read-only, without the page's cookie.
    client.delete_cookie("session")
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200


def test_the_page_refuses_a_bad_name_in_chinese(client, login_as):
    login_as("officer")
    response = client.post("/tokens", data={"name": "", "expires_days": "90"})
    assert response.status_code == 400 and "请填写令牌名称" in response.text
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_a_user_revokes_their_own_token_but_not_anothers(client, login_as, make_user):
    user = login_as("officer")
    own, others = issue(user, name="自己的"), issue(make_user("manager"), name="别人的")
    response = client.post(f"/tokens/{token_row(others).id}/revoke")
    assert response.status_code == 404
    assert token_row(others).revoked_at is None

    response = client.post(f"/tokens/{token_row(own).id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == "/tokens"
    assert token_row(own).revoked_at is not None
    assert "已撤销 API 令牌“自己的”" in client.get("/tokens").text
    assert client.get("/api/v1/me", headers=bearer(own)).status_code == 401


def test_an_admin_makes_and_revokes_tokens_for_any_user(client, login_as, make_user):
    officer = make_user("officer", display_name="王专员")
    admin = login_as("admin")
    response = client.post(
        "/admin/tokens", data={"user_id": str(officer.id), "name": "数据交换平台", "expires_days": "365"}
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = TOKEN.search(response.text).group(0)
    row = token_row(secret)
    assert (row.user_id, row.created_by_id, row.read_only) == (officer.id, admin.id, False)
    me = client.get("/api/v1/me", headers=bearer(secret)).get_json()
    assert me["user"]["username"] == officer.username

    listed = client.get(f"/admin/tokens?user={officer.id}").text
    assert "数据交换平台" in listed and secret not in listed
    response = client.post(f"/tokens/{row.id}/revoke")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/tokens?user={officer.id}"
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_the_admin_token_page_is_for_admins_only(client, login_as):
    login_as("manager")
    assert client.get("/admin/tokens").status_code == 403
    assert client.post("/admin/tokens", data={"name": "x"}).status_code == 403


def test_no_token_for_a_disabled_user(client, login_as, make_user):
    officer = make_user("officer")
    set_active(officer, False)
    db.session.commit()
    login_as("admin")
    response = client.post(
        "/admin/tokens", data={"user_id": str(officer.id), "name": "OA", "expires_days": "90"}
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
    assert db.session.get(User, officer.id).active is False


def test_the_admin_token_page_takes_any_user_number(client, login_as):
    login_as("admin")
    for wanted in ("99999999999999999999", "2147483648", "abc", "-1"):
        assert client.get(f"/admin/tokens?user={wanted}").status_code == 200, wanted
