"""analytics: snapshots per course view and per-person metrics

Revision ID: 0005_analytics
Revises: 0004_moodle_sync
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_analytics"
down_revision: str | None = "0004_moodle_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('time_window', sa.String(length=8), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('betweenness_method', sa.String(length=16), nullable=False),
    sa.Column('betweenness_pivots', sa.Integer(), nullable=True),
    sa.Column('node_count', sa.Integer(), nullable=False),
    sa.Column('edge_count', sa.Integer(), nullable=False),
    sa.Column('health', sa.JSON(), nullable=False),
    sa.Column('trend', sa.JSON(), nullable=False),
    sa.Column('candidates', sa.JSON(), nullable=False),
    sa.Column('edges', sa.JSON(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_analytics_snapshot_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['course_group.id'], name=op.f('fk_analytics_snapshot_group_id_course_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_snapshot'))
    )
    op.create_index('ix_analytics_snapshot_view', 'analytics_snapshot', ['course_id', 'time_window', 'audience', 'group_id', 'computed_at'], unique=False)
    op.create_table('analytics_person_metrics',
    sa.Column('snapshot_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('posts', sa.Integer(), nullable=False),
    sa.Column('discussions_started', sa.Integer(), nullable=False),
    sa.Column('replies_given', sa.Integer(), nullable=False),
    sa.Column('replies_received', sa.Integer(), nullable=False),
    sa.Column('out_degree', sa.Integer(), nullable=False),
    sa.Column('in_degree', sa.Integer(), nullable=False),
    sa.Column('reciprocity', sa.Double(), nullable=False),
    sa.Column('betweenness', sa.Double(), nullable=False),
    sa.Column('pagerank', sa.Double(), nullable=False),
    sa.Column('coreness', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('first_replies', sa.Integer(), nullable=False),
    sa.Column('median_first_reply_seconds', sa.Double(), nullable=True),
    sa.Column('last_activity', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_analytics_person_metrics_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['snapshot_id'], ['analytics_snapshot.id'], name=op.f('fk_analytics_person_metrics_snapshot_id_analytics_snapshot'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'person_id', name=op.f('pk_analytics_person_metrics'))
    )
    op.create_index(op.f('ix_analytics_person_metrics_person_id'), 'analytics_person_metrics', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_analytics_person_metrics_person_id'), table_name='analytics_person_metrics')
    op.drop_table('analytics_person_metrics')
    op.drop_index('ix_analytics_snapshot_view', table_name='analytics_snapshot')
    op.drop_table('analytics_snapshot')
