"""The companion plugin's side of Circolo: one-time invites, the connect handshake, events.

Operations flush and never commit; views and tasks commit. Work that must only happen once
the request is committed (queueing a sync, forgetting a person) is queued after the commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lti.registration import ToolDescription, client_metadata

from ..lti.operations import add_platform
from ..models import (
    CompanionConnection,
    CompanionEvent,
    CompanionInvite,
    Course,
    Person,
    utcnow,
)
from ..moodle.operations import (
    ConnectionRefused,
    check_connection,
    decrypt_token,
    encrypt_token,
    save_connection,
)
from ..moodle.service import MoodleClient
from . import errors, signature
from .schemas import COURSE_CHANGED, PLUGIN_EVENT, USER_DELETED, ConnectRequest, PluginEvent

log = logging.getLogger(__name__)

#: How long a code from `flask circolo moodle invite` works.
INVITE_VALIDITY = timedelta(hours=1)
#: Seconds an event's timestamp may be away from Circolo's clock.
EVENT_TOLERANCE_SECONDS = 300
#: Received event ids are kept this long (well past the tolerance) to refuse replays.
EVENT_RETENTION = timedelta(days=1)
#: 32 letters and digits without 0/O and 1/I, which IT might misread when copying a code.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_GROUPS, CODE_GROUP_LENGTH = 4, 5  # 20 characters: 100 bits

#: The plugin's functions its service must hold, and what for (said when one is missing).
PLUGIN_FUNCTIONS: dict[str, str] = {
    "local_circolo_get_course_changes": "read a course's changes in one call",
    "local_circolo_deliver_prompts": "deliver mentoring prompts as notifications",
}
#: Core functions the plugin's own calls replace: its service does not hold them.
REPLACED_BY_PLUGIN = frozenset({"core_message_send_instant_messages",
                                "core_message_get_conversation_between_users",
                                "core_message_get_conversation_messages"})

#: Event outcomes, stored on each CompanionEvent.
SYNC_QUEUED, FORGET_QUEUED, IGNORED = "sync_queued", "forget_queued", "ignored"


# --- invites ------------------------------------------------------------------------------------

def new_code() -> str:
    """Return a random one-time code, e.g. `K7QXM-2HD9A-PZC4R-WN8EB`."""
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
              for _ in range(CODE_GROUPS))
    return "-".join(groups)


def hash_code(code: str) -> str:
    """Return the SHA-256 a code is stored as (case, spaces and dashes do not matter)."""
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_invite(session: Session, *, valid_for: timedelta = INVITE_VALIDITY,
                  now: datetime | None = None) -> tuple[CompanionInvite, str]:
    """Store a new invite; return it with its code (shown once, never stored)."""
    now = now or utcnow()
    code = new_code()
    invite = CompanionInvite(code_hash=hash_code(code), created_at=now, expires_at=now + valid_for)
    session.add(invite)
    session.flush()
    return invite, code


def usable_invite(session: Session, code: str, *, now: datetime) -> CompanionInvite:
    """Return the unused, unexpired invite of `code`, or raise why it cannot be used."""
    invite = session.scalar(select(CompanionInvite).where(
        CompanionInvite.code_hash == hash_code(code)))
    if invite is None:
        raise errors.InviteInvalid(detail="unknown code")
    if invite.used_at is not None:
        raise errors.InviteUsed(detail=f"invite {invite.id} used at {invite.used_at}")
    if invite.expires_at <= now:
        raise errors.InviteExpired(detail=f"invite {invite.id} expired at {invite.expires_at}")
    return invite


def claim_invite(session: Session, invite: CompanionInvite, *, now: datetime) -> None:
    """Mark the invite used, once: a second claim (even a concurrent one) raises InviteUsed."""
    claimed = session.execute(
        update(CompanionInvite)
        .where(CompanionInvite.id == invite.id, CompanionInvite.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise errors.InviteUsed(detail=f"invite {invite.id} claimed by another request")
    session.refresh(invite)


# --- connect ------------------------------------------------------------------------------------

def tool_description(public_base_url: str) -> dict[str, Any]:
    """What the plugin reads before Connect: Circolo as an LTI tool, and where to connect."""
    tool = ToolDescription(base_url=public_base_url)
    return {
        "name": tool.client_name,
        "registration": client_metadata(tool),
        "connect_url": f"{public_base_url}/api/companion/connect",
    }


def same_site(a: str, b: str) -> bool:
    """Tell whether two Moodle addresses name the same site (scheme and host case aside)."""
    first, second = urlsplit(a.rstrip("/")), urlsplit(b.rstrip("/"))
    return ((first.scheme.lower(), first.netloc.lower(), first.path)
            == (second.scheme.lower(), second.netloc.lower(), second.path))


def connect_site(session: Session, request: ConnectRequest, *, key: str,
                 client_factory: Callable[..., MoodleClient] = MoodleClient,
                 now: datetime | None = None) -> tuple[CompanionConnection, str]:
    """Accept a plugin's connect: check the code and the token, record platform, deployment
    and connection; return the connection and its new secret (shown once, to the plugin)."""
    now = now or utcnow()
    invite = usable_invite(session, request.code, now=now)
    if not same_site(request.platform.issuer, request.wwwroot):
        raise errors.SiteMismatch(detail=f"issuer {request.platform.issuer} for site "
                                         f"{request.wwwroot}")

    # The token is checked back before the code is spent, so that a token Moodle refuses
    # (web services blocked by a proxy, say) can be retried with the same code.
    client = client_factory(request.wwwroot, request.token, retries=1)
    try:
        check = check_connection(client)
    except ConnectionRefused as refused:
        raise errors.TokenRefused(
            message=_l("Circolo could not use the web-service token it was given. Moodle "
                       "answered: %(answer)s", answer=str(refused)),
            detail=str(refused)) from None
    if not same_site(check.site.siteurl, request.wwwroot):
        raise errors.SiteMismatch(detail=f"token of {check.site.siteurl}, not {request.wwwroot}")
    if check.site.userid != request.service_user_id:
        raise errors.TokenRefused(detail=f"token of user {check.site.userid}, not the service "
                                         f"user {request.service_user_id}")
    available = set(check.site.functions)
    check.missing_functions = [
        *[(name, why) for name, why in check.missing_functions if name not in REPLACED_BY_PLUGIN],
        *[(name, why) for name, why in PLUGIN_FUNCTIONS.items() if name not in available]]

    claim_invite(session, invite, now=now)
    facts = request.platform
    platform, _created = add_platform(
        session, issuer=facts.issuer.rstrip("/"), client_id=facts.client_id,
        auth_login_url=facts.auth_login_url, auth_token_url=facts.auth_token_url,
        key_set_url=facts.key_set_url, name=request.site_name or urlsplit(facts.issuer).netloc,
        deployment_ids=[facts.deployment_id])
    save_connection(session, platform, client, request.token, key, check)

    connection = session.scalar(select(CompanionConnection).where(
        CompanionConnection.platform_id == platform.id))
    if connection is None:
        connection = CompanionConnection(platform_id=platform.id)
        session.add(connection)
    secret = secrets.token_urlsafe(32)
    # A new key id and secret on every connect: events signed with the old secret are refused.
    connection.key_id = secrets.token_urlsafe(12)
    connection.secret_ciphertext = encrypt_token(key, secret)
    connection.wwwroot = request.wwwroot
    connection.site_name = request.site_name
    connection.moodle_release = request.moodle_release
    connection.plugin_version = request.plugin_version
    connection.plugin_release = request.plugin_release
    connection.deployment_id = facts.deployment_id
    connection.connected_at = now
    invite.platform_id = platform.id
    session.flush()
    log.info("moodle plugin connected", extra={
        "platform_id": platform.id, "wwwroot": request.wwwroot,
        "plugin_version": request.plugin_version,
        "missing_functions": [name for name, _ in check.missing_functions]})
    return connection, secret


# --- events ---------------------------------------------------------------------------------------

def accept_event(session: Session, *, key_id: str, timestamp: str, signed: str, body: bytes,
                 key: str, now: datetime | None = None,
                 tolerance_seconds: int = EVENT_TOLERANCE_SECONDS
                 ) -> tuple[CompanionConnection, PluginEvent, CompanionEvent]:
    """Check an event call (signed, fresh, not seen before) and record it; raise if refused."""
    now = now or utcnow()
    if not key_id or not timestamp or not signed:
        raise errors.Unsigned(detail="missing X-Circolo-Key, -Timestamp or -Signature")
    connection = session.scalar(select(CompanionConnection).where(
        CompanionConnection.key_id == key_id))
    if connection is None:
        raise errors.ConnectionUnknown(detail=f"key {key_id!r}")
    try:
        made_at = int(timestamp)
    except ValueError:
        raise errors.Unsigned(detail="timestamp is not a number") from None
    if not signature.is_fresh(made_at, now.timestamp(), tolerance_seconds):
        raise errors.Stale(detail=f"timestamp {made_at}, now {int(now.timestamp())}")
    secret = decrypt_token(key, connection.secret_ciphertext)
    if not signature.is_valid(secret, made_at, body, signed):
        raise errors.BadSignature(detail=f"connection {connection.id}")
    try:
        payload = PLUGIN_EVENT.load(json.loads(body))
    except (ValueError, TypeError, ValidationError) as error:
        raise errors.BadPayload(detail=f"event: {error}") from None
    if not same_site(payload.site, connection.wwwroot):
        raise errors.BadPayload(detail=f"event of {payload.site}, connection of "
                                       f"{connection.wwwroot}")

    record = CompanionEvent(connection_id=connection.id, event_id=payload.id, type=payload.type,
                            area=payload.area, moodle_course_id=payload.courseid or None,
                            received_at=now)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise errors.Replayed(detail=f"event {payload.id}") from None
    connection.last_event_at = now
    connection.events_received += 1
    session.execute(delete(CompanionEvent).where(
        CompanionEvent.received_at < now - EVENT_RETENTION)
        .execution_options(synchronize_session=False))
    session.flush()
    return connection, payload, record


def act_on_event(session: Session, connection: CompanionConnection, payload: PluginEvent,
                 record: CompanionEvent, *, sync: Callable[..., object],
                 forget: Callable[..., object]) -> str:
    """Queue what an accepted event asks for, once the caller commits; return the action.

    A change in a course Circolo is active in queues a sync of it; a deleted user queues
    forgetting them on the connection's platform.
    """
    action = IGNORED
    if payload.type == COURSE_CHANGED and payload.courseid:
        course_id = session.scalar(select(Course.id).where(
            Course.platform_id == connection.platform_id, Course.active.is_(True),
            or_(Course.moodle_course_id == payload.courseid,
                Course.context_id == str(payload.courseid))).order_by(Course.id))
        if course_id is not None:
            _after_commit(session, lambda: sync(course_id, trigger="event"))
            action = SYNC_QUEUED
    elif payload.type == USER_DELETED and payload.userid:
        known = session.scalar(select(Person.id).where(
            Person.platform_id == connection.platform_id,
            Person.subject == str(payload.userid)))
        if known is not None:
            platform_id = connection.platform_id
            _after_commit(session, lambda: forget(platform_id, payload.userid))
            action = FORGET_QUEUED
    record.action = action
    session.flush()
    log.info("moodle plugin event", extra={"platform_id": connection.platform_id,
                                           "event_type": payload.type, "area": payload.area,
                                           "moodle_course_id": payload.courseid,
                                           "action": action})
    return action


def _after_commit(session: Session, queue: Callable[[], object]) -> None:
    @event.listens_for(session, "after_commit", once=True)
    def _queue(_session: Session) -> None:
        # Queued only once the request is committed, so a worker never waits on its lock.
        queue()
