"""Schemas for the answers of the companion plugin's functions (local_circolo_*).

The plugin answers in core's shapes where core has one (courses, forums, discussions, posts,
enrolled users), so those parts load through the schemas of `schemas.py` and come out as the
same dataclasses the web-service sync uses; what core lacks (forum visibility, the forum of a
discussion or post, enrolment state, tombstones, delivery results) is added beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import fields, post_load, validate

from . import schemas as s

#: local_circolo_deliver_prompts statuses.
DELIVERED = "delivered"
SILENCED = "silenced"  # stored, but the recipient's preferences turn every output off
REFUSED = "refused"


@dataclass(frozen=True)
class ChangedForum:
    forum: s.MoodleForum
    visible: bool
    uservisible: bool
    visibleoncoursepage: bool
    hasrestrictions: bool
    groupmode: int


@dataclass(frozen=True)
class ChangedDiscussion:
    discussion: s.MoodleDiscussion
    forumid: int
    timestart: int
    timeend: int


@dataclass(frozen=True)
class ChangedPost:
    post: s.MoodlePost
    forumid: int
    privatereplyto: int


@dataclass(frozen=True)
class Tombstone:
    """Something deleted in Moodle, recorded by the plugin's observers."""

    id: int
    itemtype: str  # post, discussion, enrolment, role or user
    itemid: int
    discussionid: int
    forumid: int
    userid: int
    timedeleted: int


@dataclass(frozen=True)
class ChangedUser:
    user: s.EnrolledUser
    enrolled: bool  # an active enrolment in the course now
    suspended: bool
    deleted: bool
    # Unlike core_enrol_get_enrolled_users, the plugin's users carry their profile's language
    # and time zone ("99": the server's).
    lang: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class CourseChanges:
    """What changed in a course since `since` (one page, or all pages merged)."""

    courseid: int
    since: int
    until: int
    deletionsknownsince: int
    nextcursor: str
    course: s.MoodleCourse | None
    forums: tuple[ChangedForum, ...]
    discussions: tuple[ChangedDiscussion, ...]
    posts: tuple[ChangedPost, ...]
    deleted: tuple[Tombstone, ...]
    users: tuple[ChangedUser, ...]

    @property
    def needs_full_read(self) -> bool:
        """Deletions older than the plugin keeps may be missing: read again from since=0."""
        return 0 < self.since < self.deletionsknownsince


@dataclass(frozen=True)
class OutgoingPrompt:
    """A prompt to deliver with local_circolo_deliver_prompts."""

    reference: str  # at most 100 of a-z A-Z 0-9 _ -; a repeat returns the first delivery
    userid: int
    courseid: int
    text: str
    subject: str = ""  # empty: the plugin's, in the recipient's language
    textformat: int = 1  # 1 HTML, 2 plain text
    contexturl: str = ""
    contexturlname: str = ""


@dataclass(frozen=True)
class PromptResult:
    reference: str
    status: str  # delivered, silenced or refused
    repeated: bool  # an earlier call delivered it; nothing was sent again
    reason: str  # why refused (coursenotfound, notenrolled, userdeleted, ...)
    deliveryid: int
    notificationid: int
    timecreated: int

    @property
    def delivered(self) -> bool:
        """Moodle holds the notification (even if the recipient silenced every output)."""
        return self.status in (DELIVERED, SILENCED)


# --- schemas ---------------------------------------------------------------------------------

class ChangedForumSchema(s.ForumSchema):
    visible = fields.Boolean(load_default=True)
    uservisible = fields.Boolean(load_default=True)
    visibleoncoursepage = fields.Boolean(load_default=True)
    hasrestrictions = fields.Boolean(load_default=False)
    groupmode = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ChangedForum:  # type: ignore[override]
        flags = {k: data.pop(k) for k in ("visible", "uservisible", "visibleoncoursepage",
                                          "hasrestrictions", "groupmode")}
        return ChangedForum(forum=s.MoodleForum(**data), **flags)


class ChangedDiscussionSchema(s.DiscussionSchema):
    forumid = fields.Integer(required=True)
    timestart = fields.Integer(load_default=0)
    timeend = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ChangedDiscussion:  # type: ignore[override]
        extra = {k: data.pop(k) for k in ("forumid", "timestart", "timeend")}
        return ChangedDiscussion(discussion=s.DiscussionSchema.make(self, data, **kwargs),
                                 **extra)


