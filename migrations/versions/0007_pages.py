"""pages (reserved: filled by the feature that owns it, removed if it needs no tables)

Revision ID: 0007_pages
Revises: 0006_mentoring
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0007_pages"
down_revision: str | None = "0006_mentoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
