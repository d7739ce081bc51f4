"""`flask map …`: load the industry map's reviewed data files into the database, or export them."""

import csv
import json

import click
from flask.cli import AppGroup, with_appcontext

from crm.cli.common import CliError, committing, os_problem
from crm.industry.loader import load_map
from crm.industry.service import export_map
from crm.readmodels.matching import get_matcher

map_cli = AppGroup("map", help="产业地图数据：载入与导出。")


@map_cli.command("load")
def load_command():
    """Load the map's data files; idempotent, every change audited."""
    with committing("命令行：map load"):
        report = load_map()
    for line in report.lines():
        click.echo(line)


@map_cli.command("export")
def export_command():
    """Print the whole map and catalogue as UTF-8 JSON."""
    click.echo(json.dumps(export_map(), ensure_ascii=False, indent=2))


@click.command("match")
@with_appcontext
# A plain argument, not click.Path: click's own checks answer in English ("File … is a directory").
@click.argument("file")
@click.option("--top", "top", default="5", metavar="N", help="每个列表最多列出几项（默认 5）")
def match_command(file: str, top: str):
    """Match firms in a UTF-8 CSV (header with name and products) against the catalogue: one JSON
    object per line, best first in every list."""

    if not top.isdigit() or not 1 <= int(top) <= 1000:
        raise CliError(f"--top 应为 1 到 1000 之间的整数（收到“{top[:20]}”）")
    # Python's csv refuses cells over 128 KB (in English); a firm's products cell is bounded only by
    # the file itself, and matching a 1 MB cell takes well under a second.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    reader = None
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [column for column in ("name", "products") if column not in header]
            if missing:
                raise CliError(
                    f"CSV 表头缺少列：{'、'.join(missing)}。表头须包含 name 和 products"
                    f"（可另有 description、tags 等列）；现有表头：{'、'.join(header) or '（空）'}"
                )
            reader.fieldnames = header
            matcher = get_matcher()
            limit = int(top)
            lines = []
            for row in reader:
                result = matcher.match(
                    name=row.get("name") or "",
                    products=row.get("products") or "",
                    description=row.get("description") or "",
                    tags=row.get("tags") or "",
                    limit=limit,
                )
                lines.append(json.dumps(result.as_json(row.get("name") or "", limit), ensure_ascii=False))
                if len(lines) >= 1000:  # written in blocks: one echo per line costs as much as a match
                    click.echo("\n".join(lines))
                    lines.clear()
            if lines:
                click.echo("\n".join(lines))
    except FileNotFoundError as error:
        raise CliError(f"找不到文件：{file}") from error
    except UnicodeDecodeError as error:
        raise CliError("文件不是 UTF-8 编码的 CSV，请另存为 UTF-8 后重试") from error
    except csv.Error as error:  # its messages are English ("line contains NUL"): say where, in Chinese
        line = reader.line_num if reader is not None else 0
        raise CliError(f"CSV 文件第 {line} 行格式有误（例如含有空字符），请检查后重试") from error
    except OSError as error:  # a directory, no permission …
        raise CliError(f"无法读取 {file}：{os_problem(error)}") from error
