"""LTI Advantage services a platform offers the tool: OAuth2 tokens, NRPS rosters, AGS grades.

Every call has a timeout; a network failure, a non-2xx answer or a body that does not parse
becomes one `ServiceError`. Bodies are loaded through marshmallow schemas (unknown=EXCLUDE).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

log = logging.getLogger(__name__)

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
AGS_LINEITEM_READONLY_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
AGS_RESULT_READONLY_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
AGS_SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
#: What Circolo asks a platform for (dynamic registration asks for the same).
TOOL_SCOPES = (AGS_LINEITEM_SCOPE, AGS_LINEITEM_READONLY_SCOPE, AGS_RESULT_READONLY_SCOPE,
               AGS_SCORE_SCOPE, NRPS_SCOPE)

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MEMBERSHIP_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
SCORE = "application/vnd.ims.lis.v1.score+json"

#: Seconds for every outbound call (connect, read).
TIMEOUT = (5, 20)
#: A token is renewed this many seconds before the platform says it expires.
TOKEN_RENEW_MARGIN = 60
#: A roster never has more pages than this; a platform that keeps saying "next" is broken.
MAX_PAGES = 1000


class ServiceError(Exception):
    """A platform service call failed: unreachable, refused, or answered something unreadable."""

    def __init__(self, detail: str, *, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class ToolSigningKey(Protocol):
    """The tool's current private key and the `kid` its JWKS publishes it under (`lti.keys`)."""

    @property
    def kid(self) -> str: ...

    @property
    def private_key(self) -> Any: ...


@dataclass(frozen=True)
class PlatformEndpoints:
    """What the tool needs to know about a platform to call its services."""

    issuer: str
    client_id: str
    token_url: str


# --- schemas --------------------------------------------------------------------------------

class _Loose(Schema):
    class Meta:
        unknown = EXCLUDE


class TokenSchema(_Loose):
    access_token = fields.String(required=True)
    token_type = fields.String(load_default="Bearer")
    expires_in = fields.Integer(load_default=3600)
    scope = fields.String(load_default="")


@dataclass(frozen=True)
class Member:
    """One person of a course roster as NRPS lists them."""

    user_id: str
    roles: tuple[str, ...]
    status: str = "Active"
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str | None = None
    username: str = ""

    @property
    def active(self) -> bool:
        return self.status == "Active"


class MemberSchema(_Loose):
    user_id = fields.String(required=True)
    roles = fields.List(fields.String(), load_default=list)
    status = fields.String(load_default="Active")
    name = fields.String(load_default="")
    given_name = fields.String(load_default="")
    family_name = fields.String(load_default="")
    email = fields.String(load_default=None, allow_none=True)
    ext_user_username = fields.String(load_default="")

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Member:
        return Member(user_id=data["user_id"], roles=tuple(data["roles"]), status=data["status"],
                      name=data["name"], given_name=data["given_name"],
                      family_name=data["family_name"], email=data["email"] or None,
                      username=data["ext_user_username"])


class MembershipContainerSchema(_Loose):
    id = fields.String(load_default="")
    members = fields.List(fields.Nested(MemberSchema), required=True)


@dataclass(frozen=True)
class LineItem:
    """A gradebook column (AGS line item)."""

    label: str
    score_maximum: float
    id: str = ""
    resource_id: str = ""
    resource_link_id: str = ""
    tag: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"label": self.label, "scoreMaximum": self.score_maximum}
        for key, value in (("resourceId", self.resource_id), ("tag", self.tag),
                           ("resourceLinkId", self.resource_link_id)):
            if value:
                body[key] = value
        return body


class LineItemSchema(_Loose):
    id = fields.String(load_default="")
    label = fields.String(required=True)
    scoreMaximum = fields.Float(required=True)  # noqa: N815 - the AGS field name
    resourceId = fields.String(load_default="", allow_none=True)  # noqa: N815
    resourceLinkId = fields.String(load_default="", allow_none=True)  # noqa: N815
    tag = fields.String(load_default="", allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> LineItem:
        return LineItem(id=data["id"], label=data["label"], score_maximum=data["scoreMaximum"],
                        resource_id=data["resourceId"] or "", tag=data["tag"] or "",
                        resource_link_id=data["resourceLinkId"] or "")


@dataclass(frozen=True)
class Score:
    """A grade for one user on one line item (AGS score publish)."""

    user_id: str
    score_given: float | None
    score_maximum: float
    timestamp: datetime
    activity_progress: str = "Completed"
    grading_progress: str = "FullyGraded"
    comment: str = ""

    def as_json(self) -> dict[str, Any]:
        if self.timestamp.tzinfo is None:
            raise ValueError("a score timestamp must be timezone-aware")
        body: dict[str, Any] = {
            "userId": self.user_id,
            "scoreMaximum": self.score_maximum,
            "activityProgress": self.activity_progress,
            "gradingProgress": self.grading_progress,
            "timestamp": self.timestamp.isoformat(timespec="seconds"),
        }
        if self.score_given is not None:
            body["scoreGiven"] = self.score_given
        if self.comment:
            body["comment"] = self.comment
        return body


# --- access tokens --------------------------------------------------------------------------

@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic()


@dataclass
class AccessTokenCache:
    """Bearer tokens per platform and scope set, reused until shortly before they expire."""

    margin: float = TOKEN_RENEW_MARGIN
    _tokens: dict[tuple[str, str, str, frozenset[str]], _CachedToken] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: tuple[str, str, str, frozenset[str]]) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
            if cached is None or cached.expires_at - self.margin <= time.monotonic():
                return None
            return cached.value

    def put(self, key: tuple[str, str, str, frozenset[str]], value: str, expires_in: int) -> None:
        with self._lock:
            self._tokens[key] = _CachedToken(value, time.monotonic() + expires_in)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


