"""Alembic is how the schema is made: one head, reversible, and equal to the models; a downgrade
that would delete data is refused unless forced, and a forced one can be upgraded again."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from crm import create_app
from crm.cli.dbsafety import LOSSES
from crm.extensions import db, migration_include_object
from crm.projects.models import Project
from tests.conftest import fresh_database_url
from tests.test_backup import app_on, cli, clone_database, demo_database


def _script_directory(app) -> ScriptDirectory:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config)


def test_single_head(app):
    heads = _script_directory(app).get_heads()
    assert len(heads) == 1, f"多个迁移头：{heads}"


def test_upgrade_downgrade_upgrade(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_database_url(tmp_path, "mig")})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {"users", "districts", "audit_log", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(inspect(db.engine).get_table_names()) == tables
        db.engine.dispose()


def test_models_match_migrations(app):
    # A model change without its migration would show up here as a difference.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": migration_include_object}
        )
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_suite_runs_on_the_database_it_was_given(app):
    # make test runs the suite twice; the second run must really be on PostgreSQL.
    from tests.conftest import on_postgres

    assert db.engine.dialect.name == ("postgresql" if on_postgres() else "sqlite")


def _revision() -> str:
    with db.engine.connect() as conn:
        return ",".join(MigrationContext.configure(conn).get_current_heads())


def _schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": migration_include_object}
        )
        return compare_metadata(context, db.metadata)


def _count(table: str, where: str = "") -> int:
    return db.session.scalar(text(f"SELECT count(*) FROM {table} {where}"))


def test_every_migration_declares_what_its_downgrade_deletes(tmp_path):
    # The guard knows what a downgrade drops only from LOSSES: it must match what each upgrade makes.
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": fresh_database_url(tmp_path, "steps")})
    with app.app_context():
        revisions = [script.revision for script in reversed(list(_script_directory(app).walk_revisions()))]
        assert list(LOSSES) == revisions
        before: dict[str, set[str]] = {}
        for revision in revisions:
            upgrade(revision=revision)
            inspector = inspect(db.engine)
            after = {
                name: {column["name"] for column in inspector.get_columns(name)}
                for name in inspector.get_table_names()
                if name != "alembic_version" and not name.startswith("search_fts")  # derived index
            }
            declared = LOSSES[revision]
            assert {loss.table for loss in declared if loss.column is None} == after.keys() - before.keys()
            assert {(loss.table, loss.column) for loss in declared if loss.column and loss.dropped} == {
                (name, column) for name in before for column in after[name] - before[name]
            }, revision
            before = after
        db.engine.dispose()


def test_a_downgrade_that_would_delete_data_is_refused_unless_forced(tmp_path, tmp_path_factory):
    url = clone_database(demo_database(tmp_path_factory), tmp_path, "guard")
    with app_on(url) as app:
        # The demo's funds ledger would go with 0014: refused, then forced.
        result = cli(app, "db", "downgrade", "0013_list_indexes")
        assert result.exit_code == 1
        assert "到位资金台账（新登记的到位资金、来源、类型与核实结果）（fund_entries）" in result.output
        result = cli(app, "db", "downgrade", "-x", "force=1", "0013_list_indexes")
        assert result.exit_code == 0, result.output
        # 0011 drops derived matches only, 0010 api_tokens, and there are none: no question.
        result = cli(app, "db", "downgrade", "0009_login_attempts")
        assert result.exit_code == 0, result.output
        assert "降级会删除" not in result.output

        result = cli(app, "db", "downgrade", "0006_project_lifecycle")
        assert result.exit_code == 1
        assert "错误：降级会删除以下数据，已停止，数据库未作任何改动" in result.output
        assert "  0007_briefs\n    周报存档的 PDF（briefs）：1 行" in result.output
        assert "flask --app app db downgrade -x force=1 0006_project_lifecycle" in result.output
        with app.app_context():
            assert _revision() == "0009_login_attempts"
            assert _count("briefs") == 1
            updates = _count("project_updates")
            db.session.remove()

        result = cli(app, "db", "downgrade", "-x", "force=1", "0005_imports")
        assert result.exit_code == 0, result.output
        assert "已按 -x force=1 降级" in result.output
        assert f"项目进展（project_updates）：{updates:,} 行" in result.output
        with app.app_context():
            assert _revision() == "0005_imports"
            assert "briefs" not in inspect(db.engine).get_table_names()


def test_upgrade_downgrade_upgrade_with_the_demo_data(tmp_path, tmp_path_factory):
    url = clone_database(demo_database(tmp_path_factory), tmp_path, "roundtrip")
    with app_on(url) as app, app.app_context():
        head = _revision()
        kept = {name: _count(name) for name in ("users", "enterprises", "leads", "follow_ups", "projects")}
        terminated = _count("projects", "WHERE stage = '终止'")
        assert terminated > 0 and _count("project_updates") > 0
        db.session.remove()

        # Across 0006 and 0007: their tables go, the projects stay, and the upgrade takes them back
        # (it used to fail ck_projects_terminated_has_reason on the terminated projects).
        downgrade(revision="0005_imports", x_arg="force=1")
        upgrade()
        assert _revision() == head and _schema_differences() == []
        assert {name: _count(name) for name in kept} == kept
        assert _count("projects", "WHERE stage = '签约' AND termination_reason IS NULL") == kept["projects"]
        assert _count("project_milestones") == 6 * kept["projects"] and _count("project_updates") == 0
        db.session.remove()

        downgrade(revision="base", x_arg="force=1")  # every downgrade, with data in its tables
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert _revision() == head and _schema_differences() == []
        db.engine.dispose()


def _funds_by_project(sql: str) -> dict[int, int]:
    return {row[0]: int(row[1]) for row in db.session.execute(text(sql)) if row[1]}


def test_the_funds_updates_reported_move_into_the_ledger_and_every_total_is_kept(tmp_path, tmp_path_factory):
    url = clone_database(demo_database(tmp_path_factory), tmp_path, "funds")
    with app_on(url) as app, app.app_context():
        downgrade(revision="0013_list_indexes", x_arg="force=1")
        # Before the ledger, updates carried a month's funds and a correction replaced an update.
        db.session.execute(text("UPDATE project_updates SET funds_wan = (id * 37) % 900 WHERE id % 3 <> 0"))
        corrected = db.session.execute(
            text(
                "SELECT id, project_id, reported_on FROM project_updates"
                " WHERE funds_wan > 0 ORDER BY id LIMIT 3"
            )
        ).all()
        for ident, project_id, reported_on in corrected:
            db.session.execute(
                text(
                    "INSERT INTO project_updates (project_id, reported_on, funds_wan, note, issues,"
                    " corrects_id, created_at) VALUES (:p, :d, 7, '更正', '', :c, CURRENT_TIMESTAMP)"
                ),
                {"p": project_id, "d": reported_on, "c": ident},
            )
        # A project's total was the sum over the updates that were not corrected.
        standing = (
            "SELECT project_id, sum(funds_wan) FROM project_updates u WHERE funds_wan IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM project_updates c WHERE c.corrects_id = u.id) GROUP BY project_id"
        )
        db.session.execute(
            text(
                "UPDATE projects SET funds_in_place_wan = coalesce((SELECT sum(funds_wan)"
                " FROM project_updates u WHERE u.project_id = projects.id AND funds_wan IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM project_updates c WHERE c.corrects_id = u.id)), 0)"
            )
        )
        db.session.commit()
        before = _funds_by_project("SELECT id, funds_in_place_wan FROM projects")
        assert before == _funds_by_project(standing) and len(before) > 5
        grand_total = sum(before.values())
        db.session.remove()

        upgrade()
        after = _funds_by_project("SELECT project_id, sum(amount_wan) FROM fund_entries GROUP BY project_id")
        assert after == before
        assert sum(after.values()) == grand_total
        assert _count("fund_entries", "WHERE from_update_id IS NULL OR source_region IS NOT NULL") == 0
        assert _count("fund_entries", "WHERE review <> '待核实'") == 0
        # The corrected updates' money is not in the ledger twice: only the corrections' 7 万元.
        for ident, _, _ in corrected:
            assert _count("fund_entries", f"WHERE from_update_id = {ident}") == 0
        # And what the pages call 实际到位资金 (the shipped 口径) is the same figure.
        for project in db.session.scalars(select(Project)):
            assert project.funds_in_place_wan == before.get(project.id, 0)
            assert project.recorded_funds_wan == before.get(project.id, 0)
        db.session.remove()

        # Going back, each project's total is again what the updates say.
        downgrade(revision="0013_list_indexes", x_arg="force=1")
        assert _funds_by_project("SELECT id, funds_in_place_wan FROM projects") == before
        db.session.remove()  # the session's connection back to the pool before the pool goes
        db.engine.dispose()
