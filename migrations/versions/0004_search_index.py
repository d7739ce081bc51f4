"""Chinese full-text search: an FTS5 trigram index kept by triggers on SQLite, pg_trgm GIN
indexes on PostgreSQL.

Revision ID: 0004_search_index
Revises: 0003_enterprises_leads
Create Date: 2026-11-24 20:00:00

"""
from alembic import op

revision = "0004_search_index"
down_revision = "0003_enterprises_leads"
branch_labels = None
depends_on = None

# What each kind of row contributes to the index (SQLite), as SQL over the NEW/OLD row.
SOURCES = {
    "enterprise": ("enterprises", "coalesce({r}.name,'') || ' ' || coalesce({r}.search_text,'')"),
    "contact": ("contacts", "coalesce({r}.name,'') || ' ' || coalesce({r}.title,'') || ' ' || coalesce({r}.phone,'') || ' ' || coalesce({r}.email,'')"),
    "lead": ("leads", "coalesce({r}.title,'')"),
}


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(kind UNINDEXED, ref_id UNINDEXED, body, tokenize='trigram')")
        for kind, (table, body) in SOURCES.items():
            new, old = body.format(r="NEW"), body.format(r="OLD")
            op.execute(
                f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO search_fts(kind, ref_id, body) VALUES ('{kind}', NEW.id, lower({new})); END"
            )
            op.execute(
                f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} BEGIN "
                f"DELETE FROM search_fts WHERE kind = '{kind}' AND ref_id = OLD.id; "
                f"INSERT INTO search_fts(kind, ref_id, body) VALUES ('{kind}', NEW.id, lower({new})); END"
            )
            op.execute(
                f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
                f"DELETE FROM search_fts WHERE kind = '{kind}' AND ref_id = OLD.id; END"
            )
            op.execute(f"INSERT INTO search_fts(kind, ref_id, body) SELECT '{kind}', id, lower({body.format(r=table)}) FROM {table}")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_enterprises_search_trgm ON enterprises USING gin (search_text gin_trgm_ops)")
        op.execute("CREATE INDEX ix_contacts_name_trgm ON contacts USING gin (lower(name) gin_trgm_ops)")
        op.execute("CREATE INDEX ix_leads_title_trgm ON leads USING gin (lower(title) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for table, _ in SOURCES.values():
            for suffix in ("ai", "au", "ad"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_leads_title_trgm")
        op.execute("DROP INDEX IF EXISTS ix_contacts_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_enterprises_search_trgm")
