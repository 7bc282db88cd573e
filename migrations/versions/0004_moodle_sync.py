"""moodle_sync (reserved: filled by the feature that owns it, removed if it needs no tables)

Revision ID: 0004_moodle_sync
Revises: 0003_lti_services
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0004_moodle_sync"
down_revision: str | None = "0003_lti_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
