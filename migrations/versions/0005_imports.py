"""Registry facts of enterprises (法定代表人, 注册资本, 成立日期, 经营范围) and import batches.

Revision ID: 0005_imports
Revises: 0004_search_index
Create Date: 2026-11-24 21:06:03.379452

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_imports'
down_revision = '0004_search_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('header_row', sa.Integer(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('create_duplicates', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('enterprises', 'leads')", name=op.f('ck_import_batches_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'applied', 'cancelled')", name=op.f('ck_import_batches_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_batches_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_created_by_id'), ['created_by_id'], unique=False)

    # Plain ADD COLUMN (no batch copy) keeps SQLite's search triggers on enterprises in place.
    op.add_column('enterprises', sa.Column('legal_representative', sa.String(length=32), nullable=True))
    op.add_column('enterprises', sa.Column('registered_capital', sa.String(length=64), nullable=True))
    op.add_column('enterprises', sa.Column('established_on', sa.Date(), nullable=True))
    # Existing rows get an empty scope; the model supplies "" for new ones.
    op.add_column('enterprises', sa.Column('business_scope', sa.Text(), nullable=False, server_default=''))



def downgrade():
    for column in ('business_scope', 'established_on', 'registered_capital', 'legal_representative'):
        op.drop_column('enterprises', column)

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_created_by_id'))

    op.drop_table('import_batches')
