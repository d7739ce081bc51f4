"""`flask tokens …`: personal API tokens from the command line (create, list, revoke)."""

import click
from flask.cli import AppGroup

from crm.auth.models import ApiToken
from crm.auth.service import find_user
from crm.auth.tokens import DEFAULT_EXPIRES_DAYS, MAX_EXPIRES_DAYS, create_token, revoke_token, tokens_of
from crm.cli.common import CliError, committing
from crm.core.timeutil import format_local
from crm.extensions import db

tokens_cli = AppGroup("tokens", help="API 令牌：创建（只显示一次）、列出、撤销。")
ACTOR = "命令行：tokens"


# Options are validated by the service, not by click, so every message is the same Chinese one.
@tokens_cli.command("create")
@click.argument("username", required=False)
@click.option("--name", default=None, help="令牌名称，写明由哪个系统使用，如 OA系统")
@click.option("--read-only", is_flag=True, help="只读：只能查询，不能新建或修改数据")
@click.option(
    "--expires-days", default=None, help=f"有效天数（1–{MAX_EXPIRES_DAYS}），默认 {DEFAULT_EXPIRES_DAYS}"
)
def create_command(username, name, read_only, expires_days):
    """Create a token for a user and print it, once (the token alone on standard output)."""
    if not username:
        raise CliError("请指定用户名：flask --app app tokens create USERNAME --name NAME")
    user = find_user(username)
    if user is None:
        raise CliError(f"用户“{username}”不存在")
    with committing(ACTOR):
        issued = create_token(user, name, read_only, expires_days)
    token = issued.token
    rights = "只读" if token.read_only else "可读写"
    click.echo(
        f"已为 {user.username} 创建 API 令牌 {token.id}“{token.name}”（{rights}，"
        f"{format_local(token.expires_at)} 到期）。令牌只显示这一次，请立即妥善保存：",
        err=True,
    )
    click.echo(issued.secret)


@tokens_cli.command("list")
@click.argument("username", required=False)
def list_command(username):
    """List the tokens (of one user, or everyone's): never the tokens themselves."""
    user = None
    if username:
        user = find_user(username)
        if user is None:
            raise CliError(f"用户“{username}”不存在")
    for token in tokens_of(user):
        click.echo(
            "\t".join(
                [
                    str(token.id),
                    token.user.username,
                    token.name,
                    f"{token.prefix}…",
                    "只读" if token.read_only else "可读写",
                    f"创建 {format_local(token.created_at)}",
                    f"到期 {format_local(token.expires_at)}",
                    f"最近使用 {format_local(token.last_used_at) or '从未'}",
                    token.status_label,
                ]
            )
        )


@tokens_cli.command("revoke")
@click.argument("token_id", required=False)
def revoke_command(token_id):
    """Revoke a token by its number (the first column of `tokens list`)."""
    if not token_id or not (token_id.isascii() and token_id.isdigit()) or len(token_id) > 9:
        raise CliError("请指定令牌编号（tokens list 的第一列）：flask --app app tokens revoke ID")
    token = db.session.get(ApiToken, int(token_id))
    if token is None:
        raise CliError(f"令牌 {token_id} 不存在")
    with committing(ACTOR):
        revoke_token(token)
    click.echo(f"已撤销 {token.user.username} 的 API 令牌 {token.id}“{token.name}”")
