"""Extensions created once here and bound to an app in create_app."""

import sqlite3

from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic can drop and alter them the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)  # batch mode: SQLite cannot ALTER most constraints in place
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()


# How long an SQLite writer waits for another one to finish before giving up (then the user is
# told to retry, never shown a 500): a web request should not hang much longer than this.
SQLITE_BUSY_TIMEOUT_MS = 10_000


@event.listens_for(Engine, "connect")
def _sqlite_settings(dbapi_connection, connection_record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless asked, per connection; PostgreSQL always enforces them.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Write-ahead logging: readers never wait for the writer nor the writer for readers, so
        # pages stay quick while an import or a save is being written. Kept in the file once set.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def migration_include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Objects Alembic compares with the models: not the search index made by hand in 0004
    (the FTS5 table and its shadow tables on SQLite, the pg_trgm indexes on PostgreSQL)."""
    if type_ == "table" and name and name.startswith("search_fts"):
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))
