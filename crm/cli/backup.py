"""`flask backup -o FILE` and `flask restore FILE`: the whole database and the data files under
instance/ in one archive, restored into an empty database and checked table by table.

The archive is a zip file:

- `database.sqlite3`: SQLite's online backup API copies the live database page by page, consistent
  even while the app writes (the WAL and the locks are SQLite's business, not ours);
- or `database.pgdump`: `pg_dump --format=custom` (compressed, restored with pg_restore) of
  PostgreSQL, taken in the same snapshot as the checksums below;
- `files/…`: every data file under instance/ (attachments, when they come). Not the database, not
  `secret_key` (without it users only log in again, and a stolen backup cannot forge sessions),
  not hidden or temporary files, not other backups;
- `manifest.json`: schema revision, per-table row counts and checksums, each file's size and SHA-256.

The archived brief PDFs are rows of `briefs`, so they travel with the database.

A table's checksum is SHA-256 over its rows in primary-key order, each row a JSON line of values in
one canonical form whatever the engine returned (times in UTC, decimals without trailing zeros,
JSON with sorted keys, binary as its SHA-256), so the same rows give the same checksum on SQLite
and PostgreSQL. SQLite's full-text index (a virtual table and its shadow tables) is left out: it
is derived from the rows and copied with the file anyway.

Restore refuses a database that holds any row, or a files directory that holds any data file,
unless `--force`; it never crosses engines (an SQLite backup restores into SQLite only). Once
restored, the counts and checksums are computed again from the restored database and compared with
the manifest: any difference is an error (exit status 1).
"""

import glob
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import zipfile
from contextlib import contextmanager
from datetime import UTC, date, datetime
from datetime import time as clock
from decimal import Decimal
from pathlib import Path

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Column, Connection, Engine, MetaData, Table, create_engine, func, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from crm.cli.common import CliError, os_problem
from crm.core.timeutil import format_local
from crm.extensions import db

FORMAT = "lianzhao-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
FILES = "files/"
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
CHUNK = 1 << 20
EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)")  # a line of `pg_restore --list`


# -- what is data ------------------------------------------------------------------------------


def data_tables(connection: Connection) -> list[str]:
    """The tables whose rows are the data: all but SQLite's full-text index and its shadow tables."""
    names = inspect(connection).get_table_names()
    if connection.dialect.name == "sqlite":
        virtual = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
        ).scalars()
        derived = tuple(virtual)
        names = [n for n in names if not any(n == v or n.startswith(v + "_") for v in derived)]
    return sorted(names)


