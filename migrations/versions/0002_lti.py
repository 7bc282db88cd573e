"""lti: tool signing keys and single-use login states

Revision ID: 0002_lti
Revises: 0001_foundation
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_lti"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lti_tool_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("private_key_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_tool_key")),
        sa.UniqueConstraint("kid", name=op.f("uq_lti_tool_key_kid")),
    )
    op.create_table(
        "lti_login_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.String(length=255), nullable=True),
        sa.Column("target_link_uri", sa.String(length=1024), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["platform_id"], ["platform.id"],
                                name=op.f("fk_lti_login_state_platform_id_platform"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_login_state")),
        sa.UniqueConstraint("state", name=op.f("uq_lti_login_state_state")),
    )
    with op.batch_alter_table("lti_login_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lti_login_state_expires_at"), ["expires_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lti_login_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lti_login_state_expires_at"))
    op.drop_table("lti_login_state")
    op.drop_table("lti_tool_key")
