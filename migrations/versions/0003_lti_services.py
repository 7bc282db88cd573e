"""lti_services (reserved: filled by the feature that owns it, removed if it needs no tables)

Revision ID: 0003_lti_services
Revises: 0002_lti
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0003_lti_services"
down_revision: str | None = "0002_lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
