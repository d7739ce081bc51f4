"""Stored matches: each firm's best catalogue entries, kept for the recommendations, and which
version of each firm they were computed from

Revision ID: 0011_enterprise_matches
Revises: 0010_api_tokens
Create Date: 2026-12-03 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_enterprise_matches'
down_revision = '0010_api_tokens'
branch_labels = None
depends_on = None

STALE = "matched_version IS NULL OR matched_version <> version"


def upgrade():
    op.create_table('enterprise_matches',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_matches_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalogue_entries.id'], name=op.f('fk_enterprise_matches_entry_id_catalogue_entries')),
    sa.PrimaryKeyConstraint('enterprise_id', 'entry_id', name=op.f('pk_enterprise_matches'))
    )
    op.create_index('ix_enterprise_matches_entry_score', 'enterprise_matches', ['entry_id', 'score'], unique=False)
    op.create_table('match_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalogue_key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_state'))
    )
    # A plain ADD COLUMN on both databases (no table copy on SQLite): every firm starts stale, and
    # the first page that needs the matches computes them.
    op.add_column('enterprises', sa.Column('matched_version', sa.Integer(), nullable=True))
    op.create_index(
        'ix_enterprises_match_stale', 'enterprises', ['id'], unique=False,
        sqlite_where=sa.text(STALE), postgresql_where=sa.text(STALE),
    )


def downgrade():
    op.drop_index('ix_enterprises_match_stale', table_name='enterprises')
    # Not a batch: on SQLite that copies the table and loses its search-index triggers.
    op.execute('ALTER TABLE enterprises DROP COLUMN matched_version')
    op.drop_table('match_state')
    op.drop_index('ix_enterprise_matches_entry_score', table_name='enterprise_matches')
    op.drop_table('enterprise_matches')
