"""Login protection: five wrong passwords lock a login name (even the right password then waits),
an unknown name locks the same way, an address trying many names is locked too, every attempt is
in the audit log with the logins, and an administrator can unlock."""

import pytest
from sqlalchemy import select

from crm.audit.models import AuditLog
from crm.auth.models import LoginAttempt
from crm.auth.service import UserError, reset_password
from crm.extensions import db
from tests.conftest import PASSWORD

LOCKED = "登录失败次数过多，已暂时锁定"


def _login(client, username, password, address="10.0.0.1"):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, make_user):
    user = make_user("officer")
    for _ in range(5):
        response = _login(client, user.username, "wrong-password")
        assert response.status_code == 200
    assert LOCKED in response.text  # the fifth says so already
    refused = _login(client, user.username, PASSWORD)
    assert refused.status_code == 200 and LOCKED in refused.text
    assert client.get("/").status_code == 302  # no session was made
    outcomes = db.session.scalars(select(LoginAttempt.outcome).order_by(LoginAttempt.id)).all()
    assert outcomes == ["failure"] * 5 + ["locked"]


def test_an_unknown_name_locks_the_same_way(client, make_user):
    make_user("officer", username="real")
    for _ in range(5):
        _login(client, "nobody", "wrong-password")
        _login(client, "real", "wrong-password")
    assert _login(client, "nobody", "whatever").text.count(LOCKED) == 1
    assert _login(client, "real", PASSWORD).text.count(LOCKED) == 1


def test_a_success_starts_the_count_again(client, make_user):
    user = make_user("officer")
    for _ in range(4):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, PASSWORD).status_code == 302


def test_an_address_trying_many_names_is_locked(client, make_user):
    user = make_user("officer")
    for number in range(20):
        _login(client, f"guess{number}", "wrong-password", address="10.9.9.9")
    assert LOCKED in _login(client, user.username, PASSWORD, address="10.9.9.9").text
    assert _login(client, user.username, PASSWORD, address="10.0.0.2").status_code == 302


def test_an_admin_unlocks_and_every_attempt_is_in_the_audit_log(client, login_as, make_user):
    user = make_user("officer")
    for _ in range(5):
        _login(client, user.username, "wrong-password")
    login_as("admin")
    page = client.get(f"/admin/users/{user.id}").text
    assert 'data-testid="locked"' in page
    client.post(f"/admin/users/{user.id}/unlock")
    assert 'data-testid="locked"' not in client.get(f"/admin/users/{user.id}").text
    client.post("/logout")
    assert _login(client, user.username, PASSWORD).status_code == 302
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.table_name == "login_attempts").order_by(AuditLog.id)
    ).all()
    assert actions and set(actions) == {"attempt"}


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "密码至少需要 10 个字符"),
        ("password", "密码至少需要 10 个字符"),
        ("Password123", "该密码过于常见"),
        ("1234567890", "该密码过于常见"),
        ("woaini1314", "该密码过于常见"),
        ("x-zhaoyun-2026", "密码不能包含用户名"),
        ("ZHAOYUN-secret", "密码不能包含用户名"),
    ],
)
def test_weak_passwords_are_refused_everywhere(runner, make_user, password, message):
    result = runner.invoke(args=["users", "create", "zhaoyun", "--role", "officer", "--password", password])
    assert result.exit_code == 1 and message in result.output
    user = make_user("officer", username="sunquan")
    with pytest.raises(UserError, match=message):
        reset_password(user, password.replace("zhaoyun", "sunquan").replace("ZHAOYUN", "SUNQUAN"))


def test_a_strong_password_is_accepted(runner):
    result = runner.invoke(
        args=["users", "create", "zhaoyun", "--role", "officer", "--password", "江城-晨雾-2026"]
    )
    assert result.exit_code == 0, result.output
