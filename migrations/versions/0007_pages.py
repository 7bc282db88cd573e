"""pages: the learner's privacy choices made in the pane

Revision ID: 0007_pages
Revises: 0006_mentoring
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_pages"
down_revision: str | None = "0006_mentoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "privacy_choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("hidden_from_suggestions", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["course.id"],
                                name=op.f("fk_privacy_choice_course_id_course"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_privacy_choice_person_id_person"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_choice")),
        sa.UniqueConstraint("course_id", "person_id",
                            name=op.f("uq_privacy_choice_course_id_person_id")),
    )
    op.create_index(op.f("ix_privacy_choice_person_id"), "privacy_choice", ["person_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_privacy_choice_person_id"), table_name="privacy_choice")
    op.drop_table("privacy_choice")
