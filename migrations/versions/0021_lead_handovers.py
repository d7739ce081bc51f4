"""线索交办: leads handed to a district or a division with a deadline per step (lead_handovers), the
receiving unit's 研判, replies and progress reports (lead_handover_records); a lead's expected
signing date and its first referrer (第一引资人)

Revision ID: 0021_lead_handovers
Revises: 0020_supervision_items
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_lead_handovers'
down_revision = '0020_supervision_items'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lead_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('from_division_id', sa.Integer(), nullable=True),
    sa.Column('from_district_id', sa.Integer(), nullable=True),
    sa.Column('to_division_id', sa.Integer(), nullable=True),
    sa.Column('to_district_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('handed_by_id', sa.Integer(), nullable=True),
    sa.Column('handed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('respond_due', sa.Date(), nullable=False),
    sa.Column('assess_due', sa.Date(), nullable=False),
    sa.Column('reply_due', sa.Date(), nullable=False),
    sa.Column('report_due', sa.Date(), nullable=True),
    sa.Column('decide_due', sa.Date(), nullable=True),
    sa.Column('assessed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("direction IN ('下交', '上报', '转交')", name=op.f('ck_lead_handovers_direction_known')),
    sa.CheckConstraint("status IN ('待接收', '待裁定', '已接收', '已退回', '已撤回', '已转交')", name=op.f('ck_lead_handovers_status_known')),
    sa.CheckConstraint('(to_division_id IS NULL) <> (to_district_id IS NULL)', name=op.f('ck_lead_handovers_one_receiver')),
    sa.CheckConstraint('from_division_id IS NULL OR from_district_id IS NULL', name=op.f('ck_lead_handovers_one_sender')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_lead_handovers_answered_by_id_users')),
    sa.ForeignKeyConstraint(['from_district_id'], ['districts.id'], name=op.f('fk_lead_handovers_from_district_id_districts')),
    sa.ForeignKeyConstraint(['from_division_id'], ['divisions.id'], name=op.f('fk_lead_handovers_from_division_id_divisions')),
    sa.ForeignKeyConstraint(['handed_by_id'], ['users.id'], name=op.f('fk_lead_handovers_handed_by_id_users')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_handovers_lead_id_leads')),
    sa.ForeignKeyConstraint(['to_district_id'], ['districts.id'], name=op.f('fk_lead_handovers_to_district_id_districts')),
    sa.ForeignKeyConstraint(['to_division_id'], ['divisions.id'], name=op.f('fk_lead_handovers_to_division_id_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_handovers'))
    )
    with op.batch_alter_table('lead_handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_handovers_from_district_id'), ['from_district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_handovers_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_handovers_to_district_id'), ['to_district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lead_handovers_to_division_id'), ['to_division_id'], unique=False)

    op.create_table('lead_handover_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('handover_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('研判', '回复引荐人', '进展报告')", name=op.f('ck_lead_handover_records_kind_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_lead_handover_records_created_by_id_users')),
    sa.ForeignKeyConstraint(['handover_id'], ['lead_handovers.id'], name=op.f('fk_lead_handover_records_handover_id_lead_handovers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_handover_records'))
    )
    with op.batch_alter_table('lead_handover_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_handover_records_handover_id'), ['handover_id'], unique=False)

    # Plain ADD COLUMN (no batch copy) keeps SQLite's search triggers on leads in place.
    op.add_column('leads', sa.Column('expected_signing_on', sa.Date(), nullable=True))
    op.add_column('leads', sa.Column('first_referrer', sa.String(length=64), server_default='', nullable=False))


def downgrade():
    # Not a batch: on SQLite that copies the table and loses its search-index triggers.
    op.execute('ALTER TABLE leads DROP COLUMN first_referrer')
    op.execute('ALTER TABLE leads DROP COLUMN expected_signing_on')
    op.drop_table('lead_handover_records')
    op.drop_table('lead_handovers')
