"""`flask map …`: load the industry map's reviewed data files into the database, or export them."""

import json

import click
from flask.cli import AppGroup

from crm.cli.common import committing
from crm.industry.loader import load_map
from crm.industry.service import export_map

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
