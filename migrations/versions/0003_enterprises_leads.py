"""Enterprises and contacts, leads with stage changes and follow-ups, and signed projects.

Revision ID: 0003_enterprises_leads
Revises: 0002_industry_map
Create Date: 2026-11-24 19:13:12.721213

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_enterprises_leads'
down_revision = '0002_industry_map'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('enterprises',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('name_key', sa.String(length=128), nullable=False),
    sa.Column('alias_keys', sa.Text(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('former_names', sa.JSON(), nullable=False),
    sa.Column('ownership', sa.String(length=8), nullable=True),
    sa.Column('hq_province', sa.String(length=16), nullable=True),
    sa.Column('hq_city', sa.String(length=32), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('listed_exchange', sa.String(length=8), nullable=True),
    sa.Column('listed_code', sa.String(length=16), nullable=True),
    sa.Column('revenue_wan', sa.Integer(), nullable=True),
    sa.Column('honours', sa.JSON(), nullable=False),
    sa.Column('products', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('target', 'local')", name=op.f('ck_enterprises_kind_known')),
    sa.CheckConstraint('revenue_wan IS NULL OR revenue_wan >= 0', name=op.f('ck_enterprises_revenue_not_negative')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_enterprises_district_id_districts')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['enterprises.id'], name=op.f('fk_enterprises_merged_into_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_enterprises_credit_code'))
    )
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprises_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprises_name_key'), ['name_key'], unique=False)

    op.create_table('contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_contacts_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_enterprise_id'), ['enterprise_id'], unique=False)

    op.create_table('enterprise_catalogue_entries',
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_enterprise_catalogue_entries_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalogue_entries.id'], name=op.f('fk_enterprise_catalogue_entries_entry_id_catalogue_entries')),
    sa.PrimaryKeyConstraint('enterprise_id', 'entry_id', name=op.f('pk_enterprise_catalogue_entries'))
    )
    op.create_table('leads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_entry_id', sa.Integer(), nullable=True),
    sa.Column('intended_district_id', sa.Integer(), nullable=True),
    sa.Column('intended_investment_wan', sa.Integer(), nullable=True),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('lost_reason', sa.String(length=16), nullable=True),
    sa.Column('next_follow_up_on', sa.Date(), nullable=True),
    sa.Column('last_contact_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(stage = '流失') = (lost_reason IS NOT NULL)", name=op.f('ck_leads_lost_has_reason')),
    sa.CheckConstraint("stage IN ('线索', '初步接洽', '实地考察', '商务洽谈', '签约', '搁置', '流失')", name=op.f('ck_leads_stage_known')),
    sa.CheckConstraint('intended_investment_wan IS NULL OR intended_investment_wan >= 0', name=op.f('ck_leads_investment_positive')),
    sa.ForeignKeyConstraint(['catalogue_entry_id'], ['catalogue_entries.id'], name=op.f('fk_leads_catalogue_entry_id_catalogue_entries')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_leads_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['intended_district_id'], ['districts.id'], name=op.f('fk_leads_intended_district_id_districts')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_leads_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leads'))
    )
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leads_catalogue_entry_id'), ['catalogue_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_intended_district_id'), ['intended_district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_next_follow_up_on'), ['next_follow_up_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leads_stage'), ['stage'], unique=False)

    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('participants', sa.String(length=256), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('电话', '拜访', '来访', '实地考察', '会议', '签约仪式')", name=op.f('ck_follow_ups_kind_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_follow_ups_created_by_id_users')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_follow_ups_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_ups_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_ups_occurred_on'), ['occurred_on'], unique=False)

    op.create_table('lead_stage_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=8), nullable=True),
    sa.Column('to_stage', sa.String(length=8), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_lead_stage_changes_changed_by_id_users')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_lead_stage_changes_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lead_stage_changes'))
    )
    with op.batch_alter_table('lead_stage_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lead_stage_changes_lead_id'), ['lead_id'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_entry_id', sa.Integer(), nullable=False),
    sa.Column('agreed_investment_wan', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('agreed_investment_wan > 0', name=op.f('ck_projects_investment_positive')),
    sa.ForeignKeyConstraint(['catalogue_entry_id'], ['catalogue_entries.id'], name=op.f('fk_projects_catalogue_entry_id_catalogue_entries')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_projects_district_id_districts')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_projects_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_projects_lead_id_leads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('lead_id', name=op.f('uq_projects_lead_id'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_catalogue_entry_id'), ['catalogue_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_enterprise_id'), ['enterprise_id'], unique=False)



def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_projects_district_id'))
        batch_op.drop_index(batch_op.f('ix_projects_catalogue_entry_id'))

    op.drop_table('projects')
    with op.batch_alter_table('lead_stage_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lead_stage_changes_lead_id'))

    op.drop_table('lead_stage_changes')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_ups_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_follow_ups_lead_id'))

    op.drop_table('follow_ups')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leads_stage'))
        batch_op.drop_index(batch_op.f('ix_leads_owner_id'))
        batch_op.drop_index(batch_op.f('ix_leads_next_follow_up_on'))
        batch_op.drop_index(batch_op.f('ix_leads_intended_district_id'))
        batch_op.drop_index(batch_op.f('ix_leads_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_leads_catalogue_entry_id'))

    op.drop_table('leads')
    op.drop_table('enterprise_catalogue_entries')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_enterprise_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprises_name_key'))
        batch_op.drop_index(batch_op.f('ix_enterprises_district_id'))

    op.drop_table('enterprises')
