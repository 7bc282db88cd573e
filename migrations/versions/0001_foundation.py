"""community, forums and worker heartbeat

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23 19:10:11.950410
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001_foundation'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('platform',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('auth_login_url', sa.String(length=1024), nullable=False),
    sa.Column('auth_token_url', sa.String(length=1024), nullable=False),
    sa.Column('key_set_url', sa.String(length=1024), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform')),
    sa.UniqueConstraint('issuer', 'client_id', name=op.f('uq_platform_issuer_client_id'))
    )
    op.create_table('worker_heartbeat',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_heartbeat'))
    )
    op.create_table('course',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.String(length=255), nullable=False),
    sa.Column('moodle_course_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=512), nullable=False),
    sa.Column('label', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_launch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platform.id'], name=op.f('fk_course_platform_id_platform'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course')),
    sa.UniqueConstraint('platform_id', 'context_id', name=op.f('uq_course_platform_id_context_id'))
    )
    op.create_table('deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platform.id'], name=op.f('fk_deployment_platform_id_platform'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment')),
    sa.UniqueConstraint('platform_id', 'deployment_id', name=op.f('uq_deployment_platform_id_deployment_id'))
    )
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('moodle_user_id', sa.Integer(), nullable=True),
    sa.Column('fullname', sa.String(length=512), nullable=False),
    sa.Column('email', sa.String(length=512), nullable=True),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['platform_id'], ['platform.id'], name=op.f('fk_person_platform_id_platform'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('platform_id', 'subject', name=op.f('uq_person_platform_id_subject'))
    )
    op.create_table('course_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('moodle_group_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_course_group_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_course_group')),
    sa.UniqueConstraint('course_id', 'moodle_group_id', name=op.f('uq_course_group_course_id_moodle_group_id'))
    )
    op.create_table('enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('moodle_roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_course_access', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_enrolment_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_enrolment_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment')),
    sa.UniqueConstraint('course_id', 'person_id', name=op.f('uq_enrolment_course_id_person_id'))
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_person_id'), ['person_id'], unique=False)

    op.create_table('forum',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('moodle_forum_id', sa.Integer(), nullable=False),
    sa.Column('cmid', sa.Integer(), nullable=True),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('watermark', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_forum_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum')),
    sa.UniqueConstraint('course_id', 'moodle_forum_id', name=op.f('uq_forum_course_id_moodle_forum_id'))
    )
    op.create_table('discussion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('moodle_discussion_id', sa.Integer(), nullable=False),
    sa.Column('first_post_moodle_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=1024), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('moodle_group_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moodle_timemodified', sa.Integer(), nullable=False),
    sa.Column('num_replies', sa.Integer(), nullable=False),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('posts_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], name=op.f('fk_discussion_author_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_discussion_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forum_id'], ['forum.id'], name=op.f('fk_discussion_forum_id_forum'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discussion')),
    sa.UniqueConstraint('course_id', 'moodle_discussion_id', name=op.f('uq_discussion_course_id_moodle_discussion_id'))
    )
    with op.batch_alter_table('discussion', schema=None) as batch_op:
        batch_op.create_index('ix_discussion_course_created', ['course_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_discussion_forum_id'), ['forum_id'], unique=False)

    op.create_table('group_membership',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolment.id'], name=op.f('fk_group_membership_enrolment_id_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['course_group.id'], name=op.f('fk_group_membership_group_id_course_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'enrolment_id', name=op.f('pk_group_membership'))
    )
    op.create_table('post',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('discussion_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('moodle_post_id', sa.Integer(), nullable=False),
    sa.Column('parent_moodle_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_deleted', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.String(length=1024), nullable=False),
    sa.Column('message_html', sa.Text(), nullable=False),
    sa.Column('message_text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('modified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('private_reply', sa.Boolean(), nullable=False),
    sa.Column('moodle_group_id', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('synced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['person.id'], name=op.f('fk_post_author_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_post_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['discussion_id'], ['discussion.id'], name=op.f('fk_post_discussion_id_discussion'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_post')),
    sa.UniqueConstraint('course_id', 'moodle_post_id', name=op.f('uq_post_course_id_moodle_post_id'))
    )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_post_course_created', ['course_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_post_discussion_id'), ['discussion_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_discussion_id'))
        batch_op.drop_index('ix_post_course_created')
        batch_op.drop_index(batch_op.f('ix_post_author_id'))

    op.drop_table('post')
    op.drop_table('group_membership')
    with op.batch_alter_table('discussion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discussion_forum_id'))
        batch_op.drop_index('ix_discussion_course_created')

    op.drop_table('discussion')
    op.drop_table('forum')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_person_id'))

    op.drop_table('enrolment')
    op.drop_table('course_group')
    op.drop_table('person')
    op.drop_table('deployment')
    op.drop_table('course')
    op.drop_table('worker_heartbeat')
    op.drop_table('platform')
