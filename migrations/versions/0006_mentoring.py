"""mentoring: course rule settings, prompts and their outbox, preferences, ambassadors, templates

Revision ID: 0006_mentoring
Revises: 0005_analytics
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_mentoring"
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mentoring_ambassador',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('suggested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['person.id'], name=op.f('fk_mentoring_ambassador_approved_by_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_ambassador_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_mentoring_ambassador_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentoring_ambassador')),
    sa.UniqueConstraint('course_id', 'person_id', name=op.f('uq_mentoring_ambassador_course_id_person_id'))
    )
    op.create_table('mentoring_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('stopped_rules', sa.JSON(), nullable=False),
    sa.Column('snoozed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_preference_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_mentoring_preference_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentoring_preference')),
    sa.UniqueConstraint('course_id', 'person_id', name=op.f('uq_mentoring_preference_course_id_person_id'))
    )
    op.create_table('mentoring_settings',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('learner_weekly_cap', sa.Integer(), nullable=False),
    sa.Column('ambassador_weekly_cap', sa.Integer(), nullable=False),
    sa.Column('course_daily_cap', sa.Integer(), nullable=False),
    sa.Column('quiet_start_hour', sa.Integer(), nullable=False),
    sa.Column('quiet_end_hour', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('default_lang', sa.String(length=8), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_settings_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_mentoring_settings'))
    )
    op.create_table('mentoring_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_template_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['person.id'], name=op.f('fk_mentoring_template_updated_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentoring_template')),
    sa.UniqueConstraint('course_id', 'kind', 'lang', name=op.f('uq_mentoring_template_course_id_kind_lang'))
    )
    op.create_table('mentoring_prompt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('about_person_id', sa.Integer(), nullable=True),
    sa.Column('discussion_id', sa.Integer(), nullable=True),
    sa.Column('reason_code', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('edited', sa.Boolean(), nullable=False),
    sa.Column('snoozed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_seconds', sa.Integer(), nullable=True),
    sa.Column('outcome_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['about_person_id'], ['person.id'], name=op.f('fk_mentoring_prompt_about_person_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_prompt_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussion.id'], name=op.f('fk_mentoring_prompt_discussion_id_discussion'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recipient_id'], ['person.id'], name=op.f('fk_mentoring_prompt_recipient_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['person.id'], name=op.f('fk_mentoring_prompt_reviewed_by_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentoring_prompt'))
    )
    op.create_index('ix_mentoring_prompt_course_created', 'mentoring_prompt', ['course_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_mentoring_prompt_discussion_id'), 'mentoring_prompt', ['discussion_id'], unique=False)
    op.create_index('ix_mentoring_prompt_recipient_created', 'mentoring_prompt', ['recipient_id', 'created_at'], unique=False)
    op.create_table('mentoring_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prompt_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('moodle_user_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=False),
    sa.Column('moodle_msgid', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_mentoring_outbox_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prompt_id'], ['mentoring_prompt.id'], name=op.f('fk_mentoring_outbox_prompt_id_mentoring_prompt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['person.id'], name=op.f('fk_mentoring_outbox_recipient_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentoring_outbox')),
    sa.UniqueConstraint('prompt_id', name=op.f('uq_mentoring_outbox_prompt_id'))
    )
    op.create_index(op.f('ix_mentoring_outbox_course_id'), 'mentoring_outbox', ['course_id'], unique=False)
    op.create_index('ix_mentoring_outbox_state_due', 'mentoring_outbox', ['state', 'not_before'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mentoring_outbox_state_due', table_name='mentoring_outbox')
    op.drop_index(op.f('ix_mentoring_outbox_course_id'), table_name='mentoring_outbox')
    op.drop_table('mentoring_outbox')
    op.drop_index('ix_mentoring_prompt_recipient_created', table_name='mentoring_prompt')
    op.drop_index(op.f('ix_mentoring_prompt_discussion_id'), table_name='mentoring_prompt')
    op.drop_index('ix_mentoring_prompt_course_created', table_name='mentoring_prompt')
    op.drop_table('mentoring_prompt')
    op.drop_table('mentoring_template')
    op.drop_table('mentoring_settings')
    op.drop_table('mentoring_preference')
    op.drop_table('mentoring_ambassador')
