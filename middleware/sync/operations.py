"""Sync a course from Moodle's web services: roster, forums, discussions and posts.

Incremental by default: a forum's discussions are listed newest last post first and paging stops
at the first non-pinned discussion not newer than the forum's watermark (minus a small overlap);
posts are re-read only for discussions whose `timemodified` or `numreplies` changed. A full
reconciliation (nightly) re-reads everything, catching edits and deletions that Moodle's sort key
does not reveal. Work is handed to `checkpoint()` (the caller's commit) every few discussions
(each stored whole, with its posts) and after each forum, and a forum's watermark only moves once
all its discussions are stored, so a sync interrupted anywhere and run again ends in the same
state as an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import TooManyRequests
from ..models import Course, CourseSyncState, Forum, SyncRun, utcnow
from ..models.moodle import FAILED, RUNNING, SUCCEEDED
from ..moodle.operations import client_for_connection, connection_for_platform
from ..moodle.schemas import MoodleDiscussion, MoodlePost
from ..moodle.service import MoodleClient, MoodleError
from .records import CourseRecords

log = logging.getLogger(__name__)

#: Discussions per page of `mod_forum_get_forum_discussions`.
DISCUSSIONS_PER_PAGE = 50
#: Participants per page of `core_enrol_get_enrolled_users`.
ROSTER_PAGE = 500
#: Discussions stored between two checkpoints (commits): fewer commits, little lost work.
CHECKPOINT_EVERY = 20
#: Seconds of overlap below the watermark: Moodle's comparison is strict and writes commit late.
WATERMARK_OVERLAP = 60
#: An incremental sync re-reads the roster when it is older than this.
ROSTER_MAX_AGE = timedelta(hours=1)
#: A sync lease outlives a crashed worker by at most this long; each checkpoint renews it.
LEASE_TTL = timedelta(minutes=15)
#: The teacher's "sync now" is accepted once per this interval per course.
REQUEST_INTERVAL = timedelta(minutes=2)

Checkpoint = Callable[[], None]
#: The error recorded on a run that never finished.
INTERRUPTED = "interrupted before it finished"


class SyncRequestedTooSoon(TooManyRequests):
    code = "sync_requested_too_soon"
    message = _l("A sync of this course was requested less than two minutes ago. "
                 "Please wait a moment before asking again.")


@dataclass
class SyncResult:
    """What one sync of a course did."""

    changed: int = 0
    calls: int = 0
    forums: int = 0
    discussions_read: int = 0
    roster_read: bool = False
    full: bool = False


def _no_checkpoint() -> None:
    return None


def worker_identity() -> str:
    """Name this thread for lease ownership (host, pid and thread).

    A worker runs several consumer threads: two of them must never count as one holder, or
    both would "re-take" the same course's lease and sync it at once.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


# --- the sync itself ---------------------------------------------------------------------------

def sync_course(session: Session, course: Course, client: MoodleClient, *,
                service_user_id: int | None, full: bool = False, sync_roster: bool = True,
                checkpoint: Checkpoint = _no_checkpoint, now: datetime | None = None
                ) -> SyncResult:
    """Bring a course's rows up to date with Moodle; `checkpoint()` after each unit of work."""
    moodle_course_id = course_moodle_id(course)
    records = CourseRecords(session, course, service_user_id)
    result = SyncResult(full=full)
    calls_before = client.calls
    if sync_roster or full:
        records.apply_course_dates(moodle_course_id,
                                   client.get_courses_by_field("id", moodle_course_id))
        users = []
        while True:
            page = client.get_enrolled_users(moodle_course_id, onlyactive=True,
                                             limitfrom=len(users), limitnumber=ROSTER_PAGE)
            users.extend(page)
            if len(page) < ROSTER_PAGE:
                break
        # Languages and time zones are only in the users' profiles, not in the roster.
        profiles = {p.id: p for p in client.get_users_by_ids(u.id for u in users)}
        records.apply_roster(users, profiles)
        state = sync_state(session, course.id)
        state.roster_synced_at = now or utcnow()
        result.roster_read = True
        checkpoint()

    forums = records.apply_forums(client.get_forums_by_courses([moodle_course_id]))
    checkpoint()
    for forum in forums:
        result.discussions_read += _sync_forum(client, records, forum, full=full,
                                               checkpoint=checkpoint, now=now)
        result.forums += 1
    result.changed = records.changed
    result.calls = client.calls - calls_before
    return result


