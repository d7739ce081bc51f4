"""Indexes for the lists' filters and sorts at province scale: the kanban's columns (stage, next
follow-up), leads by registration and last contact, projects by signing date, the newest project
updates, firms by kind and revenue tier

Revision ID: 0013_list_indexes
Revises: 0012_search_index_rowids
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op

revision = "0013_list_indexes"
down_revision = "0012_search_index_rowids"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_leads_stage_follow_up", "leads", ["stage", "next_follow_up_on", "id"]),
    ("ix_leads_created_at", "leads", ["created_at"]),
    ("ix_leads_last_contact_on", "leads", ["last_contact_on"]),
    ("ix_projects_signed_on", "projects", ["signed_on", "id"]),
    ("ix_project_updates_reported_on", "project_updates", ["reported_on", "id"]),
    ("ix_enterprises_kind_tier", "enterprises", ["kind", "merged_into_id", "revenue_wan", "listed_exchange"]),
    ("ix_enterprises_revenue_wan", "enterprises", ["revenue_wan"]),
    ("ix_enterprises_merged_into_id", "enterprises", ["merged_into_id"]),
]


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade():
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
