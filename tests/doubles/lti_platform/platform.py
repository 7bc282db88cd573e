"""The state of the Moodle-like platform: its key, course, people, tools, launches and records."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = ("https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
              "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
              "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
              "https://purl.imsglobal.org/spec/lti-ags/scope/score")
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
#: Moodle's id_tokens live 60 seconds.
ID_TOKEN_LIFETIME = 60
ACCESS_TOKEN_LIFETIME = 3600


@dataclass
class User:
    """A Moodle user enrolled in the course; `role` is learner, teacher, tutor, admin or bot."""

    id: str
    given_name: str
    family_name: str
    email: str
    username: str
    role: str = "learner"
    lang: str = "it"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def lti_roles(self) -> list[str]:
        # Moodle sends Instructor to holders of mod/lti:manage, Learner to everyone else.
        if self.role in {"teacher", "tutor"}:
            return [f"{LIS}membership#Instructor"]
        if self.role == "admin":
            return [f"{LIS}institution/person#Administrator", f"{LIS}membership#Instructor",
                    f"{LIS}system/person#Administrator"]
        return [f"{LIS}membership#Learner"]

    @property
    def nrps_roles(self) -> list[str]:
        return ["Instructor"] if self.role in {"teacher", "tutor", "admin"} else ["Learner"]


@dataclass
class Tool:
    """An LTI 1.3 tool type of the site; its type id is the deployment id."""

    type_id: str
    client_id: str
    name: str
    initiate_login_uri: str
    redirect_uris: list[str]
    target_link_uri: str
    jwks_uri: str
    deep_linking_uri: str | None = None
    custom_parameters: dict[str, str] = field(default_factory=dict)
    scopes: set[str] = field(default_factory=lambda: {NRPS_SCOPE, *AGS_SCOPES})
    send_name: bool = True
    send_email: bool = True
    pending: bool = False
    registration: dict[str, Any] | None = None  # what dynamic registration sent


@dataclass
class ResourceLink:
    """An LTI activity in the course (Moodle: an `lti` instance and its course module)."""

    id: str
    cmid: int
    title: str
    description: str = ""
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class Launch:
    """A launch started from the course page, kept until auth.php consumes it (Moodle: $SESSION)."""

    launch_id: str
    user_id: str
    type_id: str
    message_type: str
    link_id: str | None
    locale: str


@dataclass
class LineItem:
    id: str
    label: str
    score_maximum: float
    resource_link_id: str = ""
    resource_id: str = ""
    tag: str = ""


DEFAULT_USERS = (
    User("3", "Carla", "Verdi", "carla.verdi@example.org", "prof.verdi", "teacher"),
    User("4", "Bruno", "Neri", "bruno.neri@example.org", "tutor.neri", "tutor"),
    User("6", "Marco", "Bianchi", "learner2@example.org", "learner02"),
    User("8", "Luca", "Colombo", "learner4@example.org", "learner04", lang="en"),
    User("11", "Chiara", "Greco", "learner7@example.org", "learner07"),
    User("12", "Matteo", "Bruno", "learner8@example.org", "learner08"),
    User("14", "Davide", "Conti", "learner10@example.org", "learner10"),
    User("17", "Martina", "Costa", "learner13@example.org", "learner13"),
    User("22", "Riccardo", "Barbieri", "learner18@example.org", "learner18"),
    User("27", "Anna", "Caruso", "learner23@example.org", "learner23"),
    User("38", "Pietro", "Coppola", "learner34@example.org", "learner34"),
    User("44", "Michele", "Conte", "learner40@example.org", "learner40"),
    User("45", "Community", "Bot", "bot@example.org", "communitybot", "bot"),
)


class MoodlePlatform:
    """A Moodle 4.4-like LTI 1.3 platform: one course, its people, its tools, what they did."""

    def __init__(self, *, course_id: str = "2", course_label: str = "CDP101",
                 course_title: str = "Didattica online: comunità di pratica",
                 users: list[User] | None = None, community: Any = None,
                 nrps_page_size: int | None = None) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(10)
        self.course_id, self.course_label, self.course_title = (course_id, course_label,
                                                                course_title)
        self.issuer = "http://127.0.0.1"  # set by `serve`: the site's wwwroot
        self.nrps_page_size = nrps_page_size
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        for user in users if users is not None else (
                _community_users(community) if community is not None else DEFAULT_USERS):
            self.users[user.id] = User(**user.__dict__)
        self.tools: dict[str, Tool] = {}
        # The two activities deep linking creates: the community pane and the teacher dashboard.
        self.links: dict[str, ResourceLink] = {
            "1": ResourceLink("1", 6, "Comunità del corso", "Circolo",
                              {"community_mode": "pane"}),
            "2": ResourceLink("2", 7, "Cruscotto della comunità", "Circolo",
                              {"community_mode": "dashboard"})}
        self.line_items: dict[str, LineItem] = {
            "3": LineItem("3", "Comunità del corso", 100, resource_link_id="1")}
        self.launches: dict[str, Launch] = {}
        self.access_tokens: dict[str, tuple[str, set[str], float]] = {}
        self.used_jtis: set[str] = set()
        # What happened, for tests to assert on.
        self.auth_requests: list[dict[str, str]] = []
        self.id_tokens: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.service_requests: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []
        self.registrations: list[dict[str, Any]] = []
        self.deep_link_responses: list[dict[str, Any]] = []

    # --- the site's URLs ---------------------------------------------------------------------

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/mod/lti/certs.php"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/mod/lti/token.php"

    @property
    def auth_url(self) -> str:
        return f"{self.issuer}/mod/lti/auth.php"

    @property
    def openid_configuration_url(self) -> str:
        return f"{self.issuer}/mod/lti/openid-configuration.php"

    @property
    def registration_url(self) -> str:
        return f"{self.issuer}/mod/lti/openid-registration.php"

    def memberships_url(self, tool: Tool) -> str:
        return (f"{self.issuer}/mod/lti/services.php/CourseSection/{self.course_id}/bindings/"
                f"{tool.type_id}/memberships")

    def lineitems_url(self, tool: Tool) -> str:
        return (f"{self.issuer}/mod/lti/services.php/{self.course_id}/lineitems"
                f"?type_id={tool.type_id}")

    def lineitem_url(self, tool: Tool, item_id: str) -> str:
        return (f"{self.issuer}/mod/lti/services.php/{self.course_id}/lineitems/{item_id}/"
                f"lineitem?type_id={tool.type_id}")

    def course_page_url(self, user_id: str, *, tool: Tool | None = None,
                        message_type: str = RESOURCE_LINK, locale: str | None = None,
                        link_id: str = "1") -> str:
        """The course page (browser side) that embeds a launch of `tool` in an iframe."""
        return f"{self.issuer}/course/view.php?" + self._launch_query(
            user_id, tool, message_type, locale, link_id)

    def launch_page_url(self, user_id: str, *, tool: Tool | None = None,
                        message_type: str = RESOURCE_LINK, locale: str | None = None,
                        link_id: str = "1") -> str:
        """The page that auto-posts the login initiation (what the iframe loads)."""
        return f"{self.issuer}/mod/lti/launch.php?" + self._launch_query(
            user_id, tool, message_type, locale, link_id)

    def registration_page_url(self, tool_registration_url: str) -> str:
        """Moodle's admin page that opens a tool's dynamic registration URL in an iframe."""
        from urllib.parse import urlencode

        return f"{self.issuer}/mod/lti/toolconfigure.php?" + urlencode(
            {"url": tool_registration_url})

    def _launch_query(self, user_id: str, tool: Tool | None, message_type: str,
                      locale: str | None, link_id: str) -> str:
        from urllib.parse import urlencode

        tool = tool or self.only_tool()
        query = {"user": user_id, "tool": tool.client_id, "message": message_type,
                 "link": link_id}
        if locale:
            query["locale"] = locale
        return urlencode(query)

    # --- keys and tokens -----------------------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.pop("key_ops", None)  # Moodle's certs.php publishes kty, alg, kid, e, n, use only
        return {"keys": [{**jwk, "alg": "RS256", "kid": self.kid, "use": "sig"}]}

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        """Sign `claims` with the site key, as Moodle signs id_tokens (RS256, kid)."""
        return jwt.encode(claims, self.key, algorithm="RS256",
                          headers={"kid": self.kid, **(headers or {})})

    def new_registration_token(self, *, lifetime: int = 3600) -> str:
        """Issue a dynamic-registration token, as Moodle's admin page does (sub = the client id)."""
        now = int(time.time())
        return self.sign({"sub": _random_string(15), "scope": "reg", "iat": now,
                          "exp": now + lifetime})

    def issue_access_token(self, client_id: str, scopes: set[str]) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.access_tokens[token] = (client_id, scopes, time.time() + ACCESS_TOKEN_LIFETIME)
        return token

    def token_scopes(self, token: str) -> tuple[Tool, set[str]] | None:
        with self.lock:
            found = self.access_tokens.get(token)
            if found is None or found[2] < time.time():
                return None
            tool = self.tool_by_client_id(found[0])
        return (tool, found[1]) if tool else None

    # --- tools -----------------------------------------------------------------------------

    def add_tool(self, *, base_url: str = "", client_id: str | None = None, name: str = "Circolo",
                 login_path: str = "/lti/login", launch_path: str = "/lti/launch",
                 jwks_path: str = "/lti/jwks", initiate_login_uri: str | None = None,
                 redirect_uris: list[str] | None = None, target_link_uri: str | None = None,
                 jwks_uri: str | None = None, deep_linking_uri: str | None = None,
                 custom_parameters: dict[str, str] | None = None, pending: bool = False,
                 **options: Any) -> Tool:
        """Configure a tool manually (Site administration → Manage tools → configure a tool)."""
        with self.lock:
            type_id = str(len(self.tools) + 1)
            launch = target_link_uri or f"{base_url}{launch_path}"
            tool = Tool(type_id=type_id, client_id=client_id or _random_string(15), name=name,
                        initiate_login_uri=initiate_login_uri or f"{base_url}{login_path}",
                        redirect_uris=redirect_uris or [launch], target_link_uri=launch,
                        jwks_uri=jwks_uri or f"{base_url}{jwks_path}",
                        deep_linking_uri=deep_linking_uri or launch,
                        custom_parameters=dict(custom_parameters or {}), pending=pending,
                        **options)
            self.tools[tool.client_id] = tool
            return tool

    def tool_by_client_id(self, client_id: str) -> Tool | None:
        with self.lock:
            return self.tools.get(client_id)

    def tool_by_type_id(self, type_id: str) -> Tool | None:
        with self.lock:
            return next((t for t in self.tools.values() if t.type_id == type_id), None)

    def only_tool(self) -> Tool:
        with self.lock:
            if len(self.tools) != 1:
                raise ValueError(f"the platform has {len(self.tools)} tools: say which one")
            return next(iter(self.tools.values()))

    def activate(self, client_id: str) -> Tool:
        """Activate a pending tool, as the admin does after a dynamic registration."""
        tool = self.tool_by_client_id(client_id)
        if tool is None:
            raise KeyError(client_id)
        tool.pending = False
        return tool

    def fetch_tool_jwks(self, tool: Tool) -> dict[str, Any]:
        """Fetch the tool's public keys (urllib: a test's `responses` mock must not see it)."""
        with urllib.request.urlopen(tool.jwks_uri, timeout=10) as answer:  # noqa: S310
            return json.loads(answer.read())

    def tool_public_key(self, tool: Tool, kid: str | None) -> Any:
        for jwk in self.fetch_tool_jwks(tool).get("keys", []):
            if kid is None or jwk.get("kid") == kid:
                return RSAAlgorithm.from_jwk(jwk)
        return None

    # --- launches ----------------------------------------------------------------------------

    def start_launch(self, user: User, tool: Tool, message_type: str, link_id: str | None,
                     locale: str | None) -> tuple[Launch, dict[str, str]]:
        """Record a launch (Moodle keeps it in the session) and return the login initiation."""
        if message_type == DEEP_LINKING:
            launch_id = f"ltilaunch_ContentItemSelectionRequest{secrets.randbelow(10**9)}"
            hint: dict[str, Any] = {"launchid": launch_id}
            link_id = None
            target = tool.deep_linking_uri or tool.target_link_uri
        else:
            launch_id = f"ltilaunch{link_id}_{secrets.randbelow(10**10)}"
            hint = {"cmid": self.links[link_id or "1"].cmid, "launchid": launch_id}
            target = tool.target_link_uri
        launch = Launch(launch_id=launch_id, user_id=user.id, type_id=tool.type_id,
                        message_type=message_type, link_id=link_id, locale=locale or user.lang)
        with self.lock:
            self.launches[launch_id] = launch
        params = {"iss": self.issuer, "target_link_uri": target, "login_hint": user.id,
                  "lti_message_hint": json.dumps(hint, separators=(",", ":")),
                  "client_id": tool.client_id, "lti_deployment_id": tool.type_id}
        return launch, params

    def take_launch(self, launch_id: str) -> Launch | None:
        with self.lock:
            return self.launches.pop(launch_id, None)

    def id_token_claims(self, launch: Launch, tool: Tool, nonce: str) -> dict[str, Any]:
        """Build the claims Moodle 4.4 sends for this launch (shaped on the recorded ones)."""
        user = self.users[launch.user_id]
        now = int(time.time())
        target = (tool.deep_linking_uri or tool.target_link_uri
                  if launch.message_type == DEEP_LINKING else tool.target_link_uri)
        claims: dict[str, Any] = {
            "nonce": nonce, "iat": now, "exp": now + ID_TOKEN_LIFETIME, "iss": self.issuer,
            "aud": tool.client_id,
            f"{CLAIM}deployment_id": tool.type_id,
            f"{CLAIM}target_link_uri": target,
            "sub": user.id,
            f"{CLAIM}lis": {"person_sourcedid": "", "course_section_sourcedid": ""},
            f"{CLAIM}roles": user.lti_roles,
            f"{CLAIM}context": {"id": self.course_id, "label": self.course_label,
                                "title": self.course_title, "type": ["CourseSection"]},
            f"{CLAIM}message_type": launch.message_type,
        }
        link = self.links.get(launch.link_id or "")
        if link is not None:
            claims[f"{CLAIM}resource_link"] = {"title": link.title,
                                               "description": link.description, "id": link.id}
        if tool.send_name:
            claims.update(given_name=user.given_name, family_name=user.family_name,
                          name=user.name)
        claims[f"{CLAIM}ext"] = {"user_username": user.username, "lms": "moodle-2"}
        if tool.send_email:
            claims["email"] = user.email
        presentation: dict[str, Any] = {"locale": launch.locale}
        if link is not None:
            presentation.update(document_target="iframe", return_url=(
                f"{self.issuer}/mod/lti/return.php?course={self.course_id}"
                f"&launch_container=2&instanceid={link.id}&sesskey={_random_string(10)}"))
        claims[f"{CLAIM}launch_presentation"] = presentation
        claims[f"{CLAIM}tool_platform"] = {
            "product_family_code": "moodle", "version": "2023112400", "guid": "127.0.0.1",
            "name": "ctm", "description": "Community Test Moodle"}
        claims[f"{CLAIM}version"] = "1.3.0"
        custom = {**tool.custom_parameters, **(link.custom if link else {})}
        if NRPS_SCOPE in tool.scopes:
            custom["context_memberships_url"] = self.memberships_url(tool)
        claims[f"{CLAIM}custom"] = {_custom_key(k): v for k, v in custom.items()}
        granted_ags = [scope for scope in AGS_SCOPES if scope in tool.scopes]
        if granted_ags:
            endpoint: dict[str, Any] = {"scope": granted_ags,
                                        "lineitems": self.lineitems_url(tool)}
            item = next((i for i in self.line_items.values()
                         if link is not None and i.resource_link_id == link.id), None)
            if item is not None:
                endpoint["lineitem"] = self.lineitem_url(tool, item.id)
            claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = endpoint
        if NRPS_SCOPE in tool.scopes:
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = {
                "context_memberships_url": self.memberships_url(tool),
                "service_versions": ["1.0", "2.0"]}
        if launch.message_type == DEEP_LINKING:
            claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["frame", "iframe", "window"],
                "accept_copy_advice": False, "accept_multiple": True, "accept_unsigned": False,
                "auto_create": False, "can_confirm": False,
                "deep_link_return_url": (f"{self.issuer}/mod/lti/contentitem_return.php"
                                         f"?course={self.course_id}&id={tool.type_id}"
                                         f"&sesskey={_random_string(10)}"),
                "title": tool.name, "text": ""}
        return claims

    def new_jti(self, jti: str) -> bool:
        """Remember a client assertion's jti; False when it was seen before (a replay)."""
        with self.lock:
            if jti in self.used_jtis:
                return False
            self.used_jtis.add(jti)
            return True


def _custom_key(key: str) -> str:
    # Moodle lower-cases custom parameter names and turns non-alphanumerics into underscores.
    return re.sub(r"[^a-z0-9]", "_", key.lower())


def _random_string(length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _community_users(community: Any) -> list[User]:
    """Turn a `tests.doubles.community` course into the platform's enrolled users."""
    roles = {"teacher": "teacher", "service": "bot", "learner": "learner"}
    users = []
    for person in community.users:
        if not getattr(person, "enrolled", True) or getattr(person, "deleted", False):
            continue
        role = roles.get(person.role, "learner")
        if role == "teacher" and getattr(person, "moodle_role", "") == "teacher":
            role = "tutor"
        users.append(User(str(person.id), person.firstname, person.lastname, person.email,
                          person.username, role, (person.lang or "it")[:2]))
    return users


def unverified_claims(token: str) -> dict[str, Any] | None:
    """Read a JWT's payload without verifying it (to find which client sent it)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
