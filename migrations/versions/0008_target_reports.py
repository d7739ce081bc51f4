"""Figures people report for the 2027 targets the CRM cannot count

Revision ID: 0008_target_reports
Revises: 0007_briefs
Create Date: 2026-12-02 16:07:04.458335

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_target_reports'
down_revision = '0007_briefs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('target_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('value >= 0', name=op.f('ck_target_reports_value_not_negative')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_target_reports_entered_by_id_users')),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_reports_target_id_targets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_reports'))
    )
    with op.batch_alter_table('target_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_target_reports_target_id'), ['target_id'], unique=False)



def downgrade():
    # Drops the reported figures with the table: back up first (the audit log keeps each one too).
    with op.batch_alter_table('target_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_target_reports_target_id'))

    op.drop_table('target_reports')