#: The process's token cache: every client shares it, so workers do not ask for a token per call.
TOKEN_CACHE = AccessTokenCache()


def client_assertion(endpoints: PlatformEndpoints, key: ToolSigningKey, *,
                     lifetime: int = 300) -> str:
    """Sign the `private_key_jwt` assertion that authenticates the tool at the token URL."""
    now = int(time.time())
    claims = {"iss": endpoints.client_id, "sub": endpoints.client_id,
              "aud": endpoints.token_url, "iat": now, "exp": now + lifetime,
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})


class PlatformServices:
    """The services of one platform, called with the tool's current signing key."""

    def __init__(self, endpoints: PlatformEndpoints, signing_key: Callable[[], ToolSigningKey],
                 *, http: requests.Session | None = None,
                 token_cache: AccessTokenCache = TOKEN_CACHE, timeout: Any = TIMEOUT) -> None:
        self.endpoints = endpoints
        self.signing_key = signing_key
        self.http = http or requests.Session()
        self.token_cache = token_cache
        self.timeout = timeout
        # Two threads missing the cache together should ask the platform once, not twice.
        self._token_lock = threading.Lock()

    # tokens

    def access_token(self, scopes: tuple[str, ...] | list[str]) -> str:
        """Return a bearer token for `scopes`, from the cache or a client-credentials grant."""
        key = (self.endpoints.issuer, self.endpoints.client_id, self.endpoints.token_url,
               frozenset(scopes))
        token = self.token_cache.get(key)
        if token is not None:
            return token
        with self._token_lock:
            token = self.token_cache.get(key)
            if token is not None:
                return token
            form = {
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": client_assertion(self.endpoints, self.signing_key()),
                "scope": " ".join(sorted(set(scopes))),
            }
            response = self._send("POST", self.endpoints.token_url, data=form,
                                  headers={"Accept": "application/json"})
            loaded = _load(TokenSchema(), _json(response), "token response")
            if loaded["token_type"].lower() != "bearer":
                raise ServiceError(f"token type {loaded['token_type']!r} is not bearer")
            self.token_cache.put(key, loaded["access_token"], loaded["expires_in"])
            return loaded["access_token"]

    # NRPS

    def memberships(self, url: str) -> Iterator[Member]:
        """Yield every member of a context, following `Link: <...>; rel="next"` pages."""
        for body in self._pages(url, (NRPS_SCOPE,), MEMBERSHIP_CONTAINER):
            yield from _load(MembershipContainerSchema(), body, "membership container")["members"]

    # AGS

    def line_items(self, url: str) -> list[LineItem]:
        """Return the line items of a context (the `lineitems` URL of the AGS claim)."""
        items: list[LineItem] = []
        for body in self._pages(url, (AGS_LINEITEM_SCOPE,), LINEITEM_CONTAINER):
            items.extend(_load(LineItemSchema(many=True), body, "line items"))
        return items

    def create_line_item(self, url: str, item: LineItem) -> LineItem:
        """Create a line item in the `lineitems` container and return it with its id."""
        response = self._call("POST", url, (AGS_LINEITEM_SCOPE,), accept=LINEITEM,
                              body=item.as_json(), content_type=LINEITEM)
        return _load(LineItemSchema(), _json(response), "line item")

    def post_score(self, lineitem_url: str, score: Score) -> None:
        """Publish a score to a line item (`{lineitem}/scores`, keeping its query string)."""
        self._call("POST", scores_url(lineitem_url), (AGS_SCORE_SCOPE,), body=score.as_json(),
                   content_type=SCORE)

    # plumbing

    def _pages(self, url: str, scopes: tuple[str, ...], accept: str) -> Iterator[Any]:
        seen: set[str] = set()
        next_url: str | None = url
        while next_url:
            if next_url in seen or len(seen) >= MAX_PAGES:
                raise ServiceError(f"paging does not end (at {_without_query(next_url)})")
            seen.add(next_url)
            response = self._call("GET", next_url, scopes, accept=accept)
            yield _json(response)
            next_url = response.links.get("next", {}).get("url") or None

    def _call(self, method: str, url: str, scopes: tuple[str, ...], *, accept: str | None = None,
              body: Any = None, content_type: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token(scopes)}"}
        if accept:
            headers["Accept"] = accept
        kwargs: dict[str, Any] = {}
        if body is not None:
            # Sent as bytes so the AGS media type is the Content-Type, not application/json.
            kwargs["data"] = json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        return self._send(method, url, headers=headers, **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.http.request(method, url, timeout=self.timeout,
                                         allow_redirects=False, **kwargs)
        except requests.RequestException as error:
            raise ServiceError(f"{method} {_without_query(url)} failed: "
                               f"{type(error).__name__}") from error
        if not 200 <= response.status_code < 300:
            log.warning("platform service refused a call",
                        extra={"url": _without_query(url), "status": response.status_code})
            raise ServiceError(f"{method} {_without_query(url)} answered "
                               f"{response.status_code}", status=response.status_code)
        return response


def scores_url(lineitem_url: str) -> str:
    """Return the scores endpoint of a line item: `/scores` appended to its path."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise ServiceError(f"{_without_query(response.url or '')} answered a body that is "
                           "not JSON") from error


def _load(schema: Schema, data: Any, what: str) -> Any:
    try:
        return schema.load(data)
    except ValidationError as error:
        raise ServiceError(f"the {what} does not have the expected shape: "
                           f"{sorted(error.normalized_messages())}") from error


def _without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query="", fragment=""))
