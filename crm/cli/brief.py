"""`flask brief …`: print a cluster's or the city's weekly brief, or all fourteen."""

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.briefs.service import last_week, make_brief
from crm.cli.common import CliError, committing, os_problem
from crm.industry.service import all_clusters
from reports.figures import BriefError, Scope, normal_week, resolve_cluster


@click.command("brief")
@with_appcontext
@click.option("--cluster", "cluster", metavar="NAME", help="产业集群全称或简称，如 轻合金")
@click.option("--city", is_flag=True, help="全市周报")
@click.option("--all", "all_", is_flag=True, help="全部集群及全市（-o 为目录）")
@click.option("--week", "week", metavar="YYYY-Www", help="ISO 周，如 2026-W47（默认上一个完整周）")
@click.option("-o", "--output", "output", metavar="FILE|DIR", help="输出的 PDF 文件（--all 时为目录）")
def brief_command(cluster, city, all_, week, output):
    """Weekly briefing PDFs (WeasyPrint); each one is also kept in the archive."""
    chosen = sum(bool(x) for x in (cluster, city, all_))
    if chosen != 1:
        raise CliError("请指定且只指定一项：--cluster NAME、--city 或 --all")
    if not output:
        raise CliError("请用 -o 指定输出文件（--all 时为目录）")
    try:
        week = normal_week(week or last_week())  # canonical: the file names and the archive agree
        if cluster:
            scopes = [(resolve_cluster(cluster).short_name, Scope(resolve_cluster(cluster).code))]
        elif city:
            scopes = [("全市", Scope())]
        else:
            scopes = [(c.short_name, Scope(c.code)) for c in all_clusters()] + [("全市", Scope())]
    except BriefError as error:
        raise CliError(str(error)) from error
    target = Path(output)
    if all_:
        if target.exists() and not target.is_dir():
            raise CliError(f"{output} 已存在且不是目录")
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CliError(f"无法创建目录 {output}：{os_problem(error)}") from error
    elif target.is_dir():
        raise CliError(f"{output} 是目录；请给出 PDF 文件名（或用 --all 输出全部）")
    started = time.perf_counter()
    for number, (label, scope) in enumerate(scopes, 1):
        begun = time.perf_counter()
        path = target / f"{label}-{week}.pdf" if all_ else target
        with committing("命令行：brief"):
            pdf = make_brief(scope, week, "命令行").pdf
            # Written before the commit: a PDF that could not be saved is not archived either
            # (the CliError leaves committing() without committing).
            try:
                path.write_bytes(pdf)
            except OSError as error:
                raise CliError(f"无法写入 {path}：{os_problem(error)}") from error
        seconds = time.perf_counter() - begun
        click.echo(f"[{number}/{len(scopes)}] {label}：{path}（{len(pdf) // 1024} KB，{seconds:.1f} 秒）")
    if len(scopes) > 1:
        click.echo(f"完成：{len(scopes)} 份周报，共 {time.perf_counter() - started:.1f} 秒")
