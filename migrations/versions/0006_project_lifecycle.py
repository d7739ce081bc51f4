"""Project lifecycle: milestones (planned/actual), append-only updates, figures derived from them,
catalogue entries per project.

Revision ID: 0006_project_lifecycle
Revises: 0005_imports
Create Date: 2026-11-24 21:16:26.082716

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_project_lifecycle'
down_revision = '0005_imports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('project_catalogue_entries',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['catalogue_entries.id'], name=op.f('fk_project_catalogue_entries_entry_id_catalogue_entries')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_catalogue_entries_project_id_projects')),
    sa.PrimaryKeyConstraint('project_id', 'entry_id', name=op.f('pk_project_catalogue_entries'))
    )
    op.create_table('project_milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=8), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.Column('actual_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_milestones_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_milestones')),
    sa.UniqueConstraint('project_id', 'stage', name=op.f('uq_project_milestones_project_id'))
    )
    with op.batch_alter_table('project_milestones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_milestones_project_id'), ['project_id'], unique=False)

    op.create_table('project_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('reported_on', sa.Date(), nullable=False),
    sa.Column('stage_reached', sa.String(length=8), nullable=True),
    sa.Column('stage_reached_on', sa.Date(), nullable=True),
    sa.Column('funds_wan', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('issues', sa.Text(), nullable=False),
    sa.Column('termination_reason', sa.String(length=64), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('funds_wan IS NULL OR funds_wan >= 0', name=op.f('ck_project_updates_funds_not_negative')),
    sa.ForeignKeyConstraint(['corrects_id'], ['project_updates.id'], name=op.f('fk_project_updates_corrects_id_project_updates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_project_updates_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_updates_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_updates'))
    )
    with op.batch_alter_table('project_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_updates_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('park', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('expected_output_wan', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expected_jobs', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('termination_reason', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('funds_in_place_wan', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_update_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_projects_stage'), ['stage'], unique=False)
        batch_op.create_check_constraint(
            op.f('ck_projects_stage_known'), "stage IN ('签约', '注册', '供地', '开工', '竣工', '投产', '达产', '终止')"
        )
        batch_op.create_check_constraint(
            op.f('ck_projects_terminated_has_reason'), "(stage = '终止') = (termination_reason IS NOT NULL)"
        )
        batch_op.create_check_constraint(op.f('ck_projects_funds_not_negative'), 'funds_in_place_wan >= 0')

    # Projects signed before this migration: their entry joins the list, and they get a row per milestone.
    op.execute("INSERT INTO project_catalogue_entries (project_id, entry_id) SELECT id, catalogue_entry_id FROM projects")
    for stage in ('注册', '供地', '开工', '竣工', '投产', '达产'):
        op.execute(f"INSERT INTO project_milestones (project_id, stage) SELECT id, '{stage}' FROM projects")



def downgrade():
    # Before this revision a project never left 签约; its stage moves only with the updates dropped
    # below. Every project goes back there, or upgrading again fails ck_projects_terminated_has_reason
    # on the terminated ones (their reason is gone). migrations/env.py refuses this unless forced.
    op.execute("UPDATE projects SET stage = '签约', termination_reason = NULL")
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_projects_funds_not_negative'), type_='check')
        batch_op.drop_constraint(op.f('ck_projects_terminated_has_reason'), type_='check')
        batch_op.drop_constraint(op.f('ck_projects_stage_known'), type_='check')
        batch_op.drop_index(batch_op.f('ix_projects_stage'))
        batch_op.drop_column('last_update_on')
        batch_op.drop_column('funds_in_place_wan')
        batch_op.drop_column('termination_reason')
        batch_op.drop_column('expected_jobs')
        batch_op.drop_column('expected_output_wan')
        batch_op.drop_column('park')

    with op.batch_alter_table('project_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_updates_project_id'))

    op.drop_table('project_updates')
    with op.batch_alter_table('project_milestones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_milestones_project_id'))

    op.drop_table('project_milestones')
    op.drop_table('project_catalogue_entries')
