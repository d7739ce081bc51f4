"""Alembic is how the schema is made: one head, reversible, and equal to the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from crm import create_app
from crm.extensions import db, migration_include_object
from tests.conftest import fresh_database_url


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
