"""`flask users …`: manage logins from the command line."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from crm.audit.listeners import acting_as
from crm.auth.models import ROLES, User
from crm.auth.service import UserError, create_user, find_user, reset_password, set_active
from crm.core.cli import CliError
from crm.extensions import db

users_cli = AppGroup("users", help="用户管理：创建、列出、停用、重置密码。")


def _user_or_fail(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise CliError(f"用户“{username}”不存在")
    return user


def _commit_or_fail(action) -> None:
    try:
        with acting_as("命令行：users"):
            action()
        db.session.commit()
    except UserError as error:
        db.session.rollback()
        raise CliError(str(error)) from error


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ROLES), help="角色")
@click.option("--district", default=None, help="区县专员所属区县或功能区，如 涪陵区")
@click.option("--password", required=True, help="初始密码（至少 8 个字符）")
@click.option("--display-name", default=None, help="姓名，默认同用户名")
def create_command(username, role, district, password, display_name):
    """Create a user."""
    _commit_or_fail(lambda: create_user(username, password, role, display_name, district))
    user = _user_or_fail(username)
    where = f"，所属 {user.district.name}" if user.district else ""
    click.echo(f"已创建用户 {user.username}（{user.role_label}{where}）")


@users_cli.command("list")
def list_command():
    """List every user."""
    for user in db.session.scalars(select(User).order_by(User.username)):
        state = "启用" if user.active else "停用"
        district = user.district.name if user.district else "-"
        click.echo(f"{user.username}\t{user.role}\t{district}\t{state}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", required=True, help="新密码（至少 8 个字符）")
def set_password_command(username, password):
    """Reset a user's password; their sessions end."""
    user = _user_or_fail(username)
    _commit_or_fail(lambda: reset_password(user, password))
    click.echo(f"已重置 {user.username} 的密码")


@users_cli.command("disable")
@click.argument("username")
def disable_command(username):
    """Disable a user; their sessions end."""
    user = _user_or_fail(username)
    _commit_or_fail(lambda: set_active(user, False))
    click.echo(f"已停用 {user.username}")


@users_cli.command("enable")
@click.argument("username")
def enable_command(username):
    """Enable a disabled user."""
    user = _user_or_fail(username)
    _commit_or_fail(lambda: set_active(user, True))
    click.echo(f"已启用 {user.username}")
