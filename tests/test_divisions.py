"""Users' divisions (处室) in the admin pages and the CLI: chosen when creating an officer or a
manager, shown in the list and on the user's page, changed there by an admin (audited); refused
for district users and administrators; bad input changes nothing."""

import pytest
from sqlalchemy import func, select

from crm.audit.models import AuditLog
from crm.auth.models import User
from crm.auth.service import UserError, find_user, set_division
from crm.extensions import db
from crm.places.service import active_divisions


@pytest.fixture
def divisions() -> tuple[str, str]:
    names = [d.name for d in active_divisions()]
    assert len(names) >= 2, "divisions.yaml lists the bureau's divisions"
    return names[0], names[1]


def _form(**overrides) -> dict:
    return {
        "username": "zhang",
        "display_name": "张三",
        "role": "officer",
        "district": "",
        "division": "",
        "password": "a-good-password",
        "confirm": "a-good-password",
        **overrides,
    }


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_an_admin_creates_an_officer_in_a_division(client, login_as, divisions):
    login_as("admin")
    form = client.get("/admin/users/new").text
    assert 'name="division"' in form and all(f">{name}</option>" in form for name in divisions)
    response = client.post("/admin/users/new", data=_form(division=divisions[0]))
    assert response.status_code == 302
    assert find_user("zhang").division.name == divisions[0]
    detail = client.get(response.headers["Location"]).text
    assert f'data-testid="division">{divisions[0]}<' in detail
    listing = client.get("/admin/users").text
    assert "<th>所属处室</th>" in listing and f"<td>{divisions[0]}</td>" in listing


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"role": "district", "district": "涪陵区"}, "区县专员不属于局内处室，其工作计入所属区县"),
        ({"role": "admin"}, "只有招商专员和处室负责人可以指定所属处室"),
        ({"division": "不存在的处室"}, "未知的处室“不存在的处室”"),
    ],
)
def test_a_division_where_none_belongs_is_refused_beside_the_field(
    client, login_as, divisions, overrides, message
):
    login_as("admin")
    before = _users()
    page = client.post("/admin/users/new", data=_form(**{"division": divisions[0], **overrides}))
    assert page.status_code == 200 and message in page.text
    assert 'class="invalid-feedback d-block">' + message in page.text  # beside the field
    assert 'value="zhang"' in page.text and 'value="张三"' in page.text  # what was typed stays
    assert _users() == before


def test_an_admin_changes_a_division_and_the_log_keeps_it(client, login_as, make_user, divisions):
    officer = make_user("officer", division_name=divisions[0])
    login_as("admin")
    page = client.get(f"/admin/users/{officer.id}").text
    assert 'data-testid="division-form"' in page
    done = client.post(
        f"/admin/users/{officer.id}/division", data={"division": divisions[1]}, follow_redirects=True
    )
    assert f"所属处室设为“{divisions[1]}”" in done.text
    db.session.expire_all()
    assert db.session.get(User, officer.id).division.name == divisions[1]
    entry = db.session.scalar(
        select(AuditLog)
        .where(
            AuditLog.table_name == "users", AuditLog.row_id == str(officer.id), AuditLog.action == "update"
        )
        .order_by(AuditLog.id.desc())
    )
    assert entry.after["division_id"] != entry.before["division_id"]
    cleared = client.post(f"/admin/users/{officer.id}/division", data={"division": ""}, follow_redirects=True)
    assert "所属处室设为“未指定”" in cleared.text
    db.session.expire_all()
    assert db.session.get(User, officer.id).division_id is None


def test_a_district_users_division_cannot_be_set(client, login_as, make_user, divisions):
    district_user = make_user("district", "涪陵区")
    login_as("admin")
    assert 'data-testid="division-form"' not in client.get(f"/admin/users/{district_user.id}").text
    refused = client.post(f"/admin/users/{district_user.id}/division", data={"division": divisions[0]})
    assert refused.status_code == 400 and "区县专员不属于局内处室" in refused.text
    bad = client.post(f"/admin/users/{make_user('manager').id}/division", data={"division": "隔壁处"})
    assert bad.status_code == 400 and "未知的处室“隔壁处”" in bad.text
    db.session.expire_all()
    assert db.session.get(User, district_user.id).division_id is None
    with pytest.raises(UserError, match="区县专员不属于局内处室"):
        set_division(district_user, divisions[0])


def test_only_admins_change_divisions(client, login_as, make_user, divisions):
    officer = make_user("officer")
    login_as("manager")
    assert (
        client.post(f"/admin/users/{officer.id}/division", data={"division": divisions[0]}).status_code == 403
    )
    db.session.expire_all()
    assert db.session.get(User, officer.id).division_id is None


def test_the_cli_creates_a_user_in_a_division(runner, divisions):
    args = ["users", "create", "li", "--role", "manager", "--password", "a-good-password"]
    result = runner.invoke(args=[*args, "--division", divisions[1]])
    assert result.exit_code == 0 and f"所属 {divisions[1]}" in result.output
    assert find_user("li").division.name == divisions[1]
    listed = runner.invoke(args=["users", "list"]).output
    assert f"li\tmanager\t-\t{divisions[1]}\t启用" in listed
    unknown = runner.invoke(
        args=[
            "users",
            "create",
            "wang",
            "--role",
            "officer",
            "--password",
            "a-good-password",
            "--division",
            "没有这个处",
        ]
    )
    assert unknown.exit_code == 1 and "错误：未知的处室“没有这个处”" in unknown.output
    district = runner.invoke(
        args=[
            "users",
            "create",
            "zhao",
            "--role",
            "district",
            "--district",
            "涪陵区",
            "--password",
            "a-good-password",
            "--division",
            divisions[0],
        ]
    )
    assert district.exit_code == 1 and "区县专员不属于局内处室" in district.output
    assert find_user("wang") is None and find_user("zhao") is None
