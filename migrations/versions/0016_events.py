"""招商活动 and the bureau's divisions: divisions (处室), users.division_id (the division an
officer or manager works in), events (kind, dates, place, organising division or district,
participants, outcome) with the enterprises and leads met there, and events as an import kind

Revision ID: 0016_events
Revises: 0015_attachments
Create Date: 2026-12-03 10:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_events'
down_revision = '0015_attachments'
branch_labels = None
depends_on = None

KINDS = "('推介会', '展会', '外出招商', '客商来渝考察', '签约仪式', '论坛峰会', '新闻宣传', '其他')"


def upgrade():
    op.create_table('divisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_divisions')),
    sa.UniqueConstraint('name', name=op.f('uq_divisions_name'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('division_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_division_id'), ['division_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_division_id_divisions'), 'divisions', ['division_id'], ['id'])
        batch_op.create_check_constraint('division_not_district', "role <> 'district' OR division_id IS NULL")
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('place', sa.String(length=128), nullable=False),
    sa.Column('division_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('participants', sa.String(length=256), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint(f"kind IN {KINDS}", name=op.f('ck_events_kind_known')),
    sa.CheckConstraint('(division_id IS NULL) <> (district_id IS NULL)', name=op.f('ck_events_one_organiser')),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= held_on', name=op.f('ck_events_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_events_created_by_id_users')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_events_district_id_districts')),
    sa.ForeignKeyConstraint(['division_id'], ['divisions.id'], name=op.f('fk_events_division_id_divisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_division_id'), ['division_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_district_id'), ['district_id'], unique=False)
    op.create_table('event_enterprises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=256), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_event_enterprises_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_enterprises_event_id_events')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_event_enterprises_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_enterprises')),
    sa.UniqueConstraint('event_id', 'enterprise_id', name='uq_event_enterprise')
    )
    with op.batch_alter_table('event_enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_enterprises_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_enterprises_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_enterprises_lead_id'), ['lead_id'], unique=False)
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_import_batches_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', "kind IN ('enterprises', 'leads', 'events')")


def downgrade():
    # Events, their links, the divisions and users' divisions go (crm.cli.dbsafety counts them
    # first); batches that imported events go with them, as the older kind check cannot hold them.
    op.execute("DELETE FROM import_batches WHERE kind = 'events'")
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_import_batches_kind_known'), type_='check')
        batch_op.create_check_constraint('kind_known', "kind IN ('enterprises', 'leads')")
    op.drop_table('event_enterprises')
    op.drop_table('events')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_division_not_district'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_users_division_id_divisions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_division_id'))
        batch_op.drop_column('division_id')
    op.drop_table('divisions')
