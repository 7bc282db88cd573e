"""LTI Dynamic Registration, the tool's side: read the platform's configuration, register.

The platform (Moodle: Site administration → Manage tools → "Tool URL") opens the tool's
registration URL with `openid_configuration` and `registration_token`. The tool fetches the
configuration, checks its issuer has the configuration URL's origin, and POSTs its registration
with the token as a bearer; the platform answers with the new client_id and deployment_id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .services import TIMEOUT, TOOL_SCOPES

log = logging.getLogger(__name__)

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
#: A configuration or registration answer larger than this is not one.
MAX_BODY_BYTES = 512 * 1024

#: Why a registration failed; each has its own page in middleware/lti/registration.py.
FAILURES = ("parameters_missing", "configuration_url_invalid", "platform_unreachable",
            "configuration_invalid", "issuer_mismatch", "token_already_used",
            "registration_refused", "registration_invalid")


class RegistrationError(Exception):
    """A dynamic registration failed; `code` is one of FAILURES, `detail` is for the log."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in FAILURES:
            raise ValueError(f"unknown registration failure {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class PlatformConfiguration:
    """The parts of a platform's OpenID configuration the tool uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    scopes_supported: tuple[str, ...] = ()
    product_family_code: str = ""
    version: str = ""
    deep_linking_placements: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolDescription:
    """What the tool tells a platform about itself (all its URLs derive from `base_url`)."""

    base_url: str
    client_name: str = "Circolo"
    description: str = "Community management for online courses"
    claims: tuple[str, ...] = ("iss", "sub", "name", "given_name", "family_name")
    scopes: tuple[str, ...] = TOOL_SCOPES
    # Moodle fills this in on every launch: the roster service even when NRPS is not claimed.
    custom_parameters: Mapping[str, str] = field(default_factory=lambda: {
        "context_memberships_url": "$ToolProxyBinding.memberships.url"})

    @property
    def login_url(self) -> str:
        return f"{self.base_url}/lti/login"

    @property
    def launch_url(self) -> str:
        return f"{self.base_url}/lti/launch"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/lti/jwks"


@dataclass(frozen=True)
class Registration:
    """What the platform answered: the tool's client_id there and its deployment."""

    client_id: str
    deployment_id: str | None
    scope: tuple[str, ...]
    configuration: PlatformConfiguration


# --- schemas ----------------------------------------------------------------------------------

def _url() -> fields.Url:
    return fields.Url(required=True, schemes={"http", "https"}, require_tld=False)


class _Loose(Schema):
    class Meta:
        unknown = EXCLUDE


class _MessageSchema(_Loose):
    type = fields.String(required=True)
    placements = fields.List(fields.String(), load_default=list)


class _PlatformConfigurationBlock(_Loose):
    product_family_code = fields.String(load_default="")
    version = fields.String(load_default="")
    # Moodle 4.4 lists objects ({"type": ...}); older Moodles listed bare type names.
    messages_supported = fields.List(fields.Raw(), load_default=list)


class OpenIdConfigurationSchema(_Loose):
    issuer = _url()
    authorization_endpoint = _url()
    token_endpoint = _url()
    jwks_uri = _url()
    registration_endpoint = _url()
    scopes_supported = fields.List(fields.String(), load_default=list)
    response_types_supported = fields.List(fields.String(), load_default=list)
    id_token_signing_alg_values_supported = fields.List(fields.String(), load_default=list)
    platform = fields.Nested(_PlatformConfigurationBlock, data_key=PLATFORM_CONFIGURATION,
                             load_default=dict)


class _ToolConfigurationAnswer(_Loose):
    deployment_id = fields.String(load_default=None, allow_none=True)


class RegistrationAnswerSchema(_Loose):
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    scope = fields.String(load_default="")
    tool_configuration = fields.Nested(_ToolConfigurationAnswer, data_key=TOOL_CONFIGURATION,
                                       load_default=dict)


# --- the protocol --------------------------------------------------------------------------------

def origin_of(url: str) -> str:
    """Return `scheme://host[:port]` of `url`, lower-cased (paths do not matter)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def fetch_configuration(url: str, *, http: requests.Session | None = None,
                        timeout: Any = TIMEOUT) -> PlatformConfiguration:
    """Fetch and check a platform's OpenID configuration (its issuer must be the URL's origin)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise RegistrationError("configuration_url_invalid", "not an http(s) URL")
    body = _json(_request(http, "GET", url, timeout, headers={"Accept": "application/json"}),
                 "configuration_invalid")
    try:
        loaded = OpenIdConfigurationSchema().load(body)
    except ValidationError as error:
        raise RegistrationError("configuration_invalid",
                                f"fields: {sorted(error.normalized_messages())}") from error
    if origin_of(loaded["issuer"]) != origin_of(url):
        raise RegistrationError("issuer_mismatch", f"issuer {loaded['issuer']!r} served from "
                                                   f"{origin_of(url)!r}")
    # Anyone can open the registration page: endpoints elsewhere would make the tool post the
    # registration (and later fetch keys, ask for tokens) wherever a forged configuration says.
    for endpoint in ("registration_endpoint", "jwks_uri", "token_endpoint",
                     "authorization_endpoint"):
        if origin_of(loaded[endpoint]) != origin_of(url):
            raise RegistrationError("issuer_mismatch", f"{endpoint} on "
                                                       f"{origin_of(loaded[endpoint])!r}")
    platform = loaded["platform"]
    placements: list[str] = []
    for message in platform.get("messages_supported", []):
        if isinstance(message, dict) and message.get("type") == DEEP_LINKING_REQUEST:
            placements += [p for p in message.get("placements") or [] if isinstance(p, str)]
    return PlatformConfiguration(
        issuer=loaded["issuer"], authorization_endpoint=loaded["authorization_endpoint"],
        token_endpoint=loaded["token_endpoint"], jwks_uri=loaded["jwks_uri"],
        registration_endpoint=loaded["registration_endpoint"],
        scopes_supported=tuple(loaded["scopes_supported"]),
        product_family_code=platform.get("product_family_code", ""),
        version=platform.get("version", ""), deep_linking_placements=tuple(placements))


