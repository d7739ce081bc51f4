"""Project attachments (项目附件): each file's record (category, name as uploaded, the type sniffed
from its content, size, SHA-256, who uploaded and who deleted it, optionally the funds entry it is
evidence of), and attachment_blobs, where the database storage keeps the bytes

Revision ID: 0015_attachments
Revises: 0014_funds_ledger
Create Date: 2026-12-03 07:26:58.632008

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_attachments'
down_revision = '0014_funds_ledger'
branch_labels = None
depends_on = None


def upgrade():
    # The bytes under their storage key (ATTACHMENT_STORAGE=database); the directory and S3
    # storages leave this table empty.
    op.create_table('attachment_blobs',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_attachment_blobs'))
    )
    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('fund_entry_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.CheckConstraint("category IN ('签约协议', '供地文件', '现场照片', '营业执照', '到位凭证', '其他')", name=op.f('ck_attachments_category_known')),
    sa.CheckConstraint('size > 0', name=op.f('ck_attachments_size_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_attachments_created_by_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_attachments_deleted_by_id_users')),
    sa.ForeignKeyConstraint(['fund_entry_id'], ['fund_entries.id'], name=op.f('fk_attachments_fund_entry_id_fund_entries')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_attachments_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_attachments_storage_key'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_fund_entry_id'), ['fund_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_project_id'), ['project_id'], unique=False)


def downgrade():
    # Both tables go (crm.cli.dbsafety counts their rows first). Files kept by the directory or S3
    # storage stay where they are, named by keys nothing refers to any more.
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_project_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_fund_entry_id'))

    op.drop_table('attachments')
    op.drop_table('attachment_blobs')
