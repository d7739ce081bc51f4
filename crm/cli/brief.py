"""`flask brief …`: print a cluster's or the city's weekly brief, or all fourteen, as PDF, Word or both."""

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from crm.briefs.service import make_brief
from crm.cli.common import CliError, committing, os_problem
from crm.core.weeks import last_week
from crm.industry.service import all_clusters
from reports.figures import BriefError, Scope, normal_week, resolve_cluster

FORMATS = ("pdf", "docx", "both")


@click.command("brief")
@with_appcontext
@click.option("--cluster", "cluster", metavar="NAME", help="产业集群全称或简称，如 轻合金")
@click.option("--city", is_flag=True, help="全市周报")
@click.option("--all", "all_", is_flag=True, help="全部集群及全市（-o 为目录）")
@click.option("--week", "week", metavar="YYYY-Www", help="ISO 周，如 2026-W47（默认上一个完整周）")
@click.option("-o", "--output", "output", metavar="FILE|DIR", help="输出的 PDF 文件（--all 时为目录）")
@click.option(
    "--format",
    "format_",
    default="pdf",
    show_default=True,
    metavar="pdf|docx|both",
    help="输出 PDF、Word（.docx，与 PDF 同名）或两者",
)
def brief_command(cluster, city, all_, week, output, format_):
    """Weekly briefing PDFs (WeasyPrint) and Word documents; each brief is also kept in the archive
    (both files). The .docx is written beside the PDF under the same name."""
    # Checked here rather than by click.Choice, whose refusal is English.
    format_ = (format_ or "").strip().lower()
    if format_ not in FORMATS:
        raise CliError(f"--format 应为 pdf、docx 或 both（收到“{format_[:20]}”）")
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
    elif format_ != "docx" and target.suffix.lower() == ".docx":
        raise CliError(f"{output} 是 Word 文件名；-o 给出 PDF 文件名，Word 文件与它同名、扩展名为 .docx")
    started = time.perf_counter()
    for number, (label, scope) in enumerate(scopes, 1):
        begun = time.perf_counter()
        path = target / f"{label}-{week}.pdf" if all_ else target
        with committing("命令行：brief"):
            brief = make_brief(scope, week, "命令行")
            files = []
            if format_ in ("pdf", "both"):
                files.append((path, brief.pdf))
            if format_ in ("docx", "both"):
                files.append((path.with_suffix(".docx"), brief.docx))
            # Written before the commit: a file that could not be saved is not archived either
            # (the CliError leaves committing() without committing).
            for file, data in files:
                try:
                    file.write_bytes(data)
                except OSError as error:
                    raise CliError(f"无法写入 {file}：{os_problem(error)}") from error
        seconds = time.perf_counter() - begun
        written = "，".join(f"{file}（{len(data) // 1024} KB）" for file, data in files)
        issue = f"{brief.issue.year}年第 {brief.issue.number} 期"
        click.echo(f"[{number}/{len(scopes)}] {label} {issue}：{written}，{seconds:.1f} 秒")
    if len(scopes) > 1:
        click.echo(f"完成：{len(scopes)} 份周报，共 {time.perf_counter() - started:.1f} 秒")