def registration_request(tool: ToolDescription,
                         configuration: PlatformConfiguration) -> dict[str, Any]:
    """Build the registration JSON the tool POSTs (OpenID Connect client metadata + LTI)."""
    return client_metadata(tool, configuration.deep_linking_placements)


def client_metadata(tool: ToolDescription,
                    placements: Sequence[str] = ()) -> dict[str, Any]:
    """Describe the tool as LTI dynamic registration does (OpenID Connect client metadata + LTI).

    Moodle's companion plugin turns the same document into a tool configuration.
    """
    placements = list(placements) or ["ContentArea"]
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login_url,
        "redirect_uris": [tool.launch_url],
        "client_name": tool.client_name,
        "jwks_uri": tool.jwks_url,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(tool.scopes),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(tool.base_url).netloc,
            "description": tool.description,
            "target_link_uri": tool.launch_url,
            "custom_parameters": dict(tool.custom_parameters),
            "claims": list(tool.claims),
            "messages": [
                {"type": RESOURCE_LINK_REQUEST, "target_link_uri": tool.launch_url,
                 "label": tool.client_name},
                {"type": DEEP_LINKING_REQUEST, "target_link_uri": tool.launch_url,
                 "label": tool.client_name, "placements": placements},
            ],
        },
    }


def register(configuration: PlatformConfiguration, registration_token: str,
             tool: ToolDescription, *, http: requests.Session | None = None,
             timeout: Any = TIMEOUT) -> Registration:
    """POST the tool's registration with the bearer `registration_token`; return the answer."""
    response = _request(
        http, "POST", configuration.registration_endpoint, timeout,
        json=registration_request(tool, configuration),
        headers={"Authorization": f"Bearer {registration_token}", "Accept": "application/json"},
        accept_errors=True)
    if not 200 <= response.status < 300:
        text = response.body[:200].decode("utf-8", "replace")
        if "token_already_used" in text:
            raise RegistrationError("token_already_used", f"HTTP {response.status}")
        raise RegistrationError("registration_refused", f"HTTP {response.status}: {text!r}")
    body = _json(response, "registration_invalid")
    try:
        loaded = RegistrationAnswerSchema().load(body)
    except ValidationError as error:
        raise RegistrationError("registration_invalid",
                                f"fields: {sorted(error.normalized_messages())}") from error
    return Registration(client_id=loaded["client_id"],
                        deployment_id=loaded["tool_configuration"].get("deployment_id") or None,
                        scope=tuple(loaded["scope"].split()), configuration=configuration)


def perform_registration(openid_configuration: str, registration_token: str,
                         tool: ToolDescription, *, http: requests.Session | None = None,
                         timeout: Any = TIMEOUT) -> Registration:
    """Run the whole tool side of a dynamic registration (both calls) and return its result."""
    if not openid_configuration or not registration_token:
        raise RegistrationError("parameters_missing", "openid_configuration: "
                                f"{bool(openid_configuration)}, registration_token: "
                                f"{bool(registration_token)}")
    configuration = fetch_configuration(openid_configuration, http=http, timeout=timeout)
    registration = register(configuration, registration_token, tool, http=http, timeout=timeout)
    log.info("registered with a platform", extra={
        "issuer": configuration.issuer, "client_id": registration.client_id,
        "deployment_id": registration.deployment_id})
    return registration


# --- plumbing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes


def _request(http: requests.Session | None, method: str, url: str, timeout: Any, *,
             accept_errors: bool = False, **kwargs: Any) -> _Answer:
    sender = http or requests.Session()
    too_large = "configuration_invalid" if method == "GET" else "registration_invalid"
    try:
        # No redirects: a configuration must be where the platform said it is.
        with sender.request(method, url, timeout=timeout, allow_redirects=False, stream=True,
                            **kwargs) as response:
            body = b""
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise RegistrationError(too_large, "answer too large")
            answer = _Answer(response.status_code, body)
    except requests.RequestException as error:
        raise RegistrationError("platform_unreachable",
                                f"{method} {origin_of(url)}: {type(error).__name__}") from error
    finally:
        if http is None:
            sender.close()
    if not accept_errors and not 200 <= answer.status < 300:
        raise RegistrationError("platform_unreachable",
                                f"{method} {origin_of(url)} answered {answer.status}")
    return answer


def _json(answer: _Answer, failure: str) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError as error:
        raise RegistrationError(failure, "answer is not JSON") from error
