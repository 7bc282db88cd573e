"""lti_services: no tables. The services' access tokens are cached in process memory (they
live an hour and are cheap to renew); it stays in the chain so later revisions keep their parent.

Revision ID: 0003_lti_services
Revises: 0002_lti
"""
from collections.abc import Sequence

revision: str = "0003_lti_services"
down_revision: str | None = "0002_lti"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