def _canonical(value):
    """One form per value, whichever engine and driver produced it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date | clock):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def _table_fingerprint(connection: Connection, name: str) -> dict:
    inspector = inspect(connection)
    # Columns with their reflected types (so SQLite's stored text comes back as dates, decimals,
    # JSON …), without the indexes and constraints a full reflection would read.
    table = Table(name, MetaData(), *(Column(c["name"], c["type"]) for c in inspector.get_columns(name)))
    keys = inspector.get_pk_constraint(name).get("constrained_columns") or []
    query = select(table).order_by(*(table.c[key] for key in keys)).execution_options(yield_per=500)
    lines = (
        json.dumps([_canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        for row in connection.execute(query)
    )
    if not keys:  # no primary key: order by the canonical rows themselves
        lines = iter(sorted(lines))
    digest, rows = hashlib.sha256(), 0
    for line in lines:
        digest.update(line.encode("utf-8") + b"\n")
        rows += 1
    return {"rows": rows, "sha256": digest.hexdigest()}


def fingerprint(connection: Connection) -> dict[str, dict]:
    """Row count and checksum of every data table."""
    return {name: _table_fingerprint(connection, name) for name in data_tables(connection)}


def row_counts(connection: Connection) -> dict[str, int]:
    """The tables that hold rows, and how many (the schema revision does not count)."""
    counts = {}
    for name in data_tables(connection):
        if name != "alembic_version":
            table = Table(name, MetaData())
            if rows := connection.scalar(select(func.count()).select_from(table)):
                counts[name] = rows
    return counts


def _revision(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(heads) or None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_backup(path: Path) -> bool:
    """Whether `path` is an archive this command wrote (kept out of the next backup's files)."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read(MANIFEST)).get("format") == FORMAT
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False


def files_root() -> Path:
    """Where data files live: instance/ (BACKUP_FILES_ROOT in tests)."""
    return Path(current_app.config.get("BACKUP_FILES_ROOT") or current_app.instance_path)


def data_files(root: Path, skip: set[Path]) -> list[Path]:
    """The data files under `root`, as paths relative to it."""
    if not root.is_dir():
        return []
    found = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
        for name in sorted(names):
            path = Path(directory) / name
            if name.startswith(".") or name == "secret_key" or not path.is_file():
                continue
            if path.resolve() in skip or _is_backup(path):
                continue
            found.append(path.relative_to(root))
    return found


def _not_data(engine: Engine) -> set[Path]:
    """The database files themselves (the archive carries the database by other means)."""
    candidates = [Path(current_app.instance_path) / "lianzhao.sqlite3"]
    if engine.dialect.name == "sqlite" and engine.url.database:
        candidates.append(Path(engine.url.database))
    return {
        Path(f"{path}{suffix}").resolve()
        for path in candidates
        for suffix in ("", "-wal", "-shm", "-journal")
    }


# -- SQLite and PostgreSQL ---------------------------------------------------------------------


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise CliError("只能备份和恢复文件形式的 SQLite 数据库")
    return Path(database)


def _pg_tool(name: str) -> str:
    """pg_dump / pg_restore: the newest of /usr/lib/postgresql/*/bin (Debian keeps every installed
    version there; a newer pg_dump reads older servers), else the one on PATH."""

    def major(path: str) -> tuple[int, ...]:
        version = Path(path).parent.parent.name
        return tuple(int(p) for p in version.split(".") if p.isdigit())

    installed = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=major)
    found = installed[-1] if installed else shutil.which(name)
    if not found:
        raise CliError(f"未找到 {name}：请安装 PostgreSQL 客户端（apt-get install -y postgresql-client）")
    return found


def _pg_target(url: URL) -> tuple[str, dict]:
    """A libpq connection string for the pg_* programs; the password goes in the environment, not
    on the command line where `ps` shows it."""
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return conninfo, env


def _run(command: list[str], env: dict) -> str:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except OSError as error:
        raise CliError(f"无法运行 {Path(command[0]).name}：{os_problem(error)}") from error
    if done.returncode != 0:
        raise CliError(f"{Path(command[0]).name} 失败：{done.stderr.strip()}")
    return done.stdout


def _snapshot_sqlite(engine: Engine, work: Path) -> tuple[Path, str | None, dict, str]:
    path = _sqlite_path(engine)
    if not path.is_file():
        raise CliError(f"数据库文件 {path} 不存在")
    copy = work / SQLITE_MEMBER
    source = engine.raw_connection()
    try:
        target = sqlite3.connect(copy)
        try:
            source.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    # The counts and checksums are the copy's: they describe exactly what the archive holds.
    snapshot = create_engine(f"sqlite:///{copy}")
    try:
        with snapshot.connect() as connection:
            check = connection.exec_driver_sql("PRAGMA quick_check").scalar()
            if check != "ok":
                raise CliError(f"数据库文件损坏（PRAGMA quick_check：{check}），未写备份")
            return copy, _revision(connection), fingerprint(connection), sqlite3.sqlite_version
    finally:
        snapshot.dispose()


def _snapshot_postgresql(engine: Engine, work: Path) -> tuple[Path, str | None, dict, str]:
    dump = work / PG_MEMBER
    conninfo, env = _pg_target(engine.url)
    with engine.connect() as connection:
        # One snapshot for pg_dump and for the checksums: rows written meanwhile are in neither.
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            _run(
                [
                    _pg_tool("pg_dump"),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--file={dump}",
                    conninfo,
                ],
                env,
            )
            version = connection.exec_driver_sql("SHOW server_version").scalar()
            return dump, _revision(connection), fingerprint(connection), str(version)


