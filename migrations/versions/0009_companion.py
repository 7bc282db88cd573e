"""companion: the Moodle plugin's one-time invites, connections and received events

Revision ID: 0009_companion
Revises: 0008_post_parent_index
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_companion"
down_revision: str | None = "0008_post_parent_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companion_connection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("secret_ciphertext", sa.Text(), nullable=False),
        sa.Column("wwwroot", sa.String(length=1024), nullable=False),
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.Column("moodle_release", sa.String(length=255), nullable=False),
        sa.Column("plugin_version", sa.String(length=32), nullable=False),
        sa.Column("plugin_release", sa.String(length=64), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events_received", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["platform_id"], ["platform.id"],
                                name=op.f("fk_companion_connection_platform_id_platform"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companion_connection")),
        sa.UniqueConstraint("key_id", name=op.f("uq_companion_connection_key_id")),
        sa.UniqueConstraint("platform_id", name=op.f("uq_companion_connection_platform_id")),
    )
    op.create_table(
        "companion_invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("platform_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["platform.id"],
                                name=op.f("fk_companion_invite_platform_id_platform"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companion_invite")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_companion_invite_code_hash")),
    )
    op.create_table(
        "companion_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("moodle_course_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["companion_connection.id"],
            name=op.f("fk_companion_event_connection_id_companion_connection"),
            ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companion_event")),
        sa.UniqueConstraint("connection_id", "event_id",
                            name=op.f("uq_companion_event_connection_id_event_id")),
    )
    op.create_index("ix_companion_event_received_at", "companion_event", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_companion_event_received_at", table_name="companion_event")
    op.drop_table("companion_event")
    op.drop_table("companion_invite")
    op.drop_table("companion_connection")
