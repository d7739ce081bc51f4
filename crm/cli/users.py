"""`flask users …`: manage logins from the command line."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from crm.auth.models import User
from crm.auth.service import create_user, find_user, reset_password, set_active
from crm.cli.common import CliError, committing
from crm.extensions import db

users_cli = AppGroup("users", help="用户管理：创建、列出、停用、重置密码。")
ACTOR = "命令行：users"


def _user_or_fail(username: str | None) -> User:
    user = find_user(username or "")
    if user is None:
        raise CliError(f"用户“{username}”不存在")
    return user


def _password_or_fail(password: str | None) -> str:
    if not password:
        raise CliError("请用 --password 指定密码（至少 10 个字符，不能过于常见或包含用户名）")
    return password


# Options are validated by the service, not by click, so every message is the same Chinese one.
@users_cli.command("create")
@click.argument("username", required=False)
@click.option("--role", default=None, help="角色：officer、manager、district 或 admin")
@click.option("--district", default=None, help="区县专员所属区县或功能区，如 涪陵区")
@click.option("--password", default=None, help="初始密码（至少 10 个字符，不能过于常见或包含用户名）")
@click.option("--display-name", default=None, help="姓名，默认同用户名")
@click.option("--division", default=None, help="招商专员或处室负责人所属处室，如 产业招商一处")
def create_command(username, role, district, password, display_name, division):
    """Create a user."""
    if not username:
        raise CliError("请指定用户名：flask --app app users create NAME --role ROLE --password PW")
    with committing(ACTOR):
        user = create_user(username, _password_or_fail(password), role, display_name, district, division)
    where = f"，所属 {user.district.name}" if user.district else ""
    where += f"，所属 {user.division.name}" if user.division else ""
    click.echo(f"已创建用户 {user.username}（{user.role_label}{where}）")


@users_cli.command("list")
def list_command():
    """List every user."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "启用" if user.active else "停用"
        district = user.district.name if user.district else "-"
        division = user.division.name if user.division else "-"
        click.echo(f"{user.username}\t{user.role}\t{district}\t{division}\t{state}")


@users_cli.command("set-password")
@click.argument("username", required=False)
@click.option("--password", default=None, help="新密码（至少 10 个字符，不能过于常见或包含用户名）")
def set_password_command(username, password):
    """Reset a user's password; their sessions end."""
    user = _user_or_fail(username)
    with committing(ACTOR):
        reset_password(user, _password_or_fail(password))
    click.echo(f"已重置 {user.username} 的密码")


@users_cli.command("disable")
@click.argument("username", required=False)
def disable_command(username):
    """Disable a user; their sessions end."""
    user = _user_or_fail(username)
    with committing(ACTOR):
        set_active(user, False)
    click.echo(f"已停用 {user.username}")


@users_cli.command("enable")
@click.argument("username", required=False)
def enable_command(username):
    """Enable a disabled user."""
    user = _user_or_fail(username)
    with committing(ACTOR):
        set_active(user, True)
    click.echo(f"已启用 {user.username}")
