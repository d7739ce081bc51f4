"""Command-line plumbing: Chinese errors, and one way for a command to commit its changes."""

from contextlib import contextmanager

import click
from sqlalchemy.exc import SQLAlchemyError

from crm.audit.listeners import acting_as
from crm.extensions import db


class CliError(click.ClickException):
    """A command that cannot be carried out: prints `错误：…` and exits with status 1."""

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True, file=file)


@contextmanager
def committing(actor: str):
    """Run a command's changes as `actor` (for the audit log) and commit them.

    A ValueError from a service (UserError, MapDataError …) or a database failure becomes a Chinese
    error message; everything the command did is rolled back.
    """
    try:
        with acting_as(actor):
            yield
            db.session.flush()  # inside acting_as: the audit entries name this command
        db.session.commit()
    except ValueError as error:
        db.session.rollback()
        raise CliError(str(error)) from error
    except SQLAlchemyError as error:
        db.session.rollback()
        # The statement's parameters (a password hash, say) are not printed.
        raise CliError(
            f"数据库操作失败（{type(error.orig or error).__name__}）。"
            "请确认数据库可用且已运行 flask --app app db upgrade。"
        ) from error
