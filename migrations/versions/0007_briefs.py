"""Archive of generated weekly briefs: scope, week, who and when, and the PDF bytes

Revision ID: 0007_briefs
Revises: 0006_project_lifecycle
Create Date: 2026-11-24 22:01:31.873206

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_briefs'
down_revision = '0006_project_lifecycle'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('briefs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.Column('generated_by_name', sa.String(length=64), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_briefs_district_id_districts')),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_briefs_generated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_briefs'))
    )
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_briefs_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefs_scope'), ['scope'], unique=False)
        batch_op.create_index(batch_op.f('ix_briefs_week'), ['week'], unique=False)



def downgrade():
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_briefs_week'))
        batch_op.drop_index(batch_op.f('ix_briefs_scope'))
        batch_op.drop_index(batch_op.f('ix_briefs_district_id'))

    op.drop_table('briefs')
