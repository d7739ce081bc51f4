"""The command line (`flask --app app …`): users, the map, matching, briefs, demo data."""

from flask import Flask

from crm.cli.backup import backup_command, restore_command
from crm.cli.brief import brief_command
from crm.cli.demo import demo_cli
from crm.cli.map import map_cli
from crm.cli.match import match_cli
from crm.cli.notify import notify_cli
from crm.cli.tokens import tokens_cli
from crm.cli.users import users_cli


def register(app: Flask) -> None:
    """Add every command group to the app's CLI."""
    for group in (users_cli, map_cli, demo_cli, match_cli, brief_command):
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(notify_cli)
