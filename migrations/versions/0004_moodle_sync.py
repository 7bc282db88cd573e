"""moodle_sync: web-service connection per platform, sync runs, per-course sync state

Revision ID: 0004_moodle_sync
Revises: 0002_lti
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_moodle_sync"
down_revision: str | None = "0002_lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('moodle_connection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=1024), nullable=False),
    sa.Column('token_ciphertext', sa.Text(), nullable=False),
    sa.Column('service_user_id', sa.Integer(), nullable=True),
    sa.Column('site_name', sa.String(length=255), nullable=False),
    sa.Column('release', sa.String(length=255), nullable=False),
    sa.Column('functions', sa.JSON(), nullable=False),
    sa.Column('missing_functions', sa.JSON(), nullable=False),
    sa.Column('missing_capabilities', sa.JSON(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platform.id'], name=op.f('fk_moodle_connection_platform_id_platform'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moodle_connection')),
    sa.UniqueConstraint('platform_id', name=op.f('uq_moodle_connection_platform_id'))
    )
    op.create_table('sync_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_sync_run_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['person.id'], name=op.f('fk_sync_run_requested_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_run'))
    )
    op.create_index('ix_sync_run_course_started', 'sync_run', ['course_id', 'started_at'], unique=False)
    op.create_table('course_sync_state',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('lease_holder', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('roster_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reconciled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_course_sync_state_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_sync_state'))
    )


def downgrade() -> None:
    op.drop_table('course_sync_state')
    op.drop_index('ix_sync_run_course_started', table_name='sync_run')
    op.drop_table('sync_run')
    op.drop_table('moodle_connection')
