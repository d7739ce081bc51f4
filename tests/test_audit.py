"""Every insert, update and delete of a domain row is in the audit log, in the same transaction."""

from datetime import datetime

from sqlalchemy import select

from crm.audit.listeners import REDACTED
from crm.audit.models import AuditLog
from crm.auth.service import reset_password
from crm.core.actor import acting_as
from crm.core.timeutil import format_local
from crm.extensions import db
from crm.places.models import District


def _entries(table: str, row_id) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.table_name == table, AuditLog.row_id == str(row_id))
    return list(db.session.scalars(stmt.order_by(AuditLog.id)))


def test_insert_update_delete_are_recorded(make_user):
    with acting_as("测试脚本"):
        district = District(name="测试新区", kind="功能区", aliases=["测新"], sort_order=99)
        db.session.add(district)
        db.session.commit()
        district.aliases = ["测新", "测试区"]
        district.kind = "区"
        db.session.commit()
        district_id = district.id
        db.session.delete(district)
        db.session.commit()

    insert, update, delete = _entries("districts", district_id)
    assert (insert.action, insert.actor_name, insert.before) == ("insert", "测试脚本", None)
    assert insert.after["name"] == "测试新区" and insert.after["id"] == district_id
    assert update.action == "update"
    assert update.before == {"kind": "功能区", "aliases": ["测新"]}
    assert update.after == {"kind": "区", "aliases": ["测新", "测试区"]}
    assert delete.action == "delete" and delete.after is None
    assert delete.before["name"] == "测试新区" and delete.before["kind"] == "区"
    assert all(entry.created_at is not None for entry in (insert, update, delete))


def test_update_of_an_expired_attribute_keeps_the_old_value(make_user):
    user = make_user("officer", display_name="旧名字")
    db.session.commit()  # expires every attribute: the next set happens without a load
    user.display_name = "新名字"
    db.session.commit()
    update = _entries("users", user.id)[-1]
    assert update.before == {"display_name": "旧名字"} and update.after == {"display_name": "新名字"}


def test_no_entry_when_nothing_really_changed(make_user):
    user = make_user("officer", display_name="同一个名字")
    count = len(_entries("users", user.id))
    user.display_name = "同一个名字"
    db.session.commit()
    assert len(_entries("users", user.id)) == count


def test_password_hash_is_never_written_to_the_log(make_user):
    user = make_user("officer")
    reset_password(user, "new-password-123")
    db.session.commit()
    entries = _entries("users", user.id)
    assert entries[0].after["password_hash"] == REDACTED
    assert entries[-1].before["password_hash"] == REDACTED
    assert entries[-1].after["session_version"] == 2
    assert all(user.password_hash not in str(entry.after) for entry in entries)


def test_rolled_back_change_leaves_no_entry():
    db.session.add(District(name="回滚区", kind="区", aliases=[], sort_order=100))
    db.session.flush()
    assert db.session.scalar(select(AuditLog).where(AuditLog.after["name"].as_string() == "回滚区"))
    db.session.rollback()
    names = [entry.after.get("name") for entry in db.session.scalars(select(AuditLog)) if entry.after]
    assert "回滚区" not in names


def test_web_changes_are_attributed_to_the_logged_in_user(client, login_as, make_user):
    admin = login_as("admin")
    target = make_user("officer")
    response = client.post(f"/admin/users/{target.id}/active")
    assert response.status_code == 302
    update = _entries("users", target.id)[-1]
    assert (update.actor_id, update.actor_name) == (admin.id, admin.username)
    assert update.before["active"] is True and update.after["active"] is False


def test_login_is_attributed_to_the_user_who_logged_in(client, login_as):
    user = login_as("officer")
    last = _entries("users", user.id)[-1]
    assert last.actor_name == user.username and "last_login_at" in last.after


def test_audit_log_does_not_log_itself():
    with acting_as("测试脚本"):
        db.session.add(District(name="自检区", kind="区", aliases=[], sort_order=101))
        db.session.commit()
    assert not db.session.scalars(select(AuditLog).where(AuditLog.table_name == "audit_log")).all()


