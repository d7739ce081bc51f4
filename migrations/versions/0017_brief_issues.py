"""The brief as a 简报: issue numbers (第 N 期) per scope and year, kept with the archive
(brief_issues; briefs.issue_id), and the Word version archived beside the PDF (briefs.docx).
Briefs already archived are numbered by the order their weeks were first made.

Revision ID: 0017_brief_issues
Revises: 0016_events
Create Date: 2026-12-03 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_brief_issues'
down_revision = '0016_events'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('brief_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('district_key', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_brief_issues')),
    sa.UniqueConstraint('scope', 'district_key', 'week', name='uq_brief_issues_week'),
    sa.UniqueConstraint('scope', 'district_key', 'year', 'number', name='uq_brief_issues_number')
    )
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('docx', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('issue_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_briefs_issue_id'), ['issue_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_briefs_issue_id_brief_issues'), 'brief_issues', ['issue_id'], ['id'])

    # Number the archive: per scope, district and ISO year, weeks in the order first made.
    conn = op.get_bind()
    briefs = sa.table('briefs', sa.column('id'), sa.column('scope'), sa.column('district_id'),
                      sa.column('week'), sa.column('issue_id'))
    issues = sa.table('brief_issues', sa.column('id'), sa.column('scope'), sa.column('district_key'),
                      sa.column('year'), sa.column('number'), sa.column('week'))
    first_made = conn.execute(
        sa.select(briefs.c.scope, briefs.c.district_id, briefs.c.week, sa.func.min(briefs.c.id))
        .group_by(briefs.c.scope, briefs.c.district_id, briefs.c.week)
        .order_by(sa.func.min(briefs.c.id))
    ).all()
    numbers = {}
    for scope, district_id, week, _first in first_made:
        key = (scope, district_id or 0, int(week[:4]))
        numbers[key] = numbers.get(key, 0) + 1
        issue_id = conn.execute(
            issues.insert().values(scope=scope, district_key=district_id or 0, year=int(week[:4]),
                                   number=numbers[key], week=week).returning(issues.c.id)
        ).scalar_one()
        same = sa.and_(briefs.c.scope == scope, briefs.c.week == week,
                       briefs.c.district_id == district_id if district_id else briefs.c.district_id.is_(None))
        conn.execute(briefs.update().where(same).values(issue_id=issue_id))


def downgrade():
    # The numbers and the Word files go (crm.cli.dbsafety counts them first); the PDFs stay.
    with op.batch_alter_table('briefs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_briefs_issue_id_brief_issues'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_briefs_issue_id'))
        batch_op.drop_column('issue_id')
        batch_op.drop_column('docx')
    op.drop_table('brief_issues')
