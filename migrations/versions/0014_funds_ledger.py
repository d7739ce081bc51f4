"""The funds ledger (到位资金台账): each arrival of money is an entry with its source, kind,
evidence and review; the funds each progress update reported move into entries, so every
project's total stays what it was, and the stored total (projects.funds_in_place_wan) goes;
yearly funds plans (the base of 资金到位率 by plan)

Revision ID: 0014_funds_ledger
Revises: 0013_list_indexes
Create Date: 2026-12-03 07:19:03.460830

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_funds_ledger'
down_revision = '0013_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fund_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount_wan', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_wan >= 0', name=op.f('ck_fund_plans_amount_not_negative')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_fund_plans_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_plans')),
    sa.UniqueConstraint('project_id', 'year', name=op.f('uq_fund_plans_project_id'))
    )
    with op.batch_alter_table('fund_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_plans_project_id'), ['project_id'], unique=False)

    op.create_table('fund_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('amount_wan', sa.Integer(), nullable=False),
    sa.Column('arrived_on', sa.Date(), nullable=False),
    sa.Column('source_region', sa.String(length=8), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=True),
    sa.Column('counts_as_investment', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('evidence_type', sa.String(length=8), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('from_update_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review', sa.String(length=8), server_default='待核实', nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("evidence_type IS NULL OR evidence_type IN ('银行进账单', '验资报告', '设备清单', '其他凭证')", name=op.f('ck_fund_entries_evidence_known')),
    sa.CheckConstraint("kind IS NULL OR kind IN ('固定资产投资', '其他')", name=op.f('ck_fund_entries_kind_known')),
    sa.CheckConstraint("review IN ('待核实', '已核实', '不予认定')", name=op.f('ck_fund_entries_review_known')),
    sa.CheckConstraint("source_region IS NULL OR source_region IN ('境外', '港澳台', '国内省外', '市外省内', '市内区县外', '区县内')", name=op.f('ck_fund_entries_source_known')),
    sa.CheckConstraint('amount_wan >= 0', name=op.f('ck_fund_entries_amount_not_negative')),
    sa.ForeignKeyConstraint(['corrects_id'], ['fund_entries.id'], name=op.f('fk_fund_entries_corrects_id_fund_entries')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_fund_entries_created_by_id_users')),
    sa.ForeignKeyConstraint(['from_update_id'], ['project_updates.id'], name=op.f('fk_fund_entries_from_update_id_project_updates')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_fund_entries_project_id_projects')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_fund_entries_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_entries')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_fund_entries_corrects_id'))
    )
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.create_index('ix_fund_entries_arrived_on', ['arrived_on', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_entries_project_id'), ['project_id'], unique=False)

    # The funds of every update that still counts (not replaced by a correction) become entries,
    # dated the day they were reported; their source and kind were never recorded, so they stay
    # empty (pages say 未注明) and the entries wait for the bureau's review like new ones.
    # A project's funds total was the sum of exactly these, so it is the same after.
    updates = sa.table(
        'project_updates', sa.column('id'), sa.column('project_id'), sa.column('funds_wan'),
        sa.column('reported_on'), sa.column('created_by_id'), sa.column('created_at'),
        sa.column('corrects_id'),
    )
    correction = updates.alias('correction')
    entries = sa.table(
        'fund_entries', sa.column('project_id'), sa.column('amount_wan'), sa.column('arrived_on'),
        sa.column('counts_as_investment'), sa.column('note'), sa.column('from_update_id'),
        sa.column('created_by_id'), sa.column('created_at'), sa.column('review'), sa.column('version'),
    )
    standing = sa.select(
        updates.c.project_id, updates.c.funds_wan, updates.c.reported_on, sa.true(),
        sa.literal('由进展填报迁移：原填报未记录资金来源和类型'), updates.c.id,
        updates.c.created_by_id, updates.c.created_at, sa.literal('待核实'), sa.literal(1),
    ).where(
        updates.c.funds_wan > 0,
        # NOT IN over the corrected ids, read once: project_updates.corrects_id has no index, and a
        # correlated NOT EXISTS scanned the table for every update (40 s at province scale).
        updates.c.id.not_in(sa.select(correction.c.corrects_id).where(correction.c.corrects_id.is_not(None))),
    ).order_by(updates.c.id)
    op.execute(entries.insert().from_select(list(entries.c.keys()), standing))

    # The total each project kept is now the ledger's to say (counted by the 统计口径 when read):
    # a stored copy would drift from it, and every entry would bump the project's version.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_projects_funds_not_negative'), type_='check')
        batch_op.drop_column('funds_in_place_wan')


def downgrade():
    # The entries go (crm.cli.dbsafety counts them first). Each project's total comes back as the
    # code before the ledger computed it: the funds of its updates that still count.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funds_in_place_wan', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_projects_funds_not_negative'), 'funds_in_place_wan >= 0')
    op.execute(
        "UPDATE projects SET funds_in_place_wan = coalesce((SELECT sum(u.funds_wan) FROM project_updates u"
        " WHERE u.project_id = projects.id AND u.funds_wan IS NOT NULL AND u.id NOT IN"
        " (SELECT c.corrects_id FROM project_updates c WHERE c.corrects_id IS NOT NULL)), 0)"
    )
    with op.batch_alter_table('fund_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_entries_project_id'))
        batch_op.drop_index('ix_fund_entries_arrived_on')

    op.drop_table('fund_entries')
    with op.batch_alter_table('fund_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_plans_project_id'))

    op.drop_table('fund_plans')