def test_audit_page_filters_by_object(client, login_as, make_user):
    login_as("manager")
    first, second = make_user("officer", display_name="甲"), make_user("officer", display_name="乙")
    html = client.get(f"/audit/?table=users&row_id={first.id}").get_data(as_text=True)
    assert first.username in html and second.username not in html
    assert f"用户 #{first.id}" in html and "新增" in html


def test_audit_page_odd_filters_do_not_fail(client, login_as):
    login_as("admin")
    for query in ("table=nope", "row_id=" + "9" * 80, "action=<script>", "page=abc", "page=-3", "page=99999"):
        response = client.get("/audit/?" + query)
        assert response.status_code == 200, query
        assert "<script>" not in response.get_data(as_text=True)


def test_audit_page_names_fields_in_chinese(client, login_as, make_user):
    login_as("admin")
    target = make_user("officer", display_name="赵")
    html = client.get(f"/audit/?table=users&row_id={target.id}").get_data(as_text=True)
    assert ">姓名</th>" in html and ">display_name</th>" not in html


def test_foreign_key_set_through_a_relationship_is_recorded(make_user):
    from crm.places.service import resolve_district

    user = make_user("district", "涪陵区")
    db.session.commit()
    user.district = resolve_district("长寿区")
    db.session.commit()
    update = _entries("users", user.id)[-1]
    assert update.action == "update"
    assert update.before == {"district_id": resolve_district("涪陵区").id}
    assert update.after == {"district_id": resolve_district("长寿区").id}


def test_bulk_update_and_delete_are_refused():
    import pytest
    from sqlalchemy import delete, update

    from crm.auth.models import User

    with pytest.raises(RuntimeError, match="绕过审计日志"):
        db.session.execute(update(District).values(sort_order=0))
    with pytest.raises(RuntimeError, match="绕过审计日志"):
        db.session.execute(delete(User))
    db.session.rollback()


def test_setting_a_time_to_its_stored_value_is_no_change(make_user):
    from crm.core.timeutil import utcnow

    user = make_user("officer")
    user.last_login_at = moment = utcnow()
    db.session.commit()
    count = len(_entries("users", user.id))
    user.last_login_at = moment  # the stored value comes back naive from SQLite
    db.session.commit()
    assert len(_entries("users", user.id)) == count


def test_foreign_keys_are_enforced_on_every_database(make_user):
    import pytest
    from sqlalchemy.exc import IntegrityError

    from crm.places.service import resolve_district

    make_user("district", "城口县")
    db.session.delete(resolve_district("城口县"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_logins_and_ended_sessions_are_kept_apart_from_data_changes(client, login_as, make_user):
    officer = login_as("officer", display_name="钱招商")
    assert [e.action for e in _entries("users", officer.id)] == ["insert", "login"]
    client.post("/logout")
    assert _entries("users", officer.id)[-1].action == "session"
    login_as("manager")
    data = client.get(f"/audit/?table=users&row_id={officer.id}").text
    access = client.get(f"/audit/?table=users&row_id={officer.id}&kind=access").text
    assert "<td>新增</td>" in data and "<td>登录</td>" not in data and "<td>结束会话</td>" not in data
    assert "<td>登录</td>" in access and "<td>结束会话</td>" in access and "<td>新增</td>" not in access


def test_audit_page_shows_people_by_name_and_times_in_beijing(client, login_as):
    manager = login_as("manager", display_name="孙处长")
    login = _entries("users", manager.id)[-1]
    html = client.get(f"/audit/?table=users&row_id={manager.id}&kind=access").text
    assert f'title="登录名：{manager.username}">孙处长</td>' in html
    # The login's stored UTC time is shown as Beijing time (UTC+8), in the row and in the change.
    shown = format_local(login.created_at, "%Y-%m-%d %H:%M:%S")
    assert shown in html and "时间（北京时间）" in html
    assert format_local(datetime.fromisoformat(login.after["last_login_at"])) in html
    assert login.after["last_login_at"] not in html


def test_the_person_filter_takes_the_name_the_page_shows(client, login_as):
    manager = login_as("manager", display_name="郑处长")
    page = client.get("/audit/?actor=郑处长&kind=access").text
    assert f'title="登录名：{manager.username}">郑处长</td>' in page
    assert client.get("/audit/?actor=没有这个人&kind=access").text.count("<td>登录</td>") == 0
