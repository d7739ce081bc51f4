"""`flask map …`: load the industry map's reviewed data files into the database."""

import click
from flask.cli import AppGroup

from crm.audit.listeners import acting_as
from crm.core.cli import CliError
from crm.extensions import db
from crm.industry.service import MapDataError, load_districts

map_cli = AppGroup("map", help="产业地图数据：载入与导出。")


@map_cli.command("load")
def load_command():
    """Load the map's data files; idempotent, every change audited."""
    try:
        with acting_as("命令行：map load"):
            report = load_districts()
        db.session.commit()
    except MapDataError as error:
        db.session.rollback()
        raise CliError(str(error)) from error
    click.echo(f"区县与功能区：{report}")
