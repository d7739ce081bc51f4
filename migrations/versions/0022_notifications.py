"""The notification centre: notifications (one per person and subject), each person's settings
(notification_settings) and the daily e-mail digests sent (notification_digests)

Revision ID: 0022_notifications
Revises: 0021_lead_handovers
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_notifications'
down_revision = '0021_lead_handovers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_digests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_digests')),
    sa.UniqueConstraint('user_id', 'day', name='uq_notification_digests_user_day')
    )
    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('muted', sa.String(length=100), nullable=False),
    sa.Column('idle_days', sa.Integer(), nullable=False),
    sa.Column('ahead_days', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('digest', sa.Boolean(), nullable=False),
    sa.CheckConstraint('ahead_days BETWEEN 1 AND 365', name=op.f('ck_notification_settings_ahead_days_range')),
    sa.CheckConstraint('idle_days BETWEEN 1 AND 365', name=op.f('ck_notification_settings_idle_days_range')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('url', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('assigned', 'reply', 'due', 'overdue', 'idle', 'upcoming')", name=op.f('ck_notifications_kind_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'key', name='uq_notifications_user_key')
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_read', ['user_id', 'read_at', 'id'], unique=False)


def downgrade():
    op.drop_table('notifications')
    op.drop_table('notification_settings')
    op.drop_table('notification_digests')
