"""Command-line errors in Chinese."""

import click


class CliError(click.ClickException):
    """A command that cannot be carried out: prints `错误：…` and exits with status 1."""

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True, file=file)
