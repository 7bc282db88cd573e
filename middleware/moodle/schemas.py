"""Marshmallow schemas for Moodle's web-service responses, loaded into plain dataclasses.

Every schema excludes unknown keys: Moodle adds fields between releases, and optional
(VALUE_OPTIONAL) keys may be missing, so only what Circolo reads is declared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, post_load


class MoodleSchema(Schema):
    class Meta:
        unknown = EXCLUDE


# --- data loaded from responses ------------------------------------------------------------------

@dataclass(frozen=True)
class MoodleErrorBody:
    exception: str
    errorcode: str | None
    message: str
    debuginfo: str | None


@dataclass(frozen=True)
class SiteInfo:
    sitename: str
    username: str
    fullname: str
    userid: int
    siteurl: str
    lang: str
    release: str
    version: str
    functions: tuple[str, ...]
    messaging: bool | None


@dataclass(frozen=True)
class MoodleCourse:
    id: int
    fullname: str
    shortname: str
    visible: bool
    startdate: int
    enddate: int
    lang: str = ""  # the course's forced language; "" when each person reads their own


@dataclass(frozen=True)
class MoodleGroup:
    id: int
    name: str


@dataclass(frozen=True)
class EnrolledUser:
    """A participant as core_enrol_get_enrolled_users lists them.

    Moodle never returns `lang` or `timezone` here, whatever `userfields` asks for (they are not
    in the function's return description): they come from core_user_get_users_by_field.
    """

    id: int
    fullname: str
    email: str | None
    lastcourseaccess: int
    roles: tuple[str, ...]
    groups: tuple[MoodleGroup, ...]


@dataclass(frozen=True)
class MoodleUser:
    """A user's profile (core_user_get_users_by_field): where language and time zone are."""

    id: int
    username: str
    fullname: str
    email: str | None
    lang: str
    timezone: str
    suspended: bool


@dataclass(frozen=True)
class MoodleForum:
    id: int
    course: int
    cmid: int | None
    type: str
    name: str
    numdiscussions: int | None


@dataclass(frozen=True)
class MoodleDiscussion:
    id: int  # discussion id (Moodle's `discussion` key)
    first_post_id: int  # Moodle's `id` key
    name: str
    groupid: int
    userid: int | None
    userfullname: str
    created: int
    timemodified: int
    usermodified: int | None
    numreplies: int
    pinned: bool
    locked: bool
    starred: bool


@dataclass(frozen=True)
class PostAuthor:
    id: int | None
    fullname: str
    isdeleted: bool


@dataclass(frozen=True)
class MoodlePost:
    id: int
    discussionid: int
    parentid: int | None
    subject: str
    message: str
    timecreated: int | None
    timemodified: int | None
    isdeleted: bool
    isprivatereply: bool
    author: PostAuthor


@dataclass(frozen=True)
class DiscussionPosts:
    posts: tuple[MoodlePost, ...]
    forumid: int | None
    courseid: int | None


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send with core_message_send_instant_messages."""

    touserid: int
    text: str
    textformat: int = 1  # 0 MOODLE, 1 HTML, 2 PLAIN, 4 MARKDOWN
    clientmsgid: str | None = None  # alphanumeric; echoed back, never deduplicated by Moodle


@dataclass(frozen=True)
class SendResult:
    msgid: int  # -1 means this message failed: read `errormessage`
    clientmsgid: str | None
    errormessage: str | None
    conversationid: int | None
    text: str | None = None
    timecreated: int | None = None

    @property
    def delivered(self) -> bool:
        return self.msgid > 0


@dataclass(frozen=True)
class ConversationMessage:
    id: int
    useridfrom: int
    text: str
    timecreated: int


@dataclass(frozen=True)
class Conversation:
    id: int
    member_ids: tuple[int, ...]
    messages: tuple[ConversationMessage, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AddedPost:
    postid: int
    warnings: tuple[str, ...]


# --- schemas ---------------------------------------------------------------------------------

class ErrorBodySchema(MoodleSchema):
    exception = fields.String(required=True)
    errorcode = fields.String(load_default=None, allow_none=True)
    message = fields.String(load_default="", allow_none=True)
    debuginfo = fields.String(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleErrorBody:
        return MoodleErrorBody(data["exception"], data["errorcode"], data["message"] or "",
                               data["debuginfo"])


class _NamedSchema(MoodleSchema):
    name = fields.String(required=True)
    value = fields.Raw(load_default=None)


class SiteInfoSchema(MoodleSchema):
    sitename = fields.String(load_default="")
    username = fields.String(load_default="")
    fullname = fields.String(load_default="")
    userid = fields.Integer(required=True)
    siteurl = fields.String(required=True)
    lang = fields.String(load_default="")
    release = fields.String(load_default="")
    version = fields.String(load_default="")
    functions = fields.List(fields.Nested(_NamedSchema), load_default=list)
    advancedfeatures = fields.List(fields.Nested(_NamedSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> SiteInfo:
        features = {f["name"]: f["value"] for f in data["advancedfeatures"]}
        messaging = None if "messaging" not in features else bool(int(features["messaging"]))
        return SiteInfo(
            sitename=data["sitename"], username=data["username"], fullname=data["fullname"],
            userid=data["userid"], siteurl=data["siteurl"].rstrip("/"), lang=data["lang"],
            release=data["release"], version=data["version"],
            functions=tuple(f["name"] for f in data["functions"]), messaging=messaging,
        )


class CourseSchema(MoodleSchema):
    id = fields.Integer(required=True)
    fullname = fields.String(load_default="")
    shortname = fields.String(load_default="")
    visible = fields.Boolean(load_default=True)
    startdate = fields.Integer(load_default=0)
    enddate = fields.Integer(load_default=0)
    lang = fields.String(load_default="", allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleCourse:
        return MoodleCourse(**{**data, "lang": data["lang"] or ""})


class CoursesSchema(MoodleSchema):
    courses = fields.List(fields.Nested(CourseSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> list[MoodleCourse]:
        return list(data["courses"])


class GroupSchema(MoodleSchema):
    id = fields.Integer(required=True)
    name = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleGroup:
        return MoodleGroup(**data)


class RoleSchema(MoodleSchema):
    shortname = fields.String(load_default="")


class EnrolledUserSchema(MoodleSchema):
    id = fields.Integer(required=True)
    fullname = fields.String(load_default="")
    email = fields.String(load_default=None, allow_none=True)
    lastcourseaccess = fields.Integer(load_default=0, allow_none=True)
    roles = fields.List(fields.Nested(RoleSchema), load_default=list)
    groups = fields.List(fields.Nested(GroupSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> EnrolledUser:
        return EnrolledUser(
            id=data["id"], fullname=data["fullname"], email=data["email"] or None,
            lastcourseaccess=data["lastcourseaccess"] or 0,
            roles=tuple(r["shortname"] for r in data["roles"]), groups=tuple(data["groups"]),
        )


class UserSchema(MoodleSchema):
    id = fields.Integer(required=True)
    username = fields.String(load_default="")
    fullname = fields.String(load_default="")
    email = fields.String(load_default=None, allow_none=True)
    lang = fields.String(load_default="")
    timezone = fields.String(load_default="")
    suspended = fields.Boolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleUser:
        return MoodleUser(**data)


class ForumSchema(MoodleSchema):
    id = fields.Integer(required=True)
    course = fields.Integer(required=True)
    cmid = fields.Integer(load_default=None, allow_none=True)
    type = fields.String(load_default="general")
    name = fields.String(load_default="")
    numdiscussions = fields.Integer(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleForum:
        return MoodleForum(**data)


class DiscussionSchema(MoodleSchema):
    id = fields.Integer(required=True)
    discussion = fields.Integer(required=True)
    name = fields.String(load_default="")
    groupid = fields.Integer(load_default=-1)
    userid = fields.Integer(load_default=None, allow_none=True)
    userfullname = fields.String(load_default="", allow_none=True)
    created = fields.Integer(load_default=0)
    timemodified = fields.Integer(required=True)
    usermodified = fields.Integer(load_default=None, allow_none=True)
    numreplies = fields.Integer(load_default=0)
    pinned = fields.Boolean(load_default=False)
    locked = fields.Boolean(load_default=False)
    starred = fields.Boolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodleDiscussion:
        return MoodleDiscussion(
            id=data["discussion"], first_post_id=data["id"], name=data["name"],
            groupid=data["groupid"], userid=data["userid"],
            userfullname=data["userfullname"] or "", created=data["created"],
            timemodified=data["timemodified"], usermodified=data["usermodified"],
            numreplies=data["numreplies"], pinned=data["pinned"], locked=data["locked"],
            starred=data["starred"],
        )


class DiscussionPage(list[MoodleDiscussion]):
    """One page of discussions; `hidden` counts those Moodle moved into `warnings`."""

    hidden: int = 0


class DiscussionsSchema(MoodleSchema):
    discussions = fields.List(fields.Nested(DiscussionSchema), load_default=list)
    warnings = fields.List(fields.Dict(), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DiscussionPage:
        # Discussions the token may not view (e.g. Q&A before posting) come back as warnings:
        # a page can be short of `perpage` although more pages follow.
        page = DiscussionPage(data["discussions"])
        page.hidden = len(data["warnings"])
        return page


class AuthorSchema(MoodleSchema):
    id = fields.Integer(load_default=None, allow_none=True)
    fullname = fields.String(load_default="", allow_none=True)
    isdeleted = fields.Boolean(load_default=False)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> PostAuthor:
        return PostAuthor(data["id"], data["fullname"] or "", data["isdeleted"])


class PostSchema(MoodleSchema):
    id = fields.Integer(required=True)
    discussionid = fields.Integer(required=True)
    parentid = fields.Integer(load_default=None, allow_none=True)
    subject = fields.String(load_default="", allow_none=True)
    message = fields.String(load_default="", allow_none=True)
    timecreated = fields.Integer(load_default=None, allow_none=True)
    timemodified = fields.Integer(load_default=None, allow_none=True)
    isdeleted = fields.Boolean(load_default=False)
    isprivatereply = fields.Boolean(load_default=False)
    author = fields.Nested(AuthorSchema, load_default=lambda: {})

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> MoodlePost:
        author = data["author"]
        if isinstance(author, dict):  # the default: Moodle sent no author at all
            author = PostAuthor(None, "", False)
        return MoodlePost(
            id=data["id"], discussionid=data["discussionid"], parentid=data["parentid"] or None,
            subject=data["subject"] or "", message=data["message"] or "",
            timecreated=data["timecreated"], timemodified=data["timemodified"],
            isdeleted=data["isdeleted"], isprivatereply=data["isprivatereply"], author=author,
        )


class DiscussionPostsSchema(MoodleSchema):
    posts = fields.List(fields.Nested(PostSchema), load_default=list)
    forumid = fields.Integer(load_default=None, allow_none=True)
    courseid = fields.Integer(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> DiscussionPosts:
        return DiscussionPosts(tuple(data["posts"]), data["forumid"], data["courseid"])


class SendResultSchema(MoodleSchema):
    msgid = fields.Integer(required=True)
    clientmsgid = fields.String(load_default=None, allow_none=True)
    errormessage = fields.String(load_default=None, allow_none=True)
    conversationid = fields.Integer(load_default=None, allow_none=True)
    text = fields.String(load_default=None, allow_none=True)
    timecreated = fields.Integer(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> SendResult:
        return SendResult(**data)


class ConversationMessageSchema(MoodleSchema):
    id = fields.Integer(required=True)
    useridfrom = fields.Integer(required=True)
    text = fields.String(load_default="")
    timecreated = fields.Integer(load_default=0)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> ConversationMessage:
        return ConversationMessage(**data)


class _MemberSchema(MoodleSchema):
    id = fields.Integer(required=True)


class ConversationSchema(MoodleSchema):
    id = fields.Integer(required=True)
    members = fields.List(fields.Nested(_MemberSchema), load_default=list)
    messages = fields.List(fields.Nested(ConversationMessageSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Conversation:
        return Conversation(data["id"], tuple(m["id"] for m in data["members"]),
                            tuple(data["messages"]))


class _WarningSchema(MoodleSchema):
    message = fields.String(load_default="")


class AddedPostSchema(MoodleSchema):
    postid = fields.Integer(required=True)
    warnings = fields.List(fields.Nested(_WarningSchema), load_default=list)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> AddedPost:
        return AddedPost(data["postid"], tuple(w["message"] for w in data["warnings"]))


# --- one instance of each -----------------------------------------------------------------------
# A schema keeps no state between loads, and building one deep-copies its declared fields: the
# client loads every response through these.

ERROR_BODY = ErrorBodySchema()
SITE_INFO = SiteInfoSchema()
COURSES = CoursesSchema()
ENROLLED_USERS = EnrolledUserSchema(many=True)
USERS = UserSchema(many=True)
FORUMS = ForumSchema(many=True)
DISCUSSIONS = DiscussionsSchema()
DISCUSSION_POSTS = DiscussionPostsSchema()
ADDED_POST = AddedPostSchema()
SEND_RESULTS = SendResultSchema(many=True)
CONVERSATION = ConversationSchema()
