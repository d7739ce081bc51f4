"""`flask notify run`: the daily reminders a timer (cron, a systemd timer) calls each morning —
post what falls due tomorrow, what is overdue, quiet leads and approaching dates to the
notification centre, then e-mail each person's digest when SMTP_URL is set. Running it twice the
same day adds and sends nothing more."""

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from crm.cli.common import CliError, committing
from crm.core.timeutil import parse_day, today_local
from crm.reminders.digest import MailError, parse_smtp_url, send_digests
from crm.reminders.scan import run_scan


@click.group("notify")
def notify_cli():
    """提醒与通知：每日由定时任务调用 notify run。"""


@notify_cli.command("run")
@with_appcontext
@click.option("--date", "day", metavar="YYYY-MM-DD", help="按哪一天计算（默认今天，北京时间）")
def run_command(day):
    """Post today's reminders and send the e-mail digests (once a day each)."""
    today: date = (parse_day(day, "--date", CliError) if day else None) or today_local()
    smtp_url = current_app.config.get("SMTP_URL")
    if smtp_url:
        try:
            parse_smtp_url(smtp_url)  # a wrong setting stops before anything is posted
        except MailError as error:
            raise CliError(str(error)) from error
    with committing("notify run"):
        added = run_scan(today)
    click.echo(f"{today.isoformat()}：新增通知 {added} 条。")
    if not smtp_url:
        click.echo("未配置 SMTP_URL：不发送邮件摘要。")
        return
    result = send_digests(today, smtp_url, current_app.config["MAIL_FROM"], current_app.config["PUBLIC_URL"])
    click.echo(f"邮件摘要：发送 {result.sent} 封，无需发送 {result.skipped} 人。")
    if result.failed:
        raise CliError("以下邮件发送失败（下次运行会重试）：" + "；".join(result.failed[:10]))
