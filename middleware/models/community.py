"""Who takes part: Moodle sites (platforms), their courses, people and enrolments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

#: Role names Circolo uses everywhere; Moodle/LTI roles are mapped onto these.
LEARNER = "learner"
TEACHER = "teacher"
SERVICE = "service"  # the web-service user ("communitybot"): present in forums, never a peer
ROLES = (LEARNER, TEACHER, SERVICE)


class Platform(Base):
    """A Moodle site that launches Circolo (an LTI 1.3 platform registration)."""

    __tablename__ = "platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(1024))
    auth_token_url: Mapped[str] = mapped_column(String(1024))
    key_set_url: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="platform", cascade="all, delete-orphan"
    )
    courses: Mapped[list[Course]] = relationship(back_populates="platform")

    def __repr__(self) -> str:
        return f"<Platform {self.id} {self.issuer} {self.client_id}>"


class Deployment(Base):
    """A deployment of the tool on a platform (Moodle: one per tool type)."""

    __tablename__ = "deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="deployments")


class Course(Base):
    """A course (LTI context) whose community Circolo manages; active from its first launch."""

    __tablename__ = "course"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    # LTI context.id; for Moodle it is the course id, the same as the web services' courseid.
    context_id: Mapped[str] = mapped_column(String(255))
    moodle_course_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(512), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=False)
    activated_at: Mapped[datetime | None]
    last_launch_at: Mapped[datetime | None]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    # The language Moodle forces on the course ("" when each person reads their own).
    lang: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    platform: Mapped[Platform] = relationship(back_populates="courses")
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="course", cascade="all, delete-orphan"
    )
    groups: Mapped[list[CourseGroup]] = relationship(
        back_populates="course", cascade="all, delete-orphan"
    )


class Person(Base):
    """A Moodle user, keyed per platform: the LTI `sub` is the web services' user id."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("platform_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    moodle_user_id: Mapped[int | None]
    fullname: Mapped[str] = mapped_column(String(512), default="")
    email: Mapped[str | None] = mapped_column(String(512))
    lang: Mapped[str] = mapped_column(String(16), default="")
    # An IANA zone name; empty means "the course's" (Moodle's "99" = server default).
    timezone: Mapped[str] = mapped_column(String(64), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="person")


group_membership = Table(
    "group_membership",
    Base.metadata,
    Column("group_id", ForeignKey("course_group.id", ondelete="CASCADE"), primary_key=True),
    Column("enrolment_id", ForeignKey("enrolment.id", ondelete="CASCADE"), primary_key=True),
)


class Enrolment(Base):
    """A person's place in a course: their Circolo role and Moodle roles, groups, last access."""

    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("course_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=LEARNER)
    moodle_roles: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    last_course_access: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    course: Mapped[Course] = relationship(back_populates="enrolments")
    person: Mapped[Person] = relationship(back_populates="enrolments")
    groups: Mapped[list[CourseGroup]] = relationship(
        secondary=group_membership, back_populates="members"
    )


class CourseGroup(Base):
    """A Moodle group inside a course."""

    __tablename__ = "course_group"
    __table_args__ = (UniqueConstraint("course_id", "moodle_group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id", ondelete="CASCADE"))
    moodle_group_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(255), default="")

    course: Mapped[Course] = relationship(back_populates="groups")
    members: Mapped[list[Enrolment]] = relationship(
        secondary=group_membership, back_populates="groups"
    )