def _restore_sqlite(engine: Engine, database: Path) -> None:
    target = _sqlite_path(engine)
    engine.dispose()  # no pooled connection of ours holds the file
    source = sqlite3.connect(database)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)  # replaces every page: schema, rows, search index
        finally:
            destination.close()
    finally:
        source.close()
    engine.dispose()


def _restore_postgresql(engine: Engine, dump: Path, tables: set[str]) -> None:
    conninfo, env = _pg_target(engine.url)
    with engine.begin() as connection:
        # Tables the archive does not have (a target at a later revision) would outlive the restore.
        quote = connection.dialect.identifier_preparer.quote
        for name in set(inspect(connection).get_table_names()) - tables:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
        installed = set(connection.exec_driver_sql("SELECT extname FROM pg_extension").scalars())
    engine.dispose()
    # Extensions the target already has are left alone: whoever installed them (often a superuser)
    # owns them, and the app's account could neither drop nor re-create them.
    listing = [
        line
        for line in _run([_pg_tool("pg_restore"), "--list", str(dump)], env).splitlines()
        if not ((entry := EXTENSION_ENTRY.match(line)) and entry.group(1) in installed)
    ]
    use_list = dump.with_suffix(".list")
    use_list.write_text("\n".join(listing) + "\n", encoding="utf-8")
    # --clean --if-exists inside --single-transaction: the archive's tables are dropped and made
    # again in one transaction, so a failed restore leaves the database as it was.
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--no-comments",
            f"--use-list={use_list}",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
    )


# -- the commands ------------------------------------------------------------------------------


@contextmanager
def _database_errors():
    """A database that cannot be reached or read is an error message, not a traceback."""
    try:
        yield
    except (SQLAlchemyError, sqlite3.Error) as error:
        cause = getattr(error, "orig", None) or error
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        raise CliError(f"数据库操作失败（{type(cause).__name__}：{detail}）") from error


def _size(count: int) -> str:
    return f"{count / 1024 / 1024:.1f} MB" if count >= 1024 * 1024 else f"{count / 1024:.0f} KB"


@click.command("backup")
@with_appcontext
@click.option("-o", "--output", "output", metavar="FILE", help="备份文件（zip），如 lianzhao-2026-12-09.zip")
def backup_command(output):
    """Back up the database and the data files under instance/ into one file."""
    with _database_errors():
        _backup(output)


