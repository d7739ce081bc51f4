"""Learning from officers' judgements of matches: their judgements (match_feedback, append-only),
the runs of `flask match learn` (match_learn_runs) and the changes proposed for a manager to accept
(match_proposals)

Revision ID: 0023_match_learning
Revises: 0022_notifications
Create Date: 2026-12-06 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_match_learning'
down_revision = '0022_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('match_learn_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('judgements', sa.Integer(), nullable=False),
    sa.Column('proposed', sa.Integer(), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_learn_runs'))
    )
    op.create_table('match_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('term', sa.String(length=64), nullable=False),
    sa.Column('term_key', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('factor', sa.Float(), nullable=False),
    sa.Column('support', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=4), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('新增词', '降权')", name=op.f('ck_match_proposals_kind_known')),
    sa.CheckConstraint("level IN ('entry', 'chain', 'cluster')", name=op.f('ck_match_proposals_level_known')),
    sa.CheckConstraint("status IN ('待审核', '已采纳', '已驳回', '已撤销')", name=op.f('ck_match_proposals_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_match_proposals_decided_by_id_users')),
    sa.ForeignKeyConstraint(['run_id'], ['match_learn_runs.id'], name=op.f('fk_match_proposals_run_id_match_learn_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_proposals')),
    sa.UniqueConstraint('kind', 'term_key', 'level', 'target', name='uq_match_proposals_change')
    )
    with op.batch_alter_table('match_proposals', schema=None) as batch_op:
        batch_op.create_index('ix_match_proposals_status', ['status'], unique=False)

    op.create_table('match_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=4), nullable=False),
    sa.Column('suggested_code', sa.String(length=16), nullable=True),
    sa.Column('chosen_code', sa.String(length=16), nullable=False),
    sa.Column('products', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('采用', '更正')", name=op.f('ck_match_feedback_verdict_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_match_feedback_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_match_feedback_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_match_feedback_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_feedback'))
    )
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_feedback_enterprise_id'), ['enterprise_id'], unique=False)



def downgrade():
    with op.batch_alter_table('match_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_feedback_enterprise_id'))

    op.drop_table('match_feedback')
    with op.batch_alter_table('match_proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_match_proposals_status')

    op.drop_table('match_proposals')
    op.drop_table('match_learn_runs')
