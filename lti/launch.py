"""Launch validation: every check of an LTI 1.3 `id_token`, each failing with its own code.

The caller supplies what it knows from the login (the platform the state was issued for, the
nonce and target_link_uri it sent); this module decides whether the token is a launch to trust.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from .errors import LtiError
from .jwks import PlatformKeySets
from .roles import map_roles

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)
LTI_VERSION = "1.3.0"
ALGORITHMS = ["RS256"]
#: LTI caps `sub`, context and resource link ids at 255 characters.
MAX_IDENTIFIER_LENGTH = 255


@dataclass(frozen=True)
class PlatformRegistration:
    """What the tool knows about a platform: enough to check its tokens."""

    issuer: str
    client_id: str
    key_set_url: str
    deployment_ids: Collection[str]


@dataclass(frozen=True)
class DeepLinkingSettings:
    return_url: str
    accept_types: tuple[str, ...] = ()
    accept_multiple: bool = False
    data: str | None = None
    title: str = ""


@dataclass(frozen=True)
class LaunchMessage:
    """A validated launch: who, where, in which role, and what the platform offers."""

    issuer: str
    client_id: str
    deployment_id: str
    message_type: str
    subject: str
    roles: tuple[str, ...]
    role: str
    target_link_uri: str
    context_id: str | None = None
    context_label: str = ""
    context_title: str = ""
    resource_link_id: str | None = None
    resource_link_title: str = ""
    name: str = ""
    given_name: str = ""
    family_name: str = ""
    email: str | None = None
    locale: str | None = None
    document_target: str | None = None
    return_url: str | None = None
    product_family_code: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)
    deep_linking: DeepLinkingSettings | None = None
    names_roles_service: Mapping[str, Any] | None = None
    grade_service: Mapping[str, Any] | None = None

    @property
    def is_deep_linking(self) -> bool:
        return self.message_type == DEEP_LINKING_REQUEST

    @property
    def display_name(self) -> str:
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p)


def unverified_claims(id_token: str) -> dict[str, Any]:
    """Decode the claims without any check (for choosing an error page's language only)."""
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def unverified_locale(id_token: str) -> str | None:
    presentation = unverified_claims(id_token).get(CLAIM + "launch_presentation")
    locale = presentation.get("locale") if isinstance(presentation, dict) else None
    return locale if isinstance(locale, str) else None


def validate_launch(id_token: str, *, platform: PlatformRegistration, key_sets: PlatformKeySets,
                    nonce: str, target_link_uri: str, leeway: int) -> LaunchMessage:
    """Verify `id_token` against `platform` and the login that started it, or raise LtiError."""
    claims = _verified_claims(id_token, platform, key_sets, leeway)
    _check_audience(claims, platform.client_id)

    if not claims.get("nonce"):
        raise LtiError("nonce_missing")
    if claims["nonce"] != nonce:
        raise LtiError("nonce_mismatch")

    version = claims.get(CLAIM + "version")
    if version is None:
        raise LtiError("version_missing")
    if version != LTI_VERSION:
        raise LtiError("version_unsupported", f"version {version!r}")

    message_type = claims.get(CLAIM + "message_type")
    if not message_type:
        raise LtiError("message_type_missing")
    if message_type not in MESSAGE_TYPES:
        raise LtiError("message_type_unsupported", f"message_type {message_type!r}")

    deployment_id = claims.get(CLAIM + "deployment_id")
    if not isinstance(deployment_id, str) or not deployment_id:
        raise LtiError("deployment_missing")
    if deployment_id not in platform.deployment_ids:
        raise LtiError("deployment_unknown", f"deployment {deployment_id!r}")

    claimed_target = claims.get(CLAIM + "target_link_uri")
    if not isinstance(claimed_target, str) or not claimed_target:
        raise LtiError("target_link_uri_missing")
    if claimed_target != target_link_uri:
        raise LtiError("target_link_uri_mismatch",
                       f"{claimed_target!r} != {target_link_uri!r} sent at login")

    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise LtiError("sub_missing")
    _check_identifier("sub", subject)

    roles = claims.get(CLAIM + "roles")
    if not isinstance(roles, list):
        raise LtiError("roles_missing")
    roles = [role for role in roles if isinstance(role, str) and "\x00" not in role]

    resource_link = _object(claims, CLAIM + "resource_link")
    resource_link_id = _identifier(resource_link.get("id"))
    if message_type == RESOURCE_LINK_REQUEST and resource_link_id is None:
        raise LtiError("resource_link_missing")
    if resource_link_id is not None:
        _check_identifier("resource_link.id", resource_link_id)

    deep_linking = None
    if message_type == DEEP_LINKING_REQUEST:
        deep_linking = _deep_linking_settings(claims)

    context = _object(claims, CLAIM + "context")
    presentation = _object(claims, CLAIM + "launch_presentation")
    platform_info = _object(claims, CLAIM + "tool_platform")
    context_id = _identifier(context.get("id"))
    if context_id is None and context.get("id") not in (None, ""):
        raise LtiError("token_malformed", "context id is neither a string nor a number")
    if context_id is not None:
        _check_identifier("context.id", context_id)
    return LaunchMessage(
        issuer=platform.issuer,
        client_id=platform.client_id,
        deployment_id=deployment_id,
        message_type=message_type,
        subject=subject,
        roles=tuple(roles),
        role=map_roles(roles),
        target_link_uri=claimed_target,
        context_id=context_id,
        context_label=_text(context.get("label")),
        context_title=_text(context.get("title")),
        resource_link_id=resource_link_id,
        resource_link_title=_text(resource_link.get("title")),
        name=_text(claims.get("name")),
        given_name=_text(claims.get("given_name")),
        family_name=_text(claims.get("family_name")),
        email=_text(claims.get("email")) or None,
        locale=_text(presentation.get("locale")) or None,
        document_target=_text(presentation.get("document_target")) or None,
        return_url=_text(presentation.get("return_url")) or None,
        product_family_code=_text(platform_info.get("product_family_code")),
        custom=_object(claims, CLAIM + "custom"),
        deep_linking=deep_linking,
        names_roles_service=_object(claims, NRPS_CLAIM) or None,
        grade_service=_object(claims, AGS_CLAIM) or None,
    )


def _verified_claims(id_token: str, platform: PlatformRegistration,
                     key_sets: PlatformKeySets, leeway: int) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise LtiError("token_malformed", "not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise LtiError("token_bad_algorithm", f"alg {header.get('alg')!r}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise LtiError("token_no_kid")
    key = key_sets.signing_key(platform.key_set_url, kid)
    try:
        claims = jwt.decode(
            id_token, key, algorithms=ALGORITHMS, issuer=platform.issuer,
            audience=platform.client_id, leeway=leeway,
            options={"require": ["iss", "aud", "exp", "iat"], "verify_sub": False,
                     "verify_jti": False},
        )
    except jwt.MissingRequiredClaimError as error:
        raise LtiError(f"{error.claim}_missing") from None
    except jwt.ExpiredSignatureError:
        raise LtiError("token_expired") from None
    except jwt.ImmatureSignatureError:
        raise LtiError("token_not_yet_valid") from None
    except jwt.InvalidIssuedAtError:
        raise LtiError("token_bad_timestamp", "iat is not a number") from None
    except jwt.InvalidIssuerError:
        raise LtiError("iss_mismatch", f"expected {platform.issuer!r}") from None
    except jwt.InvalidAudienceError:
        raise LtiError("aud_mismatch", f"client_id {platform.client_id!r} not in aud") from None
    except jwt.InvalidSignatureError:
        raise LtiError("token_bad_signature") from None
    except jwt.DecodeError as error:
        raise LtiError("token_malformed", str(error)) from None
    except jwt.PyJWTError as error:
        raise LtiError("token_malformed", type(error).__name__) from None
    if not isinstance(claims, dict):
        raise LtiError("token_malformed", "claims are not an object")
    return claims


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else list(audience)
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise LtiError("azp_missing", f"{len(audiences)} audiences")
    if azp is not None and azp != client_id:
        raise LtiError("azp_mismatch", f"azp {azp!r}")


def _deep_linking_settings(claims: Mapping[str, Any]) -> DeepLinkingSettings:
    settings = _object(claims, DL_CLAIM + "deep_linking_settings")
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        raise LtiError("deep_linking_settings_missing")
    accept_types = settings.get("accept_types")
    if isinstance(accept_types, list) and accept_types and "ltiResourceLink" not in accept_types:
        # Circolo only ever answers with LTI resource links.
        raise LtiError("message_type_unsupported", f"accept_types {accept_types!r}")
    data = settings.get("data")
    return DeepLinkingSettings(
        return_url=return_url,
        accept_types=tuple(t for t in accept_types if isinstance(t, str))
        if isinstance(accept_types, list) else (),
        accept_multiple=settings.get("accept_multiple") is True,
        data=data if isinstance(data, str) else (json.dumps(data) if data is not None else None),
        title=_text(settings.get("title")),
    )


def _object(claims: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = claims.get(name)
    return value if isinstance(value, dict) else {}


def _identifier(value: Any) -> str | None:
    """An id claim as text: strings and whole numbers (not booleans); None otherwise or empty."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) if str(value) != "" else None


def _check_identifier(name: str, value: str) -> None:
    if len(value) > MAX_IDENTIFIER_LENGTH or "\x00" in value:
        raise LtiError("token_malformed", f"{name} longer than {MAX_IDENTIFIER_LENGTH} "
                                          "characters or with a NUL character")


def _text(value: Any) -> str:
    # NUL characters are never meant for people, and PostgreSQL refuses them in text columns.
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""
