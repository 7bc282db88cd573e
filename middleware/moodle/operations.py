"""Connections to Moodle sites: store the token encrypted, check what the token can do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import Course, MoodleConnection, Platform, utcnow
from .schemas import SiteInfo
from .service import MoodleClient, MoodleError

#: Every function the tool calls, and what for (said to IT when one is missing).
REQUIRED_FUNCTIONS: dict[str, str] = {
    "core_webservice_get_site_info": "check the connection",
    "core_enrol_get_enrolled_users": "read each course's participants (roster sync)",
    "core_user_get_users_by_field":
        "read participants' language and time zone (roster sync: the roster does not say them)",
    "core_course_get_courses_by_field":
        "read each course's start and end dates (post texts are kept from the end on)",
    "mod_forum_get_forums_by_courses": "find the course forums (forum sync)",
    "mod_forum_get_forum_discussions": "list forum discussions (forum sync)",
    "mod_forum_get_discussion_posts": "read forum posts (forum sync)",
    "core_message_send_instant_messages": "send mentoring prompts as Moodle messages",
    "core_message_get_conversation_between_users":
        "check which prompts Moodle already delivered (no duplicates)",
    "core_message_get_conversation_messages":
        "check which prompts Moodle already delivered (no duplicates)",
    "mod_forum_add_discussion_post": "post mentoring prompts in a forum discussion",
}

#: The capabilities the web-service user's role needs, per feature (see the README).
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "every call": ("webservice/rest:use",),
    "roster sync": ("moodle/course:view", "moodle/course:viewparticipants",
                    "moodle/course:enrolreview", "moodle/user:viewdetails",
                    "moodle/user:viewhiddendetails", "moodle/user:viewalldetails",
                    "moodle/course:useremail",
                    "moodle/site:viewfullnames", "moodle/site:accessallgroups",
                    "moodle/role:review"),
    "forum sync": ("mod/forum:viewdiscussion", "mod/forum:viewqandawithoutposting",
                   "moodle/course:viewhiddenactivities", "moodle/site:accessallgroups"),
    "mentoring prompts": ("moodle/site:sendmessage", "mod/forum:replypost",
                          "mod/forum:startdiscussion"),
}


class ConnectionRefused(MoodleError):
    """The token does not work at all (wrong token, web services off, site unreachable)."""


@dataclass
class ConnectionCheck:
    """What `check_connection` found out about a token."""

    site: SiteInfo
    missing_functions: list[tuple[str, str]] = field(default_factory=list)
    missing_capabilities: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    probed_course: int | None = None

    @property
    def complete(self) -> bool:
        return not self.missing_functions and not self.missing_capabilities


def encrypt_token(key: str, token: str) -> str:
    return Fernet(key.encode()).encrypt(token.encode()).decode()


def decrypt_token(key: str, ciphertext: str) -> str:
    try:
        return Fernet(key.encode()).decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise MoodleError("the stored web-service token cannot be decrypted with the current "
                          "CIRCOLO_ENCRYPTION_KEY; run `flask circolo moodle connect` again",
                          errorcode="tokenundecryptable") from None


def find_platform(session: Session, reference: str) -> Platform | None:
    """Find a platform by its id or its issuer."""
    condition = Platform.issuer == reference
    if reference.isdigit():
        condition = or_(condition, Platform.id == int(reference))
    return session.scalars(select(Platform).where(condition).order_by(Platform.id)).first()


def connection_for_platform(session: Session, platform_id: int) -> MoodleConnection | None:
    return session.scalars(
        select(MoodleConnection).where(MoodleConnection.platform_id == platform_id)).first()


def client_for_connection(connection: MoodleConnection, key: str,
                          **options: object) -> MoodleClient:
    """Return a client speaking for `connection` (the token decrypted only in memory)."""
    return MoodleClient(connection.url, decrypt_token(key, connection.token_ciphertext),
                        **options)  # type: ignore[arg-type]


def check_connection(client: MoodleClient, course_id: int | None = None) -> ConnectionCheck:
    """Check a token: who it is, which needed functions its service lacks, what its role lacks.

    Raises `ConnectionRefused` when the token cannot even read the site information.
    """
    try:
        site = client.get_site_info()
    except MoodleError as error:
        raise ConnectionRefused(error.detail or str(error), errorcode=error.errorcode,
                                wsfunction=error.wsfunction) from None
    check = ConnectionCheck(site=site)
    available = set(site.functions)
    check.missing_functions = [(name, purpose) for name, purpose in REQUIRED_FUNCTIONS.items()
                               if name not in available]
    if site.messaging is False:
        check.notes.append("Messaging is disabled on the site ($CFG->messaging): prompts can "
                           "only be posted in forums.")
    if course_id is None:
        check.notes.append("No course given: capabilities were not probed (pass --course).")
        return check
    check.probed_course = course_id
    _probe_capabilities(client, check, course_id, available)
    return check


def _lacks(check: ConnectionCheck, capability: str, why: str) -> None:
    if capability not in {c for c, _ in check.missing_capabilities}:
        check.missing_capabilities.append((capability, why))


def _probe_capabilities(client: MoodleClient, check: ConnectionCheck, course_id: int,
                        available: set[str]) -> None:
    def probe(function: str, call: Callable[[], object]) -> object | None:
        if function not in available:
            return None
        try:
            return call()
        except MoodleError as error:
            code = error.errorcode or ""
            if code == "requireloginerror":
                _lacks(check, "moodle/course:view",
                       "the web-service user cannot enter the course (or enrol it there)")
            elif code == "nopermissions" and function == "core_enrol_get_enrolled_users":
                _lacks(check, "moodle/course:enrolreview",
                       "listing only active participants (onlyactive) was refused")
            elif code == "nopermissions":
                _lacks(check, "mod/forum:viewdiscussion", f"{function} was refused")
            elif code == "accessexception":
                _lacks(check, "webservice/rest:use",
                       f"{function} was refused by the web-service layer")
            else:
                check.notes.append(f"{function} failed: {error}")
            return None

    roster = probe("core_enrol_get_enrolled_users",
                   lambda: client.get_enrolled_users(course_id, onlyactive=True, limitnumber=0))
    if isinstance(roster, list):
        service_user = next((u for u in roster if u.id == check.site.userid), None)
        if service_user is None:
            check.notes.append("The web-service user is not enrolled in the course: enrol it "
                               "as non-editing teacher so that it can message every learner.")
        if roster and all(u.email is None for u in roster):
            _lacks(check, "moodle/course:useremail", "participants' e-mails are hidden")
        if roster:
            # Without the capability Moodle refuses nothing: it leaves people out, or their
            # language (a Moodle user always has one).
            profiles = probe("core_user_get_users_by_field",
                             lambda: client.get_users_by_ids(u.id for u in roster[:5]))
            if isinstance(profiles, list) and not any(p.lang for p in profiles):
                _lacks(check, "moodle/user:viewalldetails",
                       "participants' language and time zone cannot be read")
    forums = probe("mod_forum_get_forums_by_courses",
                   lambda: client.get_forums_by_courses([course_id]))
    if forums == []:
        _lacks(check, "mod/forum:viewdiscussion",
               "no forum of the course is visible to the web-service user")
    for forum in forums or []:
        discussions = probe("mod_forum_get_forum_discussions",
                            lambda f=forum: client.get_forum_discussions(f.id, perpage=1))
        if discussions:
            probe("mod_forum_get_discussion_posts",
                  lambda d=discussions[0]: client.get_discussion_posts(d.id))
            break


def save_connection(session: Session, platform: Platform, client: MoodleClient, token: str,
                    key: str, check: ConnectionCheck) -> MoodleConnection:
    """Create or update the platform's connection from a successful check."""
    connection = connection_for_platform(session, platform.id)
    if connection is None:
        connection = MoodleConnection(platform_id=platform.id, url=client.url,
                                      token_ciphertext="")
        session.add(connection)
    connection.url = client.url
    connection.token_ciphertext = encrypt_token(key, token)
    connection.service_user_id = check.site.userid
    connection.site_name = check.site.sitename
    connection.release = check.site.release
    connection.functions = sorted(check.site.functions)
    connection.missing_functions = [name for name, _ in check.missing_functions]
    connection.missing_capabilities = [name for name, _ in check.missing_capabilities]
    connection.checked_at = utcnow()
    session.flush()
    return connection


def probe_course_for(session: Session, platform_id: int) -> int | None:
    """A Moodle course id of the platform to probe capabilities with, if Circolo knows one."""
    course = session.scalars(select(Course).where(
        Course.platform_id == platform_id, Course.moodle_course_id.is_not(None))
        .order_by(Course.active.desc(), Course.id)).first()
    return course.moodle_course_id if course else None
