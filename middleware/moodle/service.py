"""Moodle's REST web services: the one place Circolo talks to a Moodle site.

Every call is a form-encoded POST to `{wwwroot}/webservice/rest/server.php` with a timeout.
Moodle reports errors as HTTP 200 bodies with an `exception` key: they become `MoodleError`
carrying the `errorcode` and are not retried (a wrong token stays wrong). Transient failures
(timeouts, connection errors, 5xx, HTML or empty bodies, truncated JSON) are retried with
exponential backoff and jitter, a bounded number of times. Responses are loaded through the
schemas in `schemas.py`. The token never appears in a log line or an exception message.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import requests
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from ..errors import CircoloError
from . import plugin_schemas as ps
from . import schemas as s

log = logging.getLogger(__name__)

SERVER_PATH = "/webservice/rest/server.php"
#: (connect, read) seconds. Moodle can take long on a big discussion; never forever.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: What the roster asks for (never `lang` nor `timezone`: Moodle leaves them out, whatever asked).
ENROLLED_USER_FIELDS = "id,fullname,firstname,lastname,email,roles,groups,lastcourseaccess"
#: Users looked up per core_user_get_users_by_field call, far below PHP's max_input_vars.
USERS_PER_CALL = 200
#: Error codes meaning "these two users have no conversation yet" (Moodle throws a
#: moodle_exception whose errorcode is the literal text; the others are defensive).
NO_CONVERSATION_CODES = frozenset({"Conversation does not exist", "conversationdoesnotexist",
                                   "errorconversationdoesnotexist"})


class MoodleError(CircoloError):
    """Moodle answered with an error, or could not be reached; `errorcode` says which."""

    status_code = 502
    code = "moodle_error"
    message = _l("Moodle did not answer as expected. Please try again later.")

    def __init__(self, detail: str, *, errorcode: str | None = None, wsfunction: str = "",
                 exception: str | None = None, debuginfo: str | None = None) -> None:
        super().__init__(detail=detail)
        self.errorcode = errorcode
        self.wsfunction = wsfunction
        self.exception = exception
        self.debuginfo = debuginfo

    def __str__(self) -> str:
        code = f" [{self.errorcode}]" if self.errorcode else ""
        where = f"{self.wsfunction}: " if self.wsfunction else ""
        return f"{where}{self.detail}{code}"


class MoodleUnavailable(MoodleError):
    """Moodle could not be reached or kept failing after every retry."""

    code = "moodle_unavailable"
    message = _l("Moodle cannot be reached right now. Circolo will try again later.")


class WebServicesDisabled(MoodleError):
    """Moodle answered 403 with an empty body: web services or REST are not enabled."""

    code = "moodle_webservices_disabled"
    message = _l("Web services are switched off on this Moodle site: ask IT to enable them "
                 "and the REST protocol.")


def server_url(url: str) -> str:
    """Return the REST endpoint for a Moodle address (its wwwroot or the endpoint itself)."""
    url = url.strip().rstrip("/")
    return url if url.endswith(SERVER_PATH) else url + SERVER_PATH


def encode_params(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten parameters the way PHP reads them: `a[0][b]=c`, booleans as 1/0, None left out."""
    pairs: list[tuple[str, str]] = []

    def add(key: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for sub, item in value.items():
                add(f"{key}[{sub}]", item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                add(f"{key}[{index}]", item)
        elif isinstance(value, bool):
            pairs.append((key, "1" if value else "0"))
        else:
            pairs.append((key, str(value)))

    for name, value in params.items():
        add(name, value)
    return pairs


def _options(**options: Any) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in options.items() if value is not None]


def http_session(url: str) -> requests.Session:
    """A session that reads proxy and CA settings from the environment once, not per call."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get(
        "CURL_CA_BUNDLE") or True
    # Otherwise requests re-scans the environment (and ~/.netrc) on every call.
    session.trust_env = False
    return session


class _Transient(Exception):
    """A failure worth retrying: the next attempt may well succeed."""


class MoodleClient:
    """A client for one Moodle site's REST web services, authenticated by one token."""

    def __init__(self, url: str, token: str, *,
                 timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, retries: int = 3,
                 backoff: float = 0.5, max_backoff: float = 8.0,
                 session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.url = server_url(url)
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.http = session or http_session(self.url)
        self._sleep = sleep
        self._jitter = jitter
        #: HTTP requests sent (retries included), in total and per function.
        self.calls = 0
        self.calls_by_function: Counter[str] = Counter()
        #: Seconds spent waiting for Moodle (requests, not backoff sleeps).
        self.seconds = 0.0

    def __repr__(self) -> str:
        return f"<MoodleClient {self.url}>"

    # --- transport ------------------------------------------------------------------------------

    def call(self, wsfunction: str, params: Mapping[str, Any] | None = None,
             schema: Schema | None = None) -> Any:
        """Call a web-service function; return its JSON loaded through `schema` if given."""
        body = self._call_with_retries(wsfunction, params or {})
        if schema is None:
            return body
        try:
            return schema.load(body)
        except ValidationError as error:
            raise MoodleError(f"unexpected response shape: {error.messages}",
                              errorcode="invalidresponse", wsfunction=wsfunction) from None

    def _call_with_retries(self, wsfunction: str, params: Mapping[str, Any]) -> Any:
        attempt = 0
        while True:
            try:
                return self._call_once(wsfunction, params)
            except _Transient as problem:
                if attempt >= self.retries:
                    raise MoodleUnavailable(f"{problem} (after {attempt + 1} attempts)",
                                            errorcode="unavailable",
                                            wsfunction=wsfunction) from None
                delay = self.retry_delay(attempt)
                log.warning("moodle call failed, retrying",
                            extra={"wsfunction": wsfunction, "problem": str(problem),
                                   "attempt": attempt + 1, "delay": round(delay, 3)})
                self._sleep(delay)
                attempt += 1

    def retry_delay(self, attempt: int) -> float:
        """Exponential backoff with jitter: half the capped delay fixed, half random."""
        capped = min(self.max_backoff, self.backoff * (2 ** attempt))
        return capped / 2 + capped / 2 * self._jitter()

    def _call_once(self, wsfunction: str, params: Mapping[str, Any]) -> Any:
        data = [("wstoken", self._token), ("wsfunction", wsfunction),
                ("moodlewsrestformat", "json"), *encode_params(params)]
        self.calls += 1
        self.calls_by_function[wsfunction] += 1
        started = time.perf_counter()
        try:
            response = self.http.post(self.url, data=data, timeout=self.timeout,
                                      headers={"Accept": "application/json"})
        except requests.Timeout:
            raise _Transient("timed out") from None
        except requests.ConnectionError:
            raise _Transient("connection failed") from None
        except requests.RequestException as error:
            # The message names the URL only (the token travels in the body), never the token.
            raise MoodleError(f"request failed: {type(error).__name__}",
                              wsfunction=wsfunction) from None
        finally:
            self.seconds += time.perf_counter() - started
        log.debug("moodle call", extra={"wsfunction": wsfunction, "status": response.status_code})
        return self._parse(wsfunction, response)

    def _parse(self, wsfunction: str, response: requests.Response) -> Any:
        status = response.status_code
        # Read as bytes (json decodes UTF-8 itself). A byte-order mark, which a stray one in a
        # Moodle config or language file puts before the JSON, is dropped.
        content = response.content.removeprefix(codecs.BOM_UTF8).strip()
        if status == 403 and not content:
            raise WebServicesDisabled("HTTP 403 with an empty body: web services or the REST "
                                      "protocol are disabled", errorcode="webservicesdisabled",
                                      wsfunction=wsfunction)
        if status >= 500 or status in (408, 425, 429):
            raise _Transient(f"HTTP {status}")
        if status >= 400:
            raise MoodleError(f"HTTP {status}: is this the Moodle web-service address?",
                              errorcode=f"http{status}", wsfunction=wsfunction)
        if not content:
            raise _Transient("empty body")
        if content[:1] not in (b"{", b"[") and content != b"null":
            # An HTML error page (PHP fatal error, proxy page, maintenance): usually passing.
            raise _Transient("HTML instead of JSON")
        try:
            body = json.loads(content)
        except ValueError:  # UnicodeDecodeError included
            raise _Transient("truncated or invalid JSON") from None
        if isinstance(body, dict) and "exception" in body:
            error = s.ERROR_BODY.load(body)
            raise MoodleError(error.message or error.exception, errorcode=error.errorcode,
                              wsfunction=wsfunction, exception=error.exception,
                              debuginfo=error.debuginfo)
        return body

    # --- site ------------------------------------------------------------------------------------

    def get_site_info(self) -> s.SiteInfo:
        """Who the token is, and the functions of its service."""
        return self.call("core_webservice_get_site_info", {}, s.SITE_INFO)

    def get_courses_by_field(self, field: str = "", value: str | int = "") -> list[s.MoodleCourse]:
        return self.call("core_course_get_courses_by_field",
                         {"field": field, "value": value}, s.COURSES)

    # --- roster -------------------------------------------------------------------------------

    def get_enrolled_users(self, courseid: int, *, onlyactive: bool = True,
                           limitfrom: int | None = None, limitnumber: int | None = None,
                           userfields: str = ENROLLED_USER_FIELDS) -> list[s.EnrolledUser]:
        """One page of a course's enrolled users (no total: page until a short page)."""
        options = _options(onlyactive=1 if onlyactive else None, userfields=userfields,
                           limitfrom=limitfrom, limitnumber=limitnumber)
        return self.call("core_enrol_get_enrolled_users",
                         {"courseid": courseid, "options": options},
                         s.ENROLLED_USERS)

    def get_users_by_field(self, field: str, values: Sequence[str | int]) -> list[s.MoodleUser]:
        return self.call("core_user_get_users_by_field",
                         {"field": field, "values": list(values)}, s.USERS)

    def get_users_by_ids(self, ids: Iterable[int]) -> list[s.MoodleUser]:
        """Profiles (language, time zone) of these users, USERS_PER_CALL per call.

        Moodle leaves out, silently, users whose profile the token may not see.
        """
        wanted = sorted(set(ids))
        found: list[s.MoodleUser] = []
        for start in range(0, len(wanted), USERS_PER_CALL):
            found.extend(self.get_users_by_field("id", wanted[start:start + USERS_PER_CALL]))
        return found

    # --- forums --------------------------------------------------------------------------------

    def get_forums_by_courses(self, courseids: Iterable[int]) -> list[s.MoodleForum]:
        return self.call("mod_forum_get_forums_by_courses", {"courseids": list(courseids)},
                         s.FORUMS)

    def get_forum_discussions(self, forumid: int, *, sortorder: int = 1, page: int = 0,
                              perpage: int = 50, groupid: int | None = None
                              ) -> s.DiscussionPage:
        """One page of a forum's discussions; sortorder 1 = newest last post first."""
        return self.call("mod_forum_get_forum_discussions",
                         {"forumid": forumid, "sortorder": sortorder, "page": page,
                          "perpage": perpage, "groupid": groupid},
                         s.DISCUSSIONS)

    def get_discussion_posts(self, discussionid: int, *, sortby: str = "id",
                             sortdirection: str = "ASC") -> s.DiscussionPosts:
        """Every post of a discussion the token may see (Moodle does not paginate them)."""
        return self.call("mod_forum_get_discussion_posts",
                         {"discussionid": discussionid, "sortby": sortby,
                          "sortdirection": sortdirection},
                         s.DISCUSSION_POSTS)

    def add_discussion_post(self, postid: int, subject: str, message: str, *,
                            private: bool | None = None, messageformat: int = 1) -> s.AddedPost:
        """Reply to a post (a discussion's first post for a top-level reply)."""
        options = _options(private=private)
        return self.call("mod_forum_add_discussion_post",
                         {"postid": postid, "subject": subject, "message": message,
                          "options": options or None, "messageformat": messageformat},
                         s.ADDED_POST)

    # --- messaging --------------------------------------------------------------------------------

    def send_instant_messages(self, messages: Sequence[s.OutgoingMessage]) -> list[s.SendResult]:
        """Send messages from the web-service user; failures come back as `msgid == -1`."""
        payload = [{"touserid": m.touserid, "text": m.text, "textformat": m.textformat,
                    "clientmsgid": m.clientmsgid} for m in messages]
        return self.call("core_message_send_instant_messages", {"messages": payload},
                         s.SEND_RESULTS)

    def get_conversation_between_users(self, userid: int, otheruserid: int, *,
                                       includecontactrequests: bool = False,
                                       includeprivacyinfo: bool = False,
                                       messagelimit: int = 20, messageoffset: int = 0,
                                       newestmessagesfirst: bool = True
                                       ) -> s.Conversation | None:
        """The private conversation of two users with its newest messages; None if none yet."""
        try:
            return self.call("core_message_get_conversation_between_users",
                             {"userid": userid, "otheruserid": otheruserid,
                              "includecontactrequests": includecontactrequests,
                              "includeprivacyinfo": includeprivacyinfo,
                              "messagelimit": messagelimit, "messageoffset": messageoffset,
                              "newestmessagesfirst": newestmessagesfirst},
                             s.CONVERSATION)
        except MoodleError as error:
            # Not seen live: two users who never wrote to each other have no conversation,
            # and Moodle throws instead of answering with an empty one.
            if error.errorcode in NO_CONVERSATION_CODES:
                return None
            raise

    def get_conversation_messages(self, currentuserid: int, convid: int, *, newest: bool = True,
                                  limitfrom: int = 0, limitnum: int = 20) -> s.Conversation:
        """Messages of a conversation `currentuserid` belongs to (newest first by default)."""
        return self.call("core_message_get_conversation_messages",
                         {"currentuserid": currentuserid, "convid": convid,
                          "limitfrom": limitfrom, "limitnum": limitnum, "newest": newest},
                         s.CONVERSATION)

    # --- the companion plugin (local_circolo) ----------------------------------------------

    def get_course_changes(self, courseid: int, *, since: int = 0, until: int = 0,
                           cursor: str = "", limit: int | None = None) -> ps.CourseChanges:
        """Return one page of what changed in a course after `since` (0: everything)."""
        return self.call("local_circolo_get_course_changes",
                         {"courseid": courseid, "since": since, "until": until,
                          "cursor": cursor, "limit": limit},
                         ps.COURSE_CHANGES)

    def read_course_changes(self, courseid: int, *, since: int = 0,
                            limit: int | None = None, max_pages: int = 1000) -> ps.CourseChanges:
        """Return every page of what changed after `since`, merged (`until`: the next since)."""
        pages = [self.get_course_changes(courseid, since=since, limit=limit)]
        while pages[-1].nextcursor:
            if len(pages) >= max_pages:
                raise MoodleError(f"more than {max_pages} pages of changes",
                                  errorcode="toomanypages",
                                  wsfunction="local_circolo_get_course_changes")
            pages.append(self.get_course_changes(courseid, since=since, until=pages[0].until,
                                                 cursor=pages[-1].nextcursor, limit=limit))
        return ps.merge_pages(pages)

    def deliver_prompts(self, prompts: Sequence[ps.OutgoingPrompt]) -> list[ps.PromptResult]:
        """Deliver prompts as notifications; a repeated reference returns the first delivery."""
        payload = [{"reference": p.reference, "userid": p.userid, "courseid": p.courseid,
                    "subject": p.subject, "text": p.text, "textformat": p.textformat,
                    "contexturl": p.contexturl, "contexturlname": p.contexturlname}
                   for p in prompts]
        return self.call("local_circolo_deliver_prompts", {"prompts": payload}, ps.PROMPT_RESULTS)
