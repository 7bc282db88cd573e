"""course_lang: the course's forced language in Moodle, read with its dates

Revision ID: 0010_course_lang
Revises: 0009_companion
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_course_lang"
down_revision: str | None = "0009_companion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("course") as batch:
        batch.add_column(sa.Column("lang", sa.String(length=16), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("course") as batch:
        batch.drop_column("lang")
