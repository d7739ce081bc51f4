"""`flask demo …`: the demo accounts and the demo data that `make run` loads into an empty database,
and the province-scale data the benchmarks use."""

import time

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from crm.auth.models import ADMIN, DISTRICT, MANAGER, OFFICER, User
from crm.auth.service import create_user, find_user
from crm.cli.common import committing
from crm.cli.demo_data import DEMO_PASSWORD, load_demo_data
from crm.cli.scale import add_scale_data
from crm.extensions import db

DEMO_ACCOUNTS = [
    ("admin", ADMIN, None, "系统管理员"),
    ("manager", MANAGER, None, "王处长"),
    ("officer", OFFICER, None, "李招商"),
    ("officer2", OFFICER, None, "陈招商"),
    ("fuling", DISTRICT, "涪陵区", "涪陵区项目专员"),
    ("changshou", DISTRICT, "长寿区", "长寿区项目专员"),
    ("liangjiang", DISTRICT, "两江新区", "两江新区项目专员"),
]

# The bureau's demo staff work in divisions (crm/industry/data/divisions.yaml): the 招商活跃指数
# ranks those divisions by what their people do.
DEMO_DIVISIONS = {"manager": "综合协调处", "officer": "产业招商一处", "officer2": "产业招商二处"}

demo_cli = AppGroup("demo", help="演示数据：载入与演示账号。")


def load_demo_accounts() -> int:
    """Create the demo accounts that do not exist yet; returns how many were created."""
    created = 0
    for username, role, district, name in DEMO_ACCOUNTS:
        if find_user(username) is None:
            create_user(
                username,
                DEMO_PASSWORD,
                role,
                display_name=name,
                district_name=district,
                division_name=DEMO_DIVISIONS.get(username),
            )
            created += 1
    return created


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="只在数据库中还没有用户时载入")
def load_command(if_empty):
    """Load the demo data (deterministic; existing rows are kept)."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("数据库中已有数据，跳过演示数据。")
        return
    with committing("命令行：demo load"):
        created = load_demo_accounts()
        data = load_demo_data()
    click.echo(f"演示账号：新建 {created} 个。")
    if data:
        click.echo(
            f"演示数据：企业 {data['enterprises']} 家，线索 {data['leads']} 条，"
            f"跟进 {data['follow_ups']} 条，签约项目 {data['projects']} 个，招商活动 {data['events']} 场，"
            f"督办事项 {data['items']} 项，线索交办 {data['handovers']} 项，"
            f"对匹配的人工判断 {data['judgements']} 条（匹配学习建议待经理审核）。"
        )
    else:
        click.echo("演示数据：已存在，未重复载入。")


@demo_cli.command("accounts")
def accounts_command():
    """Print the demo accounts and their password."""
    click.echo(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for username, role, district, name in DEMO_ACCOUNTS:
        user = find_user(username)
        state = "" if user and user.active and user.check_password(DEMO_PASSWORD) else "（已修改或不存在）"
        click.echo(f"  {username:<12} {name}（{role}{'，' + district if district else ''}）{state}")
    click.echo("访问 http://127.0.0.1:5000 登录。")


@demo_cli.command("scale")
@click.option(
    "--factor", type=click.FloatRange(0, 20), default=1.0, show_default=True, help="规模倍数：1 = 10 万企业"
)
def scale_command(factor):
    """Add province-scale data for benchmarks (deterministic; a second run adds only what is missing)."""
    started = time.perf_counter()
    try:
        added = add_scale_data(factor, click.echo)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"规模数据：企业 {added['enterprises']} 家，联系人 {added['contacts']} 位，线索 {added['leads']} 条，"
        f"跟进 {added['follow_ups']} 条，签约项目 {added['projects']} 个，招商活动 {added['events']} 场，"
        f"督办事项 {added['items']} 项，线索交办 {added['handovers']} 项；"
        f"用时 {time.perf_counter() - started:.0f} 秒。"
    )
