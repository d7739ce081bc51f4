"""Command-line plumbing: Chinese errors, and one way for a command to commit its changes."""

import errno
from contextlib import contextmanager

import click
from sqlalchemy.exc import SQLAlchemyError

from crm.core.actor import acting_as
from crm.core.transaction import Refusal, as_refusal
from crm.extensions import db


class CliError(click.ClickException):
    """A command that cannot be carried out: prints `错误：…` and exits with status 1."""

    def show(self, file=None) -> None:
        click.echo(f"错误：{self.format_message()}", err=True, file=file)


# What the operating system said, in Chinese (its own strerror is English: "Permission denied").
OS_PROBLEMS = {
    errno.ENOENT: "文件或目录不存在",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EISDIR: "这是一个目录，不是文件",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EROFS: "文件系统只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EEXIST: "已存在同名文件",
    errno.ENAMETOOLONG: "文件名太长",
}


def os_problem(error: OSError) -> str:
    """A file-system error as a Chinese phrase."""
    return OS_PROBLEMS.get(error.errno, f"操作系统错误（代码 {error.errno}）")


@contextmanager
def committing(actor: str):
    """Run a command's changes as `actor` (for the audit log) and commit them.

    A service's refusal (UserError, MapDataError …), a lost race or a database failure becomes a
    Chinese error message; everything the command did is rolled back.
    """
    try:
        with acting_as(actor):
            yield
            db.session.flush()  # inside acting_as: the audit entries name this command
        db.session.commit()
    except (Refusal, SQLAlchemyError) as error:
        db.session.rollback()
        refusal = as_refusal(error)
        if refusal is not None:
            raise CliError(str(refusal)) from error
        # The statement's parameters (a password hash, say) are not printed.
        raise CliError(
            f"数据库操作失败（{type(getattr(error, 'orig', None) or error).__name__}）。"
            "请确认数据库可用且已运行 flask --app app db upgrade。"
        ) from error