def _sync_forum(client: MoodleClient, records: CourseRecords, forum: Forum, *, full: bool,
                checkpoint: Checkpoint, now: datetime | None) -> int:
    """Sync one forum's discussions; move its watermark only when all of them are stored."""
    threshold = None if full else forum.watermark - WATERMARK_OVERLAP
    newest = forum.watermark
    listed: set[int] = set()
    complete = True
    read = refreshed = 0
    batch: list[tuple[MoodleDiscussion, Sequence[MoodlePost]]] = []

    def store_batch() -> None:
        # Each discussion is stored whole with its posts, so a crash between two checkpoints
        # only means reading those discussions again.
        nonlocal read, refreshed
        records.apply_discussions(forum, batch, now)
        read += len(batch)
        batch.clear()
        refreshed = 0
        checkpoint()

    page = 0
    while True:
        discussions = client.get_forum_discussions(forum.moodle_forum_id, sortorder=1,
                                                   page=page, perpage=DISCUSSIONS_PER_PAGE)
        records.prefetch_discussions(d.id for d in discussions)
        records.people(d.userid for d in discussions if d.userid)
        reached_known = False
        for remote in discussions:
            # Pinned (and the token user's starred) discussions come first whatever their time.
            if (threshold is not None and not remote.pinned and not remote.starred
                    and remote.timemodified <= threshold):
                # Known from here on: no further page. The rest of this page came for free,
                # so it is still compared (a reply deleted there shows as fewer replies).
                reached_known = True
            listed.add(remote.id)
            newest = max(newest, remote.timemodified)
            if not (full or records.needs_posts(remote, forum)):
                if records.refresh_listing(forum, remote):
                    refreshed += 1
            else:
                try:
                    posts = client.get_discussion_posts(remote.id)
                except MoodleError as error:
                    if error.errorcode:  # a permission or parameter problem: the sync fails
                        raise
                    # Moodle crashes (no errorcode) on a discussion deleted since it was listed.
                    log.warning("discussion posts unreadable; forum left for the next sync",
                                extra={"course_id": forum.course_id, "discussion": remote.id,
                                       "error": str(error)})
                    complete = False
                    continue
                batch.append((remote, posts.posts))
            if len(batch) + refreshed >= CHECKPOINT_EVERY:
                store_batch()
        if reached_known or len(discussions) + discussions.hidden < DISCUSSIONS_PER_PAGE:
            break
        page += 1
    if batch:
        store_batch()
    if full and complete:
        records.mark_discussions_deleted(forum, listed)
    if complete and forum.watermark != newest:
        forum.watermark = newest
        forum.synced_at = now or utcnow()
        records.changed += 1
    records.session.flush()
    checkpoint()
    return read


def course_moodle_id(course: Course) -> int:
    """The course's id in Moodle's web services (the LTI context id for Moodle)."""
    if course.moodle_course_id is not None:
        return course.moodle_course_id
    if course.context_id.isdigit():
        return int(course.context_id)
    raise MoodleError(f"course {course.id} has no Moodle course id", errorcode="nocourseid")


# --- runs, leases and scheduling ----------------------------------------------------------------

def sync_state(session: Session, course_id: int) -> CourseSyncState:
    """Return the course's sync state row, creating it (safely under concurrency) if missing."""
    state = session.get(CourseSyncState, course_id)
    if state is None:
        try:
            with session.begin_nested():
                session.add(CourseSyncState(course_id=course_id))
        except IntegrityError:
            pass  # another worker created it first
        state = session.get(CourseSyncState, course_id)
        assert state is not None
    return state


