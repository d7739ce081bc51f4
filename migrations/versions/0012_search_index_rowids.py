"""Search index (SQLite): each row's index entry under a rowid computed from the row, and triggers
that fire only when an indexed column changes

The index of 0004 found a row's entry by its kind and id, which FTS5 cannot index: every update
of a firm, contact or lead scanned the whole index (some 200 000 entries at province scale), and
a follow-up, which updates its lead, paid for it too. Now an entry's rowid is id × 4 + kind, found
at once, and an update that leaves the indexed text alone does not touch the index.

Revision ID: 0012_search_index_rowids
Revises: 0011_enterprise_matches
Create Date: 2026-12-03 11:00:00.000000

"""
from alembic import op

revision = "0012_search_index_rowids"
down_revision = "0011_enterprise_matches"
branch_labels = None
depends_on = None

# kind → (table, its number in the rowid, the columns indexed, the indexed text over row {r}).
SOURCES = {
    "enterprise": ("enterprises", 1, "name, search_text", "coalesce({r}.name,'') || ' ' || coalesce({r}.search_text,'')"),
    "contact": (
        "contacts",
        2,
        "name, title, phone, email",
        "coalesce({r}.name,'') || ' ' || coalesce({r}.title,'') || ' ' || coalesce({r}.phone,'') || ' ' || coalesce({r}.email,'')",
    ),
    "lead": ("leads", 3, "title", "coalesce({r}.title,'')"),
}
# 0004's text, for the downgrade.
OLD_SOURCES = {kind: (table, body) for kind, (table, _n, _c, body) in SOURCES.items()}


def _drop_triggers():
    for table, *_ in SOURCES.values():
        for suffix in ("ai", "au", "ad"):
            op.execute(f"DROP TRIGGER IF EXISTS search_{table}_{suffix}")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's trigram indexes are kept by the database itself
    _drop_triggers()
    op.execute("DELETE FROM search_fts")
    for kind, (table, number, columns, body) in SOURCES.items():
        new, old = body.format(r="NEW"), body.format(r="OLD")
        insert = f"INSERT INTO search_fts(rowid, kind, ref_id, body) VALUES (NEW.id * 4 + {number}, '{kind}', NEW.id, lower({new}))"
        op.execute(f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN {insert}; END")
        op.execute(
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE OF {columns} ON {table} BEGIN "
            f"DELETE FROM search_fts WHERE rowid = OLD.id * 4 + {number}; {insert}; END"
        )
        op.execute(
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN "
            f"DELETE FROM search_fts WHERE rowid = OLD.id * 4 + {number}; END"
        )
        op.execute(
            f"INSERT INTO search_fts(rowid, kind, ref_id, body) "
            f"SELECT id * 4 + {number}, '{kind}', id, lower({body.format(r=table)}) FROM {table}"
        )


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _drop_triggers()
    op.execute("DELETE FROM search_fts")
    for kind, (table, body) in OLD_SOURCES.items():
        new = body.format(r="NEW")
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
