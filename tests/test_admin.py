"""Admins create, disable and enable users and reset passwords; bad input changes nothing."""

from sqlalchemy import func, select

from crm.auth.models import User
from crm.auth.service import find_user
from crm.extensions import db
from tests.conftest import PASSWORD


def _user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def _new_user_form(**overrides):
    data = {
        "username": "zhang",
        "display_name": "张三",
        "role": "officer",
        "district": "",
        "password": "a-good-password",
        "confirm": "a-good-password",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_district_user(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users/new", data=_new_user_form(username="fl01", role="district", district="涪陵区")
    )
    assert response.status_code == 302
    user = find_user("fl01")
    assert user.role == "district" and user.district.name == "涪陵区"
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建用户 fl01" in detail and "涪陵区" in detail


def test_admin_user_list_shows_and_filters(client, login_as, make_user):
    login_as("admin")
    make_user("district", "长寿区", username="cs01", display_name="长寿专员")
    make_user("manager", username="mg01")
    html = client.get("/admin/users?role=district").get_data(as_text=True)
    assert "cs01" in html and "长寿区" in html and "mg01" not in html


def test_bad_user_forms_get_chinese_messages_and_create_nothing(client, login_as, make_user):
    login_as("admin")
    make_user("officer", username="taken")
    before = _user_count()
    cases = [
        (_new_user_form(role="district", district=""), "区县专员必须指定所属区县"),
        (_new_user_form(username="taken"), "已存在"),
        (_new_user_form(password="short", confirm="short"), "密码至少需要 10 个字符"),
        (_new_user_form(confirm="different-password"), "两次输入的密码不一致"),
        (_new_user_form(role="boss"), "不是有效的选择"),
        (_new_user_form(username="<script>x</script>"), "用户名须为"),
        (_new_user_form(username=""), "请输入用户名"),
        (_new_user_form(role="district", district="火星区"), "不是有效的选择"),
        (_new_user_form(username="x" * 5000), "长度"),
    ]
    for data, message in cases:
        response = client.post("/admin/users/new", data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, data
        assert message in html, (message, data)
        assert "<script>x</script>" not in html
    assert _user_count() == before


def test_admin_disables_and_enables(client, login_as, make_user):
    login_as("admin")
    target = make_user("officer")
    client.post(f"/admin/users/{target.id}/active")
    db.session.expire_all()
    assert db.session.get(User, target.id).active is False
    assert f">{target.username}</a>" in client.get("/admin/users?status=disabled").text
    assert f">{target.username}</a>" not in client.get("/admin/users?status=active").text
    client.post(f"/admin/users/{target.id}/active")
    db.session.expire_all()
    assert db.session.get(User, target.id).active is True


def test_admin_cannot_disable_themself(client, login_as):
    admin = login_as("admin")
    response = client.post(f"/admin/users/{admin.id}/active", follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active is True


def test_admin_resets_a_password(client, login_as, make_user):
    login_as("admin")
    target = make_user("officer")
    response = client.post(
        f"/admin/users/{target.id}/password", data={"password": "brand-new-pw", "confirm": "brand-new-pw"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, target.id)
    assert user.check_password("brand-new-pw") and not user.check_password(PASSWORD)


def test_bad_password_reset_changes_nothing(client, login_as, make_user):
    login_as("admin")
    target = make_user("officer")
    old_hash = target.password_hash
    response = client.post(
        f"/admin/users/{target.id}/password", data={"password": "short", "confirm": "short"}
    )
    assert response.status_code == 400 and "密码至少需要 10 个字符" in response.get_data(as_text=True)
    response = client.post(
        f"/admin/users/{target.id}/password", data={"password": "long-enough", "confirm": "x"}
    )
    assert "两次输入的密码不一致" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, target.id).password_hash == old_hash


def test_unknown_user_is_a_chinese_404(client, login_as):
    login_as("admin")
    response = client.get("/admin/users/999999")
    assert response.status_code == 404 and "不存在" in response.get_data(as_text=True)
