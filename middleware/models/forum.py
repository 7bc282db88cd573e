"""What is said: forums, discussions and posts synced from Moodle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .community import Course, Person


class Forum(Base):
    """A Moodle forum of a course, with the sync watermark of its discussion list."""

    __tablename__ = "forum"
    __table_args__ = (UniqueConstraint("course_id", "moodle_forum_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    moodle_forum_id: Mapped[int]
    cmid: Mapped[int | None]
    type: Mapped[str] = mapped_column(String(32), default="general")
    name: Mapped[str] = mapped_column(String(512), default="")
    # Moodle's discussion `timemodified` (epoch seconds) up to which this forum is known complete.
    watermark: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[bool] = mapped_column(default=False)
    synced_at: Mapped[datetime | None]

    course: Mapped[Course] = relationship()
    discussions: Mapped[list[Discussion]] = relationship(
        back_populates="forum", cascade="all, delete-orphan"
    )


class Discussion(Base):
    """A forum discussion (thread) as Moodle lists it."""

    __tablename__ = "discussion"
    __table_args__ = (
        UniqueConstraint("course_id", "moodle_discussion_id"),
        Index("ix_discussion_course_created", "course_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    forum_id: Mapped[int] = mapped_column(ForeignKey("forum.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    moodle_discussion_id: Mapped[int]
    first_post_moodle_id: Mapped[int | None]
    name: Mapped[str] = mapped_column(String(1024), default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    # Moodle group id; -1 means "all participants".
    moodle_group_id: Mapped[int] = mapped_column(default=-1)
    created_at: Mapped[datetime | None]
    # Moodle's `timemodified`: the time of the newest post (epoch seconds; the list's sort key).
    moodle_timemodified: Mapped[int] = mapped_column(default=0)
    num_replies: Mapped[int] = mapped_column(default=0)
    pinned: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)
    deleted: Mapped[bool] = mapped_column(default=False)
    posts_synced_at: Mapped[datetime | None]

    forum: Mapped[Forum] = relationship(back_populates="discussions")
    author: Mapped[Person | None] = relationship()
    posts: Mapped[list[Post]] = relationship(
        back_populates="discussion", cascade="all, delete-orphan", order_by="Post.created_at"
    )


class Post(Base):
    """A forum post: who wrote it, what it answers, and its text (sanitised HTML and plain)."""

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("course_id", "moodle_post_id"),
        Index("ix_post_course_created", "course_id", "created_at"),
        # The pane: the replies to a post, found by their parent's id, and a learner's posts in
        # one course (without statistics the planners preferred any course-wide index).
        Index("ix_post_course_parent", "course_id", "parent_moodle_id"),
        Index("ix_post_course_author", "course_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussion.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    moodle_post_id: Mapped[int]
    parent_moodle_id: Mapped[int | None]
    # None when Moodle hides the author (deleted user or a post the token cannot see).
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    author_deleted: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str] = mapped_column(String(1024), default="")
    message_html: Mapped[str] = mapped_column(Text, default="")  # sanitised with nh3
    message_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    private_reply: Mapped[bool] = mapped_column(default=False)
    moodle_group_id: Mapped[int] = mapped_column(default=-1)
    deleted: Mapped[bool] = mapped_column(default=False)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    discussion: Mapped[Discussion] = relationship(back_populates="posts")
    author: Mapped[Person | None] = relationship()
