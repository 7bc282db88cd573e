"""post_parent_index: a learner's posts in a course, and the replies to a post (the pane)

Revision ID: 0008_post_parent_index
Revises: 0007_pages
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0008_post_parent_index"
down_revision: str | None = "0007_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_post_course_parent", "post", ["course_id", "parent_moodle_id"])
    op.create_index("ix_post_course_author", "post", ["course_id", "author_id"])


def downgrade() -> None:
    op.drop_index("ix_post_course_author", table_name="post")
    op.drop_index("ix_post_course_parent", table_name="post")