class ChangedPostSchema(s.PostSchema):
    forumid = fields.Integer(required=True)
    privatereplyto = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ChangedPost:  # type: ignore[override]
        extra = {k: data.pop(k) for k in ("forumid", "privatereplyto")}
        return ChangedPost(post=s.PostSchema.make(self, data, **kwargs), **extra)


class TombstoneSchema(s.MoodleSchema):
    id = fields.Integer(required=True)
    itemtype = fields.String(required=True,
                             validate=validate.OneOf(("post", "discussion", "enrolment", "role",
                                                      "user")))
    itemid = fields.Integer(required=True)
    discussionid = fields.Integer(load_default=0)
    forumid = fields.Integer(load_default=0)
    userid = fields.Integer(load_default=0)
    timedeleted = fields.Integer(required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Tombstone:
        return Tombstone(**data)


class _ChangedRoleSchema(s.RoleSchema):
    roleid = fields.Integer(load_default=None, allow_none=True)


class ChangedUserSchema(s.EnrolledUserSchema):
    roles = fields.List(fields.Nested(_ChangedRoleSchema), load_default=list)
    enrolled = fields.Boolean(load_default=False)
    suspended = fields.Boolean(load_default=False)
    deleted = fields.Boolean(load_default=False)
    lang = fields.String(load_default="", allow_none=True)
    timezone = fields.String(load_default="", allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **kwargs: Any) -> ChangedUser:  # type: ignore[override]
        extra = {k: data.pop(k) for k in ("enrolled", "suspended", "deleted")}
        extra.update({k: data.pop(k) or "" for k in ("lang", "timezone")})
        return ChangedUser(user=s.EnrolledUserSchema.make(self, data, **kwargs), **extra)


class CourseChangesSchema(s.MoodleSchema):
    courseid = fields.Integer(required=True)
    since = fields.Integer(required=True)
    until = fields.Integer(required=True)
    deletionsknownsince = fields.Integer(load_default=0)
    nextcursor = fields.String(load_default="")
    course = fields.List(fields.Nested(s.CourseSchema), load_default=list)
    forums = fields.List(fields.Nested(ChangedForumSchema), load_default=list)
    discussions = fields.List(fields.Nested(ChangedDiscussionSchema), load_default=list)
    posts = fields.List(fields.Nested(ChangedPostSchema), load_default=list)
    deleted = fields.List(fields.Nested(TombstoneSchema), load_default=list)
    users = fields.List(fields.Nested(ChangedUserSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> CourseChanges:
        return CourseChanges(
            courseid=data["courseid"], since=data["since"], until=data["until"],
            deletionsknownsince=data["deletionsknownsince"], nextcursor=data["nextcursor"],
            course=data["course"][0] if data["course"] else None,
            forums=tuple(data["forums"]), discussions=tuple(data["discussions"]),
            posts=tuple(data["posts"]), deleted=tuple(data["deleted"]),
            users=tuple(data["users"]))


class PromptResultSchema(s.MoodleSchema):
    reference = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf((DELIVERED, SILENCED, REFUSED)))
    repeated = fields.Boolean(load_default=False)
    reason = fields.String(load_default="")
    deliveryid = fields.Integer(load_default=0)
    notificationid = fields.Integer(load_default=0)
    timecreated = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PromptResult:
        return PromptResult(**data)


COURSE_CHANGES = CourseChangesSchema()
PROMPT_RESULTS = PromptResultSchema(many=True)


def merge_pages(pages: list[CourseChanges]) -> CourseChanges:
    """Join the pages of one read (same since and until) into one CourseChanges."""
    first, last = pages[0], pages[-1]
    return CourseChanges(
        courseid=first.courseid, since=first.since, until=first.until,
        deletionsknownsince=first.deletionsknownsince, nextcursor=last.nextcursor,
        course=first.course, forums=first.forums,
        discussions=tuple(d for p in pages for d in p.discussions),
        posts=tuple(x for p in pages for x in p.posts),
        deleted=tuple(t for p in pages for t in p.deleted),
        users=tuple(u for p in pages for u in p.users))