def acquire_sync_lease(session: Session, course_id: int, holder: str, *,
                       now: datetime | None = None, ttl: timedelta = LEASE_TTL) -> bool:
    """Take the course's sync lease unless someone else holds an unexpired one.

    One conditional UPDATE: on PostgreSQL the second of two racing workers waits for the
    first's commit and then finds the condition false; SQLite serialises writers. The caller
    must commit at once for the lease to be seen by other workers.
    """
    now = now or utcnow()
    sync_state(session, course_id)
    session.flush()
    result = session.execute(
        update(CourseSyncState)
        .where(CourseSyncState.course_id == course_id,
               or_(CourseSyncState.lease_holder.is_(None),
                   CourseSyncState.lease_holder == holder,
                   CourseSyncState.lease_expires_at < now))
        .values(lease_holder=holder, lease_expires_at=now + ttl)
        .execution_options(synchronize_session=False))
    session.expire(session.get(CourseSyncState, course_id))
    return result.rowcount == 1


def release_sync_lease(session: Session, course_id: int, holder: str) -> None:
    session.execute(
        update(CourseSyncState)
        .where(CourseSyncState.course_id == course_id, CourseSyncState.lease_holder == holder)
        .values(lease_holder=None, lease_expires_at=None)
        .execution_options(synchronize_session=False))
    session.expire(session.get(CourseSyncState, course_id))


def reconciliation_due(state: CourseSyncState | None, now: datetime, reconcile_hour: int) -> bool:
    """Tell whether the course's last full reconciliation predates the last nightly slot."""
    if state is None or state.reconciled_at is None:
        return True
    slot = now.replace(hour=reconcile_hour, minute=0, second=0, microsecond=0)
    if slot > now:
        slot -= timedelta(days=1)
    return state.reconciled_at < slot


def run_sync(session: Session, course_id: int, *, key: str, reconcile_hour: int = 3,
             trigger: str = "schedule", full: bool | None = None,
             requested_by_id: int | None = None, holder: str | None = None,
             checkpoint: Checkpoint = _no_checkpoint,
             client_factory: Callable[..., MoodleClient] | None = None,
             now: Callable[[], datetime] = utcnow) -> SyncRun | None:
    """Sync a course under its lease and record the run; None if another worker holds it.

    `checkpoint` is the caller's commit: the lease, the run row and every unit of synced data
    are handed to it as soon as they are ready. A failure is recorded on the run (Moodle's
    error code and message, never the token) rather than raised.
    """
    holder = holder or worker_identity()
    course = session.get(Course, course_id)
    if course is None:
        return None
    if not acquire_sync_lease(session, course_id, holder, now=now()):
        log.info("sync skipped: another worker holds the course", extra={"course_id": course_id})
        session.rollback()
        return None
    state = sync_state(session, course_id)
    if full is None:
        full = reconciliation_due(state, now(), reconcile_hour)
    # Holding the lease, no other run of this course is alive: one still "running" was cut
    # off (its worker killed, or its database gone before it could record the failure).
    session.execute(update(SyncRun)
                    .where(SyncRun.course_id == course_id, SyncRun.status == RUNNING)
                    .values(status=FAILED, finished_at=now(), error=INTERRUPTED)
                    .execution_options(synchronize_session=False))
    run = SyncRun(course_id=course_id, trigger=trigger, full=full, started_at=now(),
                  requested_by_id=requested_by_id)
    session.add(run)
    session.flush()
    checkpoint()
    run_id = run.id

    renewed = [now()]

    def renewing_checkpoint() -> None:
        if now() - renewed[0] > LEASE_TTL / 3:  # renew well before expiry, not at every unit
            renewed[0] = now()
            acquire_sync_lease(session, course_id, holder, now=renewed[0])
        checkpoint()

    client: MoodleClient | None = None
    error = ""
    result = SyncResult(full=full)
    try:
        connection = connection_for_platform(session, course.platform_id)
        if connection is None:
            raise MoodleError("no Moodle web-service connection for this platform: run "
                              "`flask circolo moodle connect`", errorcode="notconnected")
        client = (client_factory(connection) if client_factory
                  else client_for_connection(connection, key))
        roster_due = (state.roster_synced_at is None
                      or now() - state.roster_synced_at > ROSTER_MAX_AGE)
        result = sync_course(session, course, client, service_user_id=connection.service_user_id,
                             full=full, sync_roster=roster_due, checkpoint=renewing_checkpoint,
                             now=now())
    except MoodleError as failure:
        error = str(failure)
    except Exception as failure:  # recorded, then re-raised for the worker's log
        error = f"unexpected {type(failure).__name__}"
        _finish(session, run_id, course_id, holder, client, result, error, full, now())
        checkpoint()
        raise
    run = _finish(session, run_id, course_id, holder, client, result, error, full, now())
    checkpoint()
    log.info("course synced" if not error else "course sync failed",
             extra={"course_id": course_id, "status": run.status, "calls": run.calls,
                    "changed": run.changed, "full": full, "error": error})
    return run


