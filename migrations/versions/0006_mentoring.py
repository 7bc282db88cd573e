"""mentoring (reserved: filled by the feature that owns it, removed if it needs no tables)

Revision ID: 0006_mentoring
Revises: 0005_analytics
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0006_mentoring"
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
