"""`flask match …`: match firms in a CSV against the catalogue (the contract: `flask --app app match
FILE.csv [--top N]`), learn from officers' corrections, measure the matcher on the labelled set, and
count the word lists."""

import csv
import json

import click
from flask.cli import AppGroup

from crm.cli.common import CliError, committing, os_problem
from crm.matching.learning import evaluate
from crm.matching.vocabulary import VocabularyError, load_vocabulary
from crm.readmodels.learning import LearningError, evaluation_firms, learn, short_names
from crm.readmodels.matching import build_matcher, get_matcher

SUBCOMMANDS_HELP = (
    "子命令：learn（从人工更正中提出改进建议）、evaluate（评测集准确率）、vocabulary（词表统计）"
)


class MatchGroup(AppGroup):
    """A group whose first argument may be a file: `flask match firms.csv --top 3` runs the hidden
    `file` command, so the batch command keeps its form while `learn`, `evaluate` and `vocabulary`
    sit beside it."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["file", *args]
        return super().parse_args(ctx, args)


match_cli = MatchGroup(
    "match",
    help=f"按招商目录匹配企业：flask match FILE.csv [--top N]。{SUBCOMMANDS_HELP}。",
)


@match_cli.command("file", hidden=True)
# A plain argument, not click.Path: click's own checks answer in English ("File … is a directory").
@click.argument("file")
@click.option("--top", "top", default="5", metavar="N", help="每个列表最多列出几项（默认 5）")
def match_file_command(file: str, top: str):
    """Match firms in a UTF-8 CSV (header with name and products; description, tags and scope
    (经营范围) used when present): one JSON object per line on standard output, best first in
    every list; the firms with no match are listed again on standard error."""

    if not top.isdigit() or not 1 <= int(top) <= 1000:
        raise CliError(f"--top 应为 1 到 1000 之间的整数（收到“{top[:20]}”）")
    # Python's csv refuses cells over 128 KB (in English); a firm's products cell is bounded only by
    # the file itself, and matching a 1 MB cell takes well under a second.
    csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))
    reader = None
    unmatched: list[str] = []
    count = 0
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [column for column in ("name", "products") if column not in header]
            if missing:
                raise CliError(
                    f"CSV 表头缺少列：{'、'.join(missing)}。表头须包含 name 和 products"
                    f"（可另有 description、tags、scope 等列）；现有表头：{'、'.join(header) or '（空）'}"
                )
            reader.fieldnames = header
            matcher = get_matcher()
            limit = int(top)
            lines = []
            for row in reader:
                count += 1
                name = row.get("name") or ""
                result = matcher.match(
                    name=name,
                    products=row.get("products") or "",
                    description=row.get("description") or "",
                    tags=row.get("tags") or "",
                    limit=limit,
                    scope=row.get("scope") or "",
                )
                if not result.clusters:
                    unmatched.append(f"第 {reader.line_num} 行 {name or '（无名称）'}：{result.why[-1]}")
                lines.append(json.dumps(result.as_json(name, limit), ensure_ascii=False))
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
    # Standard output stays one JSON object per firm; the unmatched ones are told apart here.
    if unmatched:
        click.echo(f"未匹配到产业集群 {len(unmatched)} 家（共 {count} 家）：", err=True)
        for line in unmatched:
            click.echo(f"  {line}", err=True)
    else:
        click.echo(f"共 {count} 家，全部匹配到产业集群。", err=True)


@match_cli.command(
    "learn", help="从人工更正中提出新增词与降权建议，供经理在“匹配学习”页面审核；打印建议前后的准确率。"
)
def learn_command():
    """Propose new terms and weights from officers' corrections, for a manager to accept on the
    匹配学习 page; the figures before and after the proposals are printed. Changes no match."""
    with committing("命令行：match learn"):  # a LearningError (a Refusal) becomes the Chinese error
        report = learn()
    for line in report.lines():
        click.echo(line)


@match_cli.command(
    "evaluate", help="在评测集（默认 tests/data/match_eval.yaml）上计算各集群 top-1、top-3 准确率与未匹配数。"
)
@click.argument("file", required=False)
def evaluate_command(file: str | None):
    """Top-1 and top-3 cluster accuracy on the labelled set (default tests/data/match_eval.yaml),
    per cluster, with the share of firms left unmatched and every miss."""
    try:
        firms = evaluation_firms(file)
    except LearningError as error:
        raise CliError(str(error)) from error
    if not firms:
        raise CliError(f"评测集为空或不存在：{file or 'tests/data/match_eval.yaml'}")
    figures = evaluate(build_matcher(), firms, short_names())
    click.echo(f"评测集 {figures.summary()}")
    click.echo("集群\t企业数\ttop-1\ttop-3")
    for name, row in sorted(figures.clusters.items(), key=lambda kv: -kv[1].firms):
        click.echo(f"{name}\t{row.firms}\t{row.top1 / row.firms:.1%}\t{row.top3 / row.firms:.1%}")
    for miss in figures.misses:
        click.echo(f"  未命中 top-1：{miss}")


@match_cli.command("vocabulary", help="按来源统计各产业链、集群与目录条目的匹配词数。")
def vocabulary_command():
    """How many terms each chain and cluster has, by source (the word lists' review table)."""
    try:
        vocabulary = load_vocabulary()
    except VocabularyError as error:
        raise CliError(str(error)) from error
    sources = list(vocabulary.sources)
    table = vocabulary.counts()
    click.echo("层级\t对象\t合计\t" + "\t".join(sources))
    levels = {"chains": "产业链", "clusters": "集群", "entries": "目录条目"}
    for (level, target), counter in table.items():
        cells = "\t".join(str(counter.get(source, 0)) for source in sources)
        click.echo(f"{levels[level]}\t{target}\t{sum(counter.values())}\t{cells}")
    total = sum(sum(c.values()) for c in table.values())
    click.echo(f"合计 {total} 个词（按对象去重）；来源：")
    for key, text in vocabulary.sources.items():
        click.echo(f"  {key}：{text}")
