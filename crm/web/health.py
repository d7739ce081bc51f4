"""GET /healthz for load balancers and monitoring: the database answers and its schema is at the
head of migrations/ — else 503 saying which. Open without login, never cached, no versions of
software in it (the schema revision is ours, and is what an operator must see)."""

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from crm.auth.permissions import public
from crm.extensions import db

bp = Blueprint("health", __name__)

UPGRADE = "请运行 flask --app app db upgrade"


@cache
def migration_scripts(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    """The head revisions and all revisions of the migration scripts (read once per process)."""
    scripts = ScriptDirectory(directory)
    return frozenset(scripts.get_heads()), frozenset(rev.revision for rev in scripts.walk_revisions())


@bp.record_once
def _read_heads(state) -> None:
    # At start-up, not per request: the scripts cannot change under a running server.
    directory = state.app.extensions["migrate"].directory
    state.app.extensions["migration_scripts"] = migration_scripts(str(directory))


def _database_revisions(connection: Connection) -> frozenset[str]:
    """The revisions recorded in the database (none when it was never migrated)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def _cause(error: SQLAlchemyError) -> str:
    # For the server's log only (the answer says less): the driver's error and its first line,
    # without the statement SQLAlchemy appends.
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def _joined(revisions) -> str:
    return ", ".join(sorted(revisions)) or "none"


def check() -> tuple[int, dict]:
    """The status code and the report: status, database, migrations and a Chinese message."""
    heads, known = current_app.extensions["migration_scripts"]
    try:
        connection = db.engine.connect()
    except SQLAlchemyError as error:
        current_app.logger.warning("健康检查：无法连接数据库（%s）", _cause(error))
        return 503, _report("unreachable", "unknown", "无法连接数据库")
    with connection:
        try:
            current = _database_revisions(connection)
        except SQLAlchemyError as error:
            current_app.logger.warning("健康检查：读取迁移版本失败（%s）", _cause(error))
            return 503, _report("error", "unknown", "数据库已连接，但读取迁移版本失败")
    if current == heads:
        return 200, _report("ok", "head", "运行正常")
    migrations = f"{_joined(current or ())} (head {_joined(heads)})"
    if not current:
        message = f"数据库尚未迁移：{UPGRADE}"
    elif current <= known:
        message = f"数据库结构不是最新版本：{UPGRADE}"
    else:  # the database was migrated by newer code than this server runs
        message = "数据库结构比本程序新：请部署与数据库一致的最新代码"
    return 503, _report("ok", migrations, message)


def _report(database: str, migrations: str, message: str) -> dict:
    ok = database == "ok" and migrations == "head"
    return {
        "status": "ok" if ok else "error",
        "database": database,
        "migrations": migrations,
        "message": message,
    }


@bp.route("/healthz")
@public
def healthz():
    """Whether this server can work: 200 when the database answers at the migrations' head, else 503."""
    status, report = check()
    response = jsonify(report)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
