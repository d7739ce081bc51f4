"""The industry map and the investment catalogue: categories, sectors, chains, products,
clusters and their districts, 2027 targets, catalogue entries.

Revision ID: 0002_industry_map
Revises: 0001_foundation
Create Date: 2026-11-24 19:03:00.193683

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_industry_map'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('short_name', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('seed_row', sa.Integer(), nullable=True),
    sa.Column('text_name', sa.String(length=64), nullable=False),
    sa.Column('text_phrase', sa.Text(), nullable=False),
    sa.Column('open_ended', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters')),
    sa.UniqueConstraint('code', name=op.f('uq_clusters_code')),
    sa.UniqueConstraint('name', name=op.f('uq_clusters_name')),
    sa.UniqueConstraint('short_name', name=op.f('uq_clusters_short_name'))
    )
    op.create_table('industry_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('system', sa.String(length=2), nullable=False),
    sa.Column('heading', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_industry_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_industry_categories_code'))
    )
    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('comparator', sa.String(length=2), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('ambition', sa.String(length=8), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets')),
    sa.UniqueConstraint('code', name=op.f('uq_targets_code'))
    )
    op.create_table('cluster_districts',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('core', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('core_position', sa.Integer(), nullable=True),
    sa.Column('seed_name', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_districts_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_cluster_districts_district_id_districts')),
    sa.PrimaryKeyConstraint('cluster_id', 'district_id', name=op.f('pk_cluster_districts'))
    )
    op.create_table('sectors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('seed_name', sa.String(length=32), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['industry_categories.id'], name=op.f('fk_sectors_category_id_industry_categories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sectors')),
    sa.UniqueConstraint('code', name=op.f('uq_sectors_code'))
    )
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sectors_category_id'), ['category_id'], unique=False)

    op.create_table('chains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('sector_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('seed_term', sa.String(length=128), nullable=True),
    sa.Column('added', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['sector_id'], ['sectors.id'], name=op.f('fk_chains_sector_id_sectors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chains')),
    sa.UniqueConstraint('code', name=op.f('uq_chains_code'))
    )
    with op.batch_alter_table('chains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chains_sector_id'), ['sector_id'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('seed_term', sa.String(length=128), nullable=True),
    sa.Column('seed_group', sa.String(length=64), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.id'], name=op.f('fk_products_chain_id_chains')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('code', name=op.f('uq_products_code'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_chain_id'), ['chain_id'], unique=False)

    op.create_table('catalogue_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=4), nullable=False),
    sa.Column('verb', sa.String(length=128), nullable=False),
    sa.Column('gap', sa.String(length=8), nullable=False),
    sa.Column('priority', sa.String(length=2), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('added', sa.Boolean(), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('loaded', sa.JSON(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_catalogue_entries_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_entries')),
    sa.UniqueConstraint('code', name=op.f('uq_catalogue_entries_code')),
    sa.UniqueConstraint('product_id', name=op.f('uq_catalogue_entries_product_id'))
    )
    op.create_table('catalogue_entry_clusters',
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_catalogue_entry_clusters_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalogue_entries.id'], name=op.f('fk_catalogue_entry_clusters_entry_id_catalogue_entries')),
    sa.PrimaryKeyConstraint('entry_id', 'cluster_id', name=op.f('pk_catalogue_entry_clusters'))
    )


def downgrade():
    op.drop_table('catalogue_entry_clusters')
    op.drop_table('catalogue_entries')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_chain_id'))

    op.drop_table('products')
    with op.batch_alter_table('chains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chains_sector_id'))

    op.drop_table('chains')
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sectors_category_id'))

    op.drop_table('sectors')
    op.drop_table('cluster_districts')
    op.drop_table('targets')
    op.drop_table('industry_categories')
    op.drop_table('clusters')
