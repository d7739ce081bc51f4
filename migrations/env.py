"""Alembic environment for Flask-Migrate: the app's engine and metadata (Flask-SQLAlchemy 3)."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from crm.cli.dbsafety import refuse_lossy_downgrades
from crm.extensions import migration_include_object

config = context.config
# Keep loggers configured elsewhere (the app's, pytest's) working after a migration.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def _forced() -> bool:
    """`flask db downgrade -x force=1 …`: delete the data a downgrade drops (see crm/cli/dbsafety.py)."""
    value = context.get_x_argument(as_dictionary=True).get("force")
    return value is not None and value.strip().lower() in {"", "1", "true", "yes"}


def run_migrations_offline():
    """Emit SQL to the script output instead of running it."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_db.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run the migrations on the app's engine."""

    def process_revision_directives(context, revision, directives):
        # An autogenerate that finds no change writes no empty revision file.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("include_object", migration_include_object)
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations copy and drop SQLite tables, which enforced foreign keys would block.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun transaction, so Alembic's own one commits
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            # Alembic gives env.py the steps a command will run only as that command's `fn`:
            # configured again with it wrapped, a downgrade that would delete rows is refused before
            # its first step (crm/cli/dbsafety.py), unless run with `-x force=1`.
            opts = context.get_context().opts
            if (steps_fn := opts.get("fn")) is not None:
                destination = str(opts.get("destination_rev") or "")  # as typed, for the message
                guarded = refuse_lossy_downgrades(steps_fn, force=_forced(), destination=destination)
                context.configure(
                    connection=connection, target_metadata=target_db.metadata, fn=guarded, **conf_args
                )
            with context.begin_transaction():
                context.run_migrations()
        except BaseException:
            connection.rollback()  # PRAGMA foreign_keys is ignored inside a transaction
            raise
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