def _finish(session: Session, run_id: int, course_id: int, holder: str,
            client: MoodleClient | None, result: SyncResult, error: str, full: bool,
            finished_at: datetime) -> SyncRun:
    if error:
        session.rollback()  # drop the half-written unit; everything checkpointed stays
    run = session.get(SyncRun, run_id)
    assert run is not None
    run.status = FAILED if error else SUCCEEDED
    run.error = error
    run.calls = client.calls if client else 0
    run.changed = result.changed
    run.finished_at = finished_at
    if not error and full:
        sync_state(session, course_id).reconciled_at = finished_at
    release_sync_lease(session, course_id, holder)
    session.flush()
    return run


def _claim_slot(session: Session, course_id: int, column: Any, now: datetime,
                interval: timedelta) -> bool:
    """Set a course's `column` to `now` unless it is within `interval`; True if this call did.

    One conditional UPDATE, so two workers (or two clicks) racing for the slot get one winner.
    """
    sync_state(session, course_id)
    session.flush()
    return session.execute(
        update(CourseSyncState)
        .where(CourseSyncState.course_id == course_id,
               or_(column.is_(None), column <= now - interval))
        .values({column.key: now})
        .execution_options(synchronize_session=False)).rowcount == 1


def request_sync(session: Session, course_id: int, requested_by: int | None = None, *,
                 now: datetime | None = None, enqueue: Callable[..., object] | None = None
                 ) -> CourseSyncState:
    """Accept a teacher's "sync now" (once per two minutes per course); the sync is queued
    when the caller commits.

    Raises `SyncRequestedTooSoon` (HTTP 429, translated) when asked again too soon.
    """
    now = now or utcnow()
    accepted = _claim_slot(session, course_id, CourseSyncState.last_requested_at, now,
                           REQUEST_INTERVAL)
    state = session.get(CourseSyncState, course_id)
    session.expire(state)
    if not accepted:
        raise SyncRequestedTooSoon(detail=f"course {course_id}: sync requested again within "
                                          f"{REQUEST_INTERVAL}")
    if enqueue is None:
        from .tasks import sync_course_task as enqueue

    @event.listens_for(session, "after_commit", once=True)
    def _queue_after_commit(_session: Session) -> None:
        # Queued only once the request is committed, so the worker never waits on its lock.
        enqueue(course_id, trigger="manual", requested_by_id=requested_by)

    return state


def last_sync(session: Session, course_id: int) -> SyncRun | None:
    """The course's most recent sync run (running, succeeded or failed), for the dashboard."""
    return session.scalars(select(SyncRun).where(SyncRun.course_id == course_id)
                           .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())).first()


def last_successful_sync(session: Session, course_id: int) -> SyncRun | None:
    return session.scalars(select(SyncRun).where(SyncRun.course_id == course_id,
                                                 SyncRun.status == SUCCEEDED)
                           .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())).first()


def courses_to_sync(session: Session) -> list[int]:
    """Ids of the active courses whose platform has a Moodle connection."""
    from ..models import MoodleConnection

    return list(session.scalars(
        select(Course.id).join(MoodleConnection,
                               MoodleConnection.platform_id == Course.platform_id)
        .where(Course.active.is_(True)).order_by(Course.id)))


def claim_due_courses(session: Session, *, interval: timedelta,
                      now: datetime | None = None) -> list[int]:
    """Mark the connected active courses not queued for `interval` as queued; return their ids.

    Each claim is a conditional UPDATE, so two schedulers running at once never both queue
    the same course.
    """
    now = now or utcnow()
    claimed = []
    for course_id in courses_to_sync(session):
        if _claim_slot(session, course_id, CourseSyncState.scheduled_at, now, interval):
            claimed.append(course_id)
    return claimed
