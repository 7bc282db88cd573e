"""data_rights: no tables (export, forget and retention work on the existing ones)

Revision ID: 0008_data_rights
Revises: 0007_pages
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0008_data_rights"
down_revision: str | None = "0007_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
