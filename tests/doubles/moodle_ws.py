"""A Moodle web-service double: `/webservice/rest/server.php` served from a generated community.

It answers the functions Circolo calls in the recorded Moodle 4.4 shapes (see
``tests/doubles/community.py``), validates parameters as strictly as Moodle (booleans only 0/1,
integers only digits), counts calls and the time it spends per request (response header
``X-Double-Seconds``), and has switches for what a real Moodle does wrong.

In the test process::

    from tests.doubles.community import generate_community
    from tests.doubles.moodle_ws import MoodleDouble, serve_double

    double = MoodleDouble(generate_community(seed=1), token="t0ken")
    with serve_double(double) as server:       # a thread on 127.0.0.1, free port
        client = MoodleClient(server.url, "t0ken")
        double.fail_next("503", count=2)        # or "html", "truncated", "empty", "disabled",
                                                # "timeout", or a Moodle errorcode: "invalidtoken"
        double.deny("core_enrol_get_enrolled_users", "nopermissions")
        double.latency = 0.05                   # seconds added to every call
        double.community.add_post(...)          # new posts, edits, deletions at run time
        double.calls["mod_forum_get_forum_discussions"], double.total_calls

Without a server, through the ``http_mock`` fixture (unit tests)::

    mock_double(http_mock, double, "http://moodle.test")

In a separate process (benchmarks, the demo)::

    with spawn_double(seed=1, learners=500, discussions=500, posts=10_000) as remote:
        remote.url, remote.token, remote.stats(), remote.reset_stats(),
        remote.control("add_posts", count=20), remote.control("fail_next", kind="503"),
        remote.control("edit_post", post_id=5, message="<p>...</p>"),
        remote.control("delete_post", post_id=7), remote.control("delete_discussion",
        discussion_id=3), remote.control("unenrol", user_id=12), remote.control("latency",
        seconds=0.05)

or ``python -m tests.doubles.moodle_ws --port 8081 --learners 40 ...`` (prints its URL).

Messaging follows Moodle: a recipient who shares no course with the web-service user gets
``msgid: -1`` and Moodle's preferences message; text over 4096 bytes fails the same way;
``clientmsgid`` is echoed back and never deduplicated; delivered messages can be read back with
``core_message_get_conversation_between_users`` / ``core_message_get_conversation_messages``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask, Response, request
from werkzeug.serving import make_server

from tests.doubles.community import SERVICE_FUNCTIONS, Community, generate_community

SERVER_PATH = "/webservice/rest/server.php"
#: The token the double accepts unless told otherwise (a test value, not a secret).
DEFAULT_TOKEN = "double-token"  # noqa: S105
MESSAGE_MAX_LENGTH = 4096
_KEY = re.compile(r"\[([^\]]*)\]")


class MoodleException(Exception):
    """An error Moodle reports as an HTTP 200 body."""

    def __init__(self, errorcode: str | None, message: str, exception: str = "moodle_exception",
                 debuginfo: str | None = None) -> None:
        super().__init__(message)
        self.body: dict[str, Any] = {"exception": exception, "message": message}
        if errorcode is not None:
            self.body["errorcode"] = errorcode
        if debuginfo:
            self.body["debuginfo"] = debuginfo


def invalid_parameter(debuginfo: str) -> MoodleException:
    return MoodleException("invalidparameter", "Invalid parameter value detected",
                           "invalid_parameter_exception", debuginfo)


def decode_form(pairs: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild PHP's nested arrays from `a[0][b]=c` keys (lists where keys are 0..n-1)."""
    root: dict[str, Any] = {}
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    for key, value in items:
        head = key.split("[", 1)[0]
        path = [head, *_KEY.findall(key[len(head):])]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value

    def listify(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        node = {k: listify(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node

    return listify(root)


def _int(params: Mapping[str, Any], name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None:
        if default is None:
            raise invalid_parameter(f"Missing required key in single structure: {name}")
        return default
    if not re.fullmatch(r"-?\d+", str(value)):
        raise invalid_parameter(
            f'{name} => Invalid parameter value detected: Invalid external api parameter: '
            f'the value is "{value}", the server was expecting "int" type')
    return int(value)


def _bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if str(value) not in ("0", "1"):
        raise invalid_parameter(f'{name} => Invalid parameter value detected: Invalid external '
                                f'api parameter: the value is "{value}", the server was '
                                f'expecting "bool" type')
    return value == "1"


def _options(params: Mapping[str, Any]) -> dict[str, str]:
    return {o["name"]: o.get("value", "") for o in params.get("options") or []}


@dataclass
class Conversation:
    id: int
    members: tuple[int, int]
    messages: list[dict[str, Any]] = field(default_factory=list)


class MoodleDouble:
    """The state and behaviour of the double: a community, a token, switches and counters."""

    def __init__(self, community: Community, *, token: str = DEFAULT_TOKEN,
                 functions: tuple[str, ...] = SERVICE_FUNCTIONS) -> None:
        self.community = community
        self.token = token
        self.functions = set(functions)
        self.latency = 0.0
        self.calls: Counter[str] = Counter()
        self.server_seconds = 0.0  # inside `handle` (the web-service logic)
        self.http_seconds = 0.0  # the whole WSGI request (when served by `main`)
        self.denied: dict[str, str] = {}
        self._failures: list[tuple[str, str | None]] = []
        self.conversations: dict[frozenset[int], Conversation] = {}
        self._message_id = 1
        self._conversation_id = 43
        self.lock = threading.RLock()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # --- switches ------------------------------------------------------------------------------

    def fail_next(self, kind: str, count: int = 1, function: str | None = None) -> None:
        """Make the next `count` calls (of `function`, or any) fail in the way `kind` says."""
        with self.lock:
            self._failures.extend([(kind, function)] * count)

    def deny(self, function: str, errorcode: str = "nopermissions") -> None:
        """Make every call of `function` fail with a Moodle error (capability missing...)."""
        self.denied[function] = errorcode

    def reset_stats(self) -> None:
        with self.lock:
            self.calls.clear()
            self.server_seconds = 0.0
            self.http_seconds = 0.0

    # --- dispatch ---------------------------------------------------------------------------------

    def handle(self, form: Mapping[str, str] | list[tuple[str, str]]
               ) -> tuple[int, str, dict[str, str]]:
        """Answer one request: (HTTP status, body, headers)."""
        started = time.perf_counter()
        params = decode_form(form)
        function = str(params.pop("wsfunction", ""))
        token = params.pop("wstoken", None)
        params.pop("moodlewsrestformat", None)
        with self.lock:
            self.calls[function] += 1
            failure = self._take_failure(function)
        if self.latency:
            time.sleep(self.latency)
        status, body = 200, ""
        if failure is not None:
            status, body = self._failure(failure, function)
        elif token != self.token:
            body = json.dumps(MoodleException("invalidtoken", "Invalid token - token not found")
                              .body)
        elif function not in self.functions:
            body = json.dumps(MoodleException(
                "accessexception", "Access control exception", "webservice_access_exception",
                f"Access to the function {function}() is not allowed.").body)
        else:
            try:
                if function in self.denied:
                    raise MoodleException(self.denied[function], "Sorry, but you do not "
                                          "currently have permissions to do that.",
                                          "required_capability_exception")
                with self.lock:
                    result = getattr(self, function)(params)
                body = json.dumps(result, ensure_ascii=False)
            except MoodleException as error:
                body = json.dumps(error.body)
        spent = time.perf_counter() - started
        with self.lock:
            self.server_seconds += spent
        return status, body, {"X-Double-Seconds": f"{spent:.6f}"}

    def _take_failure(self, function: str) -> str | None:
        for index, (kind, only) in enumerate(self._failures):
            if only is None or only == function:
                del self._failures[index]
                return kind
        return None

    def _failure(self, kind: str, function: str) -> tuple[int, str]:
        if kind == "503":
            return 503, "<html><body><h1>503 Service Unavailable</h1></body></html>"
        if kind == "html":
            return 200, ("<br />\n<b>Fatal error</b>:  Allowed memory size exhausted in "
                         "<b>/var/www/moodle/lib/dml/moodle_database.php</b><br />")
        if kind == "empty":
            return 200, ""
        if kind == "truncated":
            return 200, '{"discussions":[{"id":1,"name":"Domanda su'
        if kind == "disabled":
            return 403, ""
        if kind == "timeout":
            time.sleep(2.0)
            return 504, ""
        return 200, json.dumps(MoodleException(kind, f"error/{kind}").body)

    # --- site and roster -----------------------------------------------------------------------

    def core_webservice_get_site_info(self, params: dict[str, Any]) -> Any:
        return self.community.site_info_json(sorted(self.functions))

    def core_course_get_courses_by_field(self, params: dict[str, Any]) -> Any:
        field, value = str(params.get("field", "")), str(params.get("value", ""))
        course = self.community
        if field not in ("", "id", "ids", "shortname"):
            raise invalid_parameter(f"Invalid field name {field}")
        matches = {"": True, "id": value == str(course.course_id),
                   "ids": str(course.course_id) in value.split(","),
                   "shortname": value == course.course_shortname}[field]
        answer = course.course_json()
        return answer if matches else {**answer, "courses": []}

    def core_enrol_get_enrolled_users(self, params: dict[str, Any]) -> Any:
        if _int(params, "courseid") != self.community.course_id:
            raise MoodleException("invalidrecord", "Can't find data record in database table "
                                  "course.", "dml_missing_record_exception")
        options = _options(params)
        known = {"withcapability", "groupid", "onlyactive", "onlysuspended", "userfields",
                 "limitfrom", "limitnumber", "sortby", "sortdirection"}
        if set(options) - known:
            raise MoodleException("errorinvalidparam", "Invalid parameter")
        return self.community.enrolled_users_json(
            onlyactive=_bool(options, "onlyactive", False),
            limitfrom=_int(options, "limitfrom", 0), limitnumber=_int(options, "limitnumber", 0))

    def core_user_get_users_by_field(self, params: dict[str, Any]) -> Any:
        return self.community.users_by_field_json(str(params.get("field", "")),
                                                  list(params.get("values") or []))

    # --- forums -----------------------------------------------------------------------------------

    def mod_forum_get_forums_by_courses(self, params: dict[str, Any]) -> Any:
        ids = [int(i) for i in params.get("courseids") or []]
        return self.community.forums_json(ids)

    def mod_forum_get_forum_discussions(self, params: dict[str, Any]) -> Any:
        forumid = _int(params, "forumid")
        if forumid not in {f.id for f in self.community.forums}:
            raise MoodleException(f"Unable to find forum with id {forumid}",
                                  f"error/Unable to find forum with id {forumid}")
        sortorder = _int(params, "sortorder", -1)
        sortorder = 1 if sortorder == -1 else sortorder
        if sortorder not in range(1, 7):
            raise invalid_parameter("Invalid sort order")
        return self.community.discussions_json(forumid, sortorder=sortorder,
                                               page=_int(params, "page", -1),
                                               perpage=_int(params, "perpage", 0))

    def mod_forum_get_discussion_posts(self, params: dict[str, Any]) -> Any:
        sortby = params.get("sortby", "created")
        direction = str(params.get("sortdirection", "DESC")).upper()
        if sortby not in ("id", "created", "modified") or direction not in ("ASC", "DESC"):
            raise invalid_parameter("Invalid value for sortby or sortdirection")
        result = self.community.discussion_posts_json(_int(params, "discussionid"),
                                                      sortby=sortby, sortdirection=direction)
        if result is None:  # Moodle 4.4 calls a method on null here: no errorcode at all
            raise MoodleException(None, "Call to a member function get_forum_id() on null",
                                  "Error")
        return result

    def mod_forum_add_discussion_post(self, params: dict[str, Any]) -> Any:
        postid = _int(params, "postid")
        subject = str(params.get("subject", ""))
        if re.search(r"<[^>]+>", subject):
            raise invalid_parameter("subject => Invalid parameter value detected")
        options = _options(params)
        try:
            parent = self.community.post(postid)
        except KeyError:
            raise MoodleException("invalidparentpostid", "Invalid parent post id") from None
        if parent.private_reply_to is not None:
            raise MoodleException("cannotreplytoprivatereply",
                                  "You cannot reply to a private reply")
        bot = self.community.service_user.id
        post = self.community.add_post(
            parent.discussion_id, bot, str(params.get("message", "")), parent_id=postid,
            private_reply_to=parent.user_id if _bool(options, "private", False) else None)
        post.subject = subject
        discussion = self.community.discussion(post.discussion_id)
        return {"postid": post.id, "warnings": [],
                "post": self.community._post_json(post, discussion),
                "messages": [{"type": "success", "message": "Your post was successfully added."},
                             {"type": "success", "message": "You have 30 mins to edit it if "
                                                            "you want to make any changes."}]}

    def mod_forum_add_discussion(self, params: dict[str, Any]) -> Any:
        discussion = self.community.add_discussion(
            _int(params, "forumid"), self.community.service_user.id,
            str(params.get("subject", "")), str(params.get("message", "")),
            group_id=_int(params, "groupid", -1))
        return {"discussionid": discussion.id, "warnings": []}

    # --- messaging ---------------------------------------------------------------------------

    def _shares_course(self, user_id: int) -> bool:
        community = self.community
        try:
            user = community.user(user_id)
        except KeyError:
            return False
        bot = community.service_user
        return user.enrolled and not user.suspended and bot.enrolled and not user.deleted

    def _conversation(self, a: int, b: int, create: bool) -> Conversation | None:
        key = frozenset((a, b))
        conversation = self.conversations.get(key)
        if conversation is None and create:
            self._conversation_id += 1
            conversation = Conversation(self._conversation_id, (a, b))
            self.conversations[key] = conversation
        return conversation

    def core_message_send_instant_messages(self, params: dict[str, Any]) -> Any:
        bot = self.community.service_user.id
        results = []
        for message in params.get("messages") or []:
            touserid = _int(message, "touserid")
            text = str(message.get("text", ""))
            textformat = _int(message, "textformat", 0)
            result: dict[str, Any] = {"msgid": -1}
            if "clientmsgid" in message:
                result["clientmsgid"] = message["clientmsgid"]
            try:
                recipient = self.community.user(touserid)
            except KeyError:
                recipient = None
            if recipient is None or recipient.deleted:
                result["errormessage"] = "The user does not exist or is deleted."
            elif len(text.encode()) > MESSAGE_MAX_LENGTH:
                result["errormessage"] = "The message is too long."
            elif touserid != bot and not self._shares_course(touserid):
                result["errormessage"] = (f"You can't message {recipient.fullname} due to "
                                          "their message preferences. Try adding them as a "
                                          "contact.")
            else:
                stored = text if textformat == 1 else f"<p>{text}</p>"
                conversation = self._conversation(bot, touserid, create=True)
                assert conversation is not None
                self._message_id += 1
                at = int(time.time())
                conversation.messages.append({"id": self._message_id, "useridfrom": bot,
                                              "text": stored, "timecreated": at})
                result.update(msgid=self._message_id, text=stored, timecreated=at,
                              conversationid=conversation.id, useridfrom=bot)
            result["candeletemessagesforallusers"] = False
            results.append(result)
        return results

    def _member(self, user_id: int) -> dict[str, Any]:
        user = self.community.user(user_id)
        site = self.community.siteurl
        return {"id": user.id, "fullname": user.fullname,
                "profileurl": f"{site}/user/profile.php?id={user.id}",
                "profileimageurl": "", "profileimageurlsmall": "", "isonline": False,
                "showonlinestatus": True, "isblocked": False, "iscontact": False,
                "isdeleted": user.deleted, "canmessageevenifblocked": None,
                "canmessage": None, "requirescontact": None, "contactrequests": []}

    def core_message_get_conversation_between_users(self, params: dict[str, Any]) -> Any:
        userid, other = _int(params, "userid"), _int(params, "otheruserid")
        limit = _int(params, "messagelimit", 100)
        offset = _int(params, "messageoffset", 0)
        newest_first = _bool(params, "newestmessagesfirst", True)
        _bool(params, "includecontactrequests", False)
        _bool(params, "includeprivacyinfo", False)
        if userid != self.community.service_user.id:
            raise MoodleException("accessdenied", "Access denied")
        conversation = self._conversation(userid, other, create=False)
        if conversation is None:
            raise MoodleException("Conversation does not exist",
                                  "error/Conversation does not exist")
        messages = sorted(conversation.messages, key=lambda m: m["id"], reverse=newest_first)
        return {"id": conversation.id, "name": None, "subname": None, "imageurl": None,
                "type": 1, "membercount": 2, "ismuted": False, "isfavourite": False,
                "isread": True, "unreadcount": 0, "members": [self._member(other)],
                "messages": messages[offset:offset + limit] if limit else messages[offset:],
                "candeletemessagesforallusers": False}

    def core_message_get_conversation_messages(self, params: dict[str, Any]) -> Any:
        # Parameters are validated before anything is looked up, as Moodle does.
        current, convid = _int(params, "currentuserid"), _int(params, "convid")
        newest = _bool(params, "newest", False)
        start, limit = _int(params, "limitfrom", 0), _int(params, "limitnum", 0)
        conversation = next((c for c in self.conversations.values() if c.id == convid), None)
        if conversation is None or current not in conversation.members:
            raise MoodleException("accessdenied", "Access denied")
        messages = sorted(conversation.messages, key=lambda m: m["id"], reverse=newest)
        window = messages[start:start + limit] if limit else messages[start:]
        authors = sorted({m["useridfrom"] for m in window})
        return {"id": conversation.id, "members": [self._member(a) for a in authors],
                "messages": window}

    # --- control (for a double in another process) -------------------------------------------

    def control(self, action: str, args: Mapping[str, Any]) -> Any:
        """Change the double from outside its process; returns something JSON-serialisable."""
        with self.lock:
            if action == "stats":
                return {"calls": dict(self.calls), "total_calls": self.total_calls,
                        "server_seconds": self.server_seconds,
                        "http_seconds": self.http_seconds,
                        "process_cpu_seconds": time.process_time()}
            if action == "reset_stats":
                self.reset_stats()
                return {}
            if action == "latency":
                self.latency = float(args["seconds"])
                return {}
            if action == "fail_next":
                self.fail_next(args["kind"], int(args.get("count", 1)), args.get("function"))
                return {}
            if action == "add_posts":
                return {"post_ids": add_replies(self.community, int(args["count"]))}
            community = self.community
            if action == "edit_post":
                post = community.edit_post(int(args["post_id"]), str(args["message"]))
                return {"post_id": post.id, "modified": post.modified}
            if action == "delete_post":
                return {"removed": community.delete_post(int(args["post_id"]))}
            if action == "delete_discussion":
                return {"removed": community.delete_discussion(int(args["discussion_id"]))}
            if action == "unenrol":
                return {"user_id": community.unenrol(int(args["user_id"])).id}
        raise KeyError(action)


def add_replies(community: Community, count: int) -> list[int]:
    """Add `count` replies spread over the newest discussions, by enrolled learners."""
    learners = [u.id for u in community.learners if u.enrolled]
    newest = sorted(community.discussions, key=lambda d: -d.timemodified)[:max(1, count // 2)]
    added = []
    for i in range(count):
        discussion = newest[i % len(newest)]
        post = community.add_post(discussion.id, learners[i % len(learners)],
                                  f"<p>Risposta aggiunta {i + 1}: provo anche io.</p>")
        added.append(post.id)
    return added


def create_app(double: MoodleDouble) -> Flask:
    """The double as a Flask app (REST endpoint plus a control endpoint)."""
    app = Flask("moodle_ws_double")

    @app.route(SERVER_PATH, methods=["GET", "POST"])
    def server() -> Response:
        # PHP merges $_GET and $_POST; so does this.
        pairs = list(request.args.items(multi=True)) + list(request.form.items(multi=True))
        status, body, headers = double.handle(pairs)
        mimetype = "application/json" if body.startswith(("{", "[")) else "text/html"
        return Response(body, status=status, headers=headers, mimetype=mimetype)

    @app.post("/_double/<action>")
    def control(action: str) -> Response:
        try:
            result = double.control(action, request.get_json(silent=True) or {})
        except KeyError:
            return Response("unknown action", status=404)
        return Response(json.dumps(result), mimetype="application/json")

    return app


@dataclass
class DoubleServer:
    url: str
    port: int
    thread: threading.Thread
    server: Any

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


def start_double(double: MoodleDouble, port: int = 0) -> DoubleServer:
    """Serve the double on 127.0.0.1 (a free port unless given) in a background thread."""
    server = make_server("127.0.0.1", port, create_app(double), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return DoubleServer(f"http://127.0.0.1:{server.port}", server.port, thread, server)


@contextlib.contextmanager
def serve_double(double: MoodleDouble, port: int = 0) -> Iterator[DoubleServer]:
    server = start_double(double, port)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RemoteDouble:
    """A double running in another process, driven through its control endpoint."""

    url: str
    token: str
    process: subprocess.Popen[str]

    def control(self, action: str, **args: Any) -> Any:
        response = requests.post(f"{self.url}/_double/{action}", json=args, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        return self.control("stats")

    def reset_stats(self) -> None:
        self.control("reset_stats")


@contextlib.contextmanager
def spawn_double(*, token: str = DEFAULT_TOKEN, **community: Any) -> Iterator[RemoteDouble]:
    """Run a double in a separate Python process (own CPU time); yield once it listens."""
    root = Path(__file__).resolve().parents[2]
    args = [sys.executable, "-m", "tests.doubles.moodle_ws", "--port", "0", "--token", token]
    for name, value in community.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    process = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if not line.startswith("http://"):
            raise RuntimeError(f"the double did not start: {line!r}")
        yield RemoteDouble(line, token, process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def mock_double(http_mock: Any, double: MoodleDouble, url: str) -> None:
    """Serve the double through a `responses` mock at `url` (no server, no thread)."""
    from urllib.parse import parse_qsl

    import responses

    def answer(prepared: Any) -> tuple[int, dict[str, str], str]:
        status, body, headers = double.handle(parse_qsl(prepared.body or "",
                                                        keep_blank_values=True))
        return status, headers, body

    http_mock.add_callback(responses.POST, url.rstrip("/") + SERVER_PATH, callback=answer)


class _TimedApp:
    """WSGI middleware: the whole request's time inside the double, as X-Double-Seconds."""

    def __init__(self, app: Flask, double: MoodleDouble) -> None:
        self.app = app
        self.double = double

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        started = time.perf_counter()
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers, exc_info=exc_info)
            return lambda _data: None

        body = b"".join(self.app(environ, capture))
        spent = time.perf_counter() - started
        headers = [(k, v) for k, v in captured["headers"] if k != "X-Double-Seconds"]
        headers.append(("X-Double-Seconds", f"{spent:.6f}"))
        with self.double.lock:
            self.double.http_seconds += spent
        start_response(captured["status"], headers, captured["exc_info"])
        return [body]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a Moodle web-service double.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    for name, default in (("seed", 7), ("learners", 40), ("discussions", 60), ("posts", 300)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--latency", type=float, default=0.0)
    options = parser.parse_args()
    community = generate_community(seed=options.seed, learners=options.learners,
                                   discussions=options.discussions, posts=options.posts)
    double = MoodleDouble(community, token=options.token)
    double.latency = options.latency
    port = options.port or _free_port()
    community.siteurl = f"http://127.0.0.1:{port}"
    # gunicorn (one process, threads, keep-alive): werkzeug's development server closes
    # every connection, which would make the double look slower than Moodle's PHP-FPM.
    from gunicorn.app.base import BaseApplication

    class DoubleApplication(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", 1)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)
            self.cfg.set("keepalive", 30)
            self.cfg.set("loglevel", "warning")
            self.cfg.set("when_ready", lambda _server: print(community.siteurl, flush=True))

        def load(self) -> Any:
            return _TimedApp(create_app(double), double)

    DoubleApplication().run()


if __name__ == "__main__":
    main()
