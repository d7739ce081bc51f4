"""督办事项: a signed project's problem given to a responsible unit (a division, a district or another
department by name) with a deadline, status and result (supervision_items), and its append-only
replies (supervision_item_replies)

Revision ID: 0020_supervision_items
Revises: 0019_follow_up_activity_index
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_supervision_items'
down_revision = '0019_follow_up_activity_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supervision_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('update_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=8), nullable=False),
    sa.Column('division_id', sa.Integer(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=64), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('用地', '用能', '审批', '融资', '人才', '其他')", name=op.f('ck_supervision_items_category_known')),
    sa.CheckConstraint("status IN ('待办', '办理中', '已办结', '已撤销')", name=op.f('ck_supervision_items_status_known')),
    sa.CheckConstraint('(CASE WHEN division_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN district_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN department IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_supervision_items_one_responsible')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_supervision_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_supervision_items_district_id_districts')),
    sa.ForeignKeyConstraint(['division_id'], ['divisions.id'], name=op.f('fk_supervision_items_division_id_divisions')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_supervision_items_project_id_projects')),
    sa.ForeignKeyConstraint(['update_id'], ['project_updates.id'], name=op.f('fk_supervision_items_update_id_project_updates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_items'))
    )
    with op.batch_alter_table('supervision_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_items_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_division_id'), ['division_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_project_id'), ['project_id'], unique=False)
        batch_op.create_index('ix_supervision_items_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_items_update_id'), ['update_id'], unique=False)

    op.create_table('supervision_item_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_supervision_item_replies_created_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['supervision_items.id'], name=op.f('fk_supervision_item_replies_item_id_supervision_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_item_replies'))
    )
    with op.batch_alter_table('supervision_item_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_item_replies_item_id'), ['item_id'], unique=False)


def downgrade():
    op.drop_table('supervision_item_replies')
    op.drop_table('supervision_items')
