"""Attachments of 招商活动: a file belongs to a project or to an event, exactly one
(attachments.event_id, project_id now nullable, ck_attachments_one_owner), with the events'
categories (活动议程, 签到表, 活动照片, 推介材料, 媒体报道) beside the projects'

Revision ID: 0018_event_attachments
Revises: 0017_brief_issues
Create Date: 2026-12-04 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_event_attachments'
down_revision = '0017_brief_issues'
branch_labels = None
depends_on = None

PROJECT_CATEGORIES = "('签约协议', '供地文件', '现场照片', '营业执照', '到位凭证', '其他')"
CATEGORIES = ("('签约协议', '供地文件', '现场照片', '营业执照', '到位凭证', '其他', "
              "'活动议程', '签到表', '活动照片', '推介材料', '媒体报道')")


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_attachments_event_id'), ['event_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachments_event_id_events'), 'events', ['event_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_attachments_category_known'), type_='check')
        batch_op.create_check_constraint('category_known', f"category IN {CATEGORIES}")
        batch_op.create_check_constraint('one_owner', '(project_id IS NULL) <> (event_id IS NULL)')


def downgrade():
    # The events' files go (crm.cli.dbsafety counts them first): their records, and their bytes
    # where the database storage keeps them. Files kept by the directory or S3 storage stay where
    # they are, named by keys nothing refers to any more (as 0015's downgrade leaves them).
    attachments = sa.table('attachments', sa.column('event_id'), sa.column('storage_key'))
    blobs = sa.table('attachment_blobs', sa.column('key'))
    of_events = sa.select(attachments.c.storage_key).where(attachments.c.event_id.is_not(None))
    op.execute(blobs.delete().where(blobs.c.key.in_(of_events)))
    op.execute(attachments.delete().where(attachments.c.event_id.is_not(None)))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_one_owner'), type_='check')
        batch_op.drop_constraint(op.f('ck_attachments_category_known'), type_='check')
        batch_op.create_check_constraint('category_known', f"category IN {PROJECT_CATEGORIES}")
        batch_op.drop_constraint(batch_op.f('fk_attachments_event_id_events'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_event_id'))
        batch_op.drop_column('event_id')
        batch_op.alter_column('project_id', existing_type=sa.Integer(), nullable=False)
