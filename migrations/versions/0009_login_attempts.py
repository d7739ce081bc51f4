"""Login attempts: what throttling counts, kept for every name

Revision ID: 0009_login_attempts
Revises: 0008_target_reports
Create Date: 2026-12-02 16:30:55.644573

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_login_attempts'
down_revision = '0008_target_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username_key', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("outcome IN ('failure', 'success', 'locked', 'unlock')", name=op.f('ck_login_attempts_outcome_known')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_login_attempts_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_address_at', ['address', 'at'], unique=False)
        batch_op.create_index('ix_login_attempts_username_key_at', ['username_key', 'at'], unique=False)



def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_username_key_at')
        batch_op.drop_index('ix_login_attempts_address_at')

    op.drop_table('login_attempts')
