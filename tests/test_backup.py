"""`flask backup` and `flask restore`: a backup of the demo database restores to an identical copy,
checked by the command and, independently, row by row here; a database that is not empty is left
alone unless forced; a damaged or tampered archive is caught."""

import hashlib
import json
import os
import sqlite3
import zipfile
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from crm import create_app
from crm.auth.service import find_user
from crm.briefs.models import Brief
from crm.cli.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from crm.extensions import db
from tests.conftest import IsolatedRunner, build_app, fresh_database_url, on_postgres

# An archived brief: binary, not text, so a driver that mangled bytes would show.
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
ATTACHMENT = ("attachments/2026/合同 扫描件.pdf", b"%PDF-1.4 scanned contract\x00\xff" * 100)

_demo: dict = {}  # made once per run and shared with test_migrations: the demo load takes some 20 s


def cli(app, *args: str):
    """Run `flask …` on `app` as from a shell (not inside the test's own app context)."""
    app.test_cli_runner_class = IsolatedRunner
    return app.test_cli_runner().invoke(args=list(args))


@contextmanager
def app_on(url: str, **overrides):
    """An app on an existing database (nothing migrated or loaded), its pool closed afterwards so
    PostgreSQL can copy or drop the database."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, **overrides})
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()


def demo_database(tmp_path_factory) -> str:
    """The demo data (`flask demo load`), one archived brief and a data file: never changed by a
    test (clone_database for one to change)."""
    if "url" not in _demo:
        url = fresh_database_url(tmp_path_factory.mktemp("demo"), "demo")
        app = build_app(url)
        result = cli(app, "demo", "load")
        assert result.exit_code == 0, result.output
        with app.app_context():
            fuling = find_user("fuling")
            db.session.add(
                Brief(
                    scope="CITY",
                    title="全市招商周报",
                    week="2026-W48",
                    district_id=fuling.district_id,
                    generated_by_id=fuling.id,
                    generated_by_name=fuling.display_name,
                    size=len(PDF),
                    sha256=hashlib.sha256(PDF).hexdigest(),
                    pdf=PDF,
                )
            )
            db.session.commit()
            db.engine.dispose()
        files = tmp_path_factory.mktemp("demo-files")
        (files / ATTACHMENT[0]).parent.mkdir(parents=True)
        (files / ATTACHMENT[0]).write_bytes(ATTACHMENT[1])
        (files / "secret_key").write_text("not data", encoding="utf-8")
        _demo.update(url=url, files=files)
    return _demo["url"]


def demo_backup(tmp_path_factory) -> Path:
    """The demo database backed up by `flask backup -o FILE`, once."""
    if "archive" not in _demo:
        url = demo_database(tmp_path_factory)
        archive = tmp_path_factory.mktemp("backup") / "lianzhao-demo.zip"
        with app_on(url, BACKUP_FILES_ROOT=str(_demo["files"])) as app:
            result = cli(app, "backup", "-o", str(archive))
        assert result.exit_code == 0, result.output
        assert "备份完成" in result.output
        _demo["archive"] = archive
    return _demo["archive"]


def clone_database(url: str, tmp_path: Path, label: str) -> str:
    """A copy of the database at `url`, made without the code under test."""
    if not on_postgres():
        copy = tmp_path / f"{label}.sqlite3"
        source, target = sqlite3.connect(make_url(url).database), sqlite3.connect(copy)
        source.backup(target)
        source.close()
        target.close()
        return f"sqlite:///{copy}"
    name = make_url(fresh_database_url(tmp_path, label)).database
    engine = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    engine.dispose()
    return make_url(os.environ["TEST_DATABASE_URL"]).set(database=name).render_as_string(hide_password=False)


def everything(url: str) -> dict:
    """Every table's rows as the driver returns them (SQLite's search index included), sorted:
    a comparison that shares no code with the command's checksums."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            quote = conn.dialect.identifier_preparer.quote
            return {
                name: sorted(conn.execute(text(f"SELECT * FROM {quote(name)}")).all(), key=repr)
                for name in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def restore(url: str, archive: Path, files: Path, *options: str):
    with app_on(url, BACKUP_FILES_ROOT=str(files)) as app:
        return cli(app, "restore", str(archive), *options)


def test_a_backup_of_the_demo_database_restores_to_an_identical_copy(tmp_path, tmp_path_factory):
    source = demo_database(tmp_path_factory)
    archive = demo_backup(tmp_path_factory)
    assert archive.stat().st_mode & 0o077 == 0  # password hashes: the owner's eyes only
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
    assert "files/" + ATTACHMENT[0] in names
    assert not any(name.endswith("secret_key") for name in names)

    target, files = fresh_database_url(tmp_path, "restored"), tmp_path / "restored-files"
    result = restore(target, archive, files)
    assert result.exit_code == 0, result.output
    assert "校验通过" in result.output

    copy, original = everything(target), everything(source)
    assert copy.keys() == original.keys() and len(copy) >= 28
    assert copy == original
    assert (files / ATTACHMENT[0]).read_bytes() == ATTACHMENT[1]
    assert sorted(p.name for p in files.rglob("*") if p.is_file()) == [Path(ATTACHMENT[0]).name]
    with app_on(target) as app, app.app_context():  # the app works on the copy
        assert find_user("admin").check_password(DEMO_PASSWORD)
        assert db.session.scalars(select(Brief)).one().pdf == PDF


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(tmp_path, tmp_path_factory):
    archive, demo = demo_backup(tmp_path_factory), demo_database(tmp_path_factory)
    target = clone_database(demo, tmp_path, "busy")
    engine = create_engine(target)
    with engine.begin() as conn:  # edited since the backup
        conn.execute(text("UPDATE enterprises SET name = name || '（改）' WHERE id <= 10"))
    engine.dispose()
    files = tmp_path / "files"
    before = everything(target)
    assert before != everything(demo)
    audit_rows = len(before["audit_log"])

    result = restore(target, archive, files)
    assert result.exit_code == 1
    assert "错误：目标不是空的" in result.output and "--force" in result.output
    assert f"audit_log {audit_rows:,} 行" in result.output  # the largest tables, with their rows
    assert everything(target) == before and not files.exists()  # nothing changed

    result = restore(target, archive, files, "--force")
    assert result.exit_code == 0, result.output
    assert everything(target) == everything(demo)


def test_restore_refuses_a_files_directory_that_holds_data(tmp_path, tmp_path_factory):
    archive = demo_backup(tmp_path_factory)
    target, files = fresh_database_url(tmp_path, "empty"), tmp_path / "files"
    (files / "attachments").mkdir(parents=True)
    (files / "attachments" / "old.pdf").write_bytes(b"old")
    result = restore(target, archive, files)
    assert result.exit_code == 1 and "1 个数据文件" in result.output
    assert (files / "attachments" / "old.pdf").read_bytes() == b"old"
    result = restore(target, archive, files, "--force")
    assert result.exit_code == 0, result.output
    assert not (files / "attachments" / "old.pdf").exists()  # the files are now exactly the backup's
    assert (files / ATTACHMENT[0]).read_bytes() == ATTACHMENT[1]


def _rewrite(archive: Path, copy: Path, change) -> Path:
    """A copy of `archive` with `change(name, data) -> data` applied to every member."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(copy, "w") as target:
        for name in source.namelist():
            target.writestr(name, change(name, source.read(name)))
    return copy


def test_restore_reports_a_table_that_differs_from_the_backup(tmp_path, tmp_path_factory):
    def one_user_more(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["tables"]["users"]["rows"] += 1
        return json.dumps(manifest).encode()

    tampered = _rewrite(demo_backup(tmp_path_factory), tmp_path / "tampered.zip", one_user_more)
    result = restore(fresh_database_url(tmp_path, "t"), tampered, tmp_path / "files")
    assert result.exit_code == 1
    users = len(DEMO_ACCOUNTS)
    assert "校验不一致" in result.output and f"users：备份 {users + 1} 行，恢复后 {users} 行" in result.output


def test_restore_refuses_a_damaged_archive_before_touching_anything(tmp_path, tmp_path_factory):
    def flip_a_byte(name, data):
        return data[:5000] + bytes([data[5000] ^ 1]) + data[5001:] if name.startswith("database.") else data

    damaged = _rewrite(demo_backup(tmp_path_factory), tmp_path / "damaged.zip", flip_a_byte)
    target = fresh_database_url(tmp_path, "d")
    result = restore(target, damaged, tmp_path / "files")
    assert result.exit_code == 1 and "备份文件已损坏" in result.output
    assert everything(target) == {}

    (tmp_path / "other.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip file
    result = restore(target, tmp_path / "other.zip", tmp_path / "files")
    assert result.exit_code == 1 and "不是链招的备份文件" in result.output


def test_backup_never_overwrites_a_file(tmp_path, tmp_path_factory):
    existing = tmp_path / "old.zip"
    existing.write_bytes(b"an older backup")
    with app_on(demo_database(tmp_path_factory), BACKUP_FILES_ROOT=str(tmp_path)) as app:
        result = cli(app, "backup", "-o", str(existing))
    assert result.exit_code == 1 and "已存在" in result.output
    assert existing.read_bytes() == b"an older backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.zip"]  # no leftovers