def _backup(output: str | None) -> None:
    if not output:
        raise CliError("请用 -o 指定备份文件，如 -o lianzhao-$(date +%F).zip")
    target = Path(output)
    if target.exists():
        raise CliError(f"{target} 已存在：请换一个文件名（备份不覆盖已有文件）")
    if not target.parent.is_dir():
        raise CliError(f"目录 {target.parent} 不存在")
    started = time.perf_counter()
    engine = db.engine
    dialect = engine.dialect.name
    if dialect not in ENGINES:
        raise CliError(f"不支持备份 {dialect} 数据库")
    root = files_root()
    try:
        work = Path(tempfile.mkdtemp(prefix=".lianzhao-backup-", dir=target.parent))
    except OSError as error:
        raise CliError(f"无法在 {target.parent} 写入：{os_problem(error)}") from error
    try:
        snapshot = _snapshot_sqlite if dialect == "sqlite" else _snapshot_postgresql
        database, revision, tables, version = snapshot(engine, work)
        files = data_files(root, _not_data(engine) | {target.resolve()})
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": dialect,
            "server_version": version,
            "revision": revision,
            "database": {
                "member": database.name,
                "size": database.stat().st_size,
                "sha256": _sha256_file(database),
            },
            "tables": tables,
            "files": {},
        }
        partial = work / "archive.zip"
        with zipfile.ZipFile(partial, "w") as archive:
            # A custom-format dump is compressed already; the SQLite file shrinks several times.
            method = zipfile.ZIP_DEFLATED if dialect == "sqlite" else zipfile.ZIP_STORED
            archive.write(database, database.name, compress_type=method)
            for relative in files:
                path = root / relative
                manifest["files"][relative.as_posix()] = {
                    "size": path.stat().st_size,
                    "sha256": _sha256_file(path),
                }
                archive.write(path, FILES + relative.as_posix(), compress_type=zipfile.ZIP_STORED)
            text = json.dumps(manifest, ensure_ascii=False, indent=1)
            archive.writestr(MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
        os.chmod(partial, 0o600)  # password hashes and contacts: readable by the owner only
        os.replace(partial, target)  # never a half-written file under the final name
    except OSError as error:
        raise CliError(f"无法写入备份：{os_problem(error)}") from error
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = sum(t["rows"] for t in tables.values())
    click.echo(f"备份完成：{target}")
    click.echo(
        f"  数据库：{ENGINES[dialect]} {version}，版本 {revision or '（未迁移）'}，"
        f"{len(tables)} 张表，共 {rows:,} 行"
    )
    click.echo(f"  数据文件：{len(files)} 个（{root}）")
    click.echo(f"  大小：{_size(target.stat().st_size)}，用时 {time.perf_counter() - started:.1f} 秒")


def _read_manifest(archive: zipfile.ZipFile, name: str) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as error:
        raise CliError(f"{name} 不是链招的备份文件（没有可读的 {MANIFEST}）") from error
    if manifest.get("format") != FORMAT:
        raise CliError(f"{name} 不是链招的备份文件")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CliError(f"{name} 的格式版本 {manifest.get('format_version')} 不受支持：请用更新的代码恢复")
    return manifest


def _check_member(archive: zipfile.ZipFile, member: str, expected: dict) -> None:
    """The member's bytes are the ones the manifest describes (before anything is touched)."""
    digest = hashlib.sha256()
    try:
        with archive.open(member) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
    except KeyError as error:
        raise CliError(f"备份文件不完整：缺少 {member}") from error
    except (zipfile.BadZipFile, OSError) as error:  # a CRC error reads as BadZipFile
        raise CliError(f"备份文件已损坏：{member} 无法读出（{error}）") from error
    if digest.hexdigest() != expected.get("sha256"):
        raise CliError(f"备份文件已损坏：{member} 与清单中的校验和不符")


def _safe_path(root: Path, relative: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()) or path == root.resolve():
        raise CliError(f"备份文件中的路径不安全：{relative}")
    return path


def _describe_rows(counts: dict[str, int]) -> str:
    largest = sorted(counts.items(), key=lambda item: -item[1])
    text = "、".join(f"{name} {rows:,} 行" for name, rows in largest[:5])
    return text + (f" 等 {len(counts)} 张表" if len(counts) > 5 else "")


def compare(manifest_tables: dict, restored: dict) -> list[str]:
    """The differences between the manifest's tables and the restored ones, in Chinese."""
    problems = []
    for name in sorted(set(manifest_tables) | set(restored)):
        expected, found = manifest_tables.get(name), restored.get(name)
        if found is None:
            problems.append(f"{name}：备份中有此表，恢复后没有")
        elif expected is None:
            problems.append(f"{name}：备份中没有此表，恢复后却有")
        elif expected["rows"] != found["rows"]:
            problems.append(f"{name}：备份 {expected['rows']:,} 行，恢复后 {found['rows']:,} 行")
        elif expected["sha256"] != found["sha256"]:
            problems.append(f"{name}：行数相同（{found['rows']:,}）但内容的校验和不同")
    return problems


@click.command("restore")
@with_appcontext
@click.argument("archive_path", metavar="FILE", required=False)
@click.option("--force", is_flag=True, help="目标数据库或数据文件目录不是空的也恢复（覆盖其中全部数据）")
def restore_command(archive_path, force):
    """Restore a backup into an empty database, then check every table against the backup."""
    with _database_errors():
        _restore(archive_path, force)


def _restore(archive_path: str | None, force: bool) -> None:
    if not archive_path:
        raise CliError("请指定备份文件：flask --app app restore FILE")
    started = time.perf_counter()
    path = Path(archive_path)
    if not path.is_file():
        raise CliError(f"备份文件 {path} 不存在")
    engine = db.engine
    dialect = engine.dialect.name
    root = files_root()
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise CliError(f"{path} 不是链招的备份文件（不是 zip 文件）") from error
    except OSError as error:
        raise CliError(f"无法读取 {path}：{os_problem(error)}") from error
    with archive:
        manifest = _read_manifest(archive, str(path))
        if manifest.get("engine") != dialect:
            raise CliError(
                f"这是 {ENGINES.get(manifest.get('engine'), manifest.get('engine'))} 的备份，"
                f"目标是 {ENGINES.get(dialect, dialect)} 数据库：不支持跨数据库恢复"
            )
        member = manifest["database"]["member"]
        if member != (SQLITE_MEMBER if dialect == "sqlite" else PG_MEMBER):
            raise CliError(f"{path} 的清单不完整：数据库文件名 {member} 不对")
        _check_member(archive, member, manifest["database"])
        targets = {name: _safe_path(root, name) for name in manifest["files"]}
        for name, expected in manifest["files"].items():
            _check_member(archive, FILES + name, expected)

        db.session.remove()
        with engine.connect() as connection:
            counts = row_counts(connection)
        existing = data_files(root, _not_data(engine))
        if (counts or existing) and not force:
            what = []
            if counts:
                what.append(f"数据库中有数据（{_describe_rows(counts)}）")
            if existing:
                what.append(f"{root} 下有 {len(existing)} 个数据文件")
            raise CliError(
                "目标不是空的：" + "；".join(what) + "。恢复会覆盖其中全部数据，未作任何改动。"
                "\n请确认目标无误（必要时先备份：flask --app app backup -o FILE），再加 --force 重新运行。"
            )

        with tempfile.TemporaryDirectory(prefix=".lianzhao-restore-") as work:
            database = Path(archive.extract(member, work))
            if dialect == "sqlite":
                _restore_sqlite(engine, database)
            else:
                _restore_postgresql(engine, database, set(manifest["tables"]))
        for relative in existing:  # only with --force: the files become exactly the archive's
            (root / relative).unlink()
        for name, destination in targets.items():
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(FILES + name) as source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink, CHUNK)

    with engine.connect() as connection:
        restored, revision = fingerprint(connection), _revision(connection)
    engine.dispose()
    problems = compare(manifest["tables"], restored)
    for name, expected in manifest["files"].items():
        if _sha256_file(targets[name]) != expected["sha256"]:
            problems.append(f"文件 {name}：内容与备份不符")
    if revision != manifest.get("revision"):
        problems.append(f"数据库版本：备份 {manifest.get('revision')}，恢复后 {revision}")
    try:
        made = format_local(datetime.fromisoformat(manifest.get("created_at")))
    except (TypeError, ValueError):
        made = "（时间不详）"
    click.echo(f"已恢复：{path}（备份于北京时间 {made}，数据库版本 {revision}）")
    if problems:
        raise CliError("校验不一致：\n  " + "\n  ".join(problems))
    rows = sum(t["rows"] for t in restored.values())
    click.echo(
        f"校验通过：{len(restored)} 张表的行数与校验和、{len(targets)} 个数据文件均与备份一致"
        f"（共 {rows:,} 行），用时 {time.perf_counter() - started:.1f} 秒"
    )
    heads = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config()).get_heads()
    if revision and revision not in heads:
        click.echo(
            f"注意：代码的数据库版本是 {','.join(heads)}，请运行 flask --app app db upgrade"
            "（若备份来自更新的代码，请改用那一版代码）。"
        )
