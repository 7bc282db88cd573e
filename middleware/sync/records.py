"""Write what Moodle said into a course's rows: upserts that touch only what differs.

Every method compares before it assigns, so syncing unchanged data issues no UPDATE at all and
`changed` counts exactly the rows inserted or modified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from ..models import (
    SERVICE,
    Course,
    CourseGroup,
    Discussion,
    Enrolment,
    Forum,
    Person,
    Post,
    from_epoch,
    utcnow,
)
from ..moodle.schemas import (
    EnrolledUser,
    MoodleCourse,
    MoodleDiscussion,
    MoodleForum,
    MoodlePost,
    MoodleUser,
)
from .content import circolo_role, html_to_text, person_timezone, sanitise_html

#: Rows looked up per IN (...) query, well under SQLite's bound-parameter limit.
_CHUNK = 500


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set the attributes of `row` that differ from `values`; tell whether any did."""
    differs = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            differs = True
    return differs


class CourseRecords:
    """The rows of one course being synced, cached by Moodle id, and a count of changes."""

    def __init__(self, session: Session, course: Course, service_user_id: int | None) -> None:
        self.session = session
        self.course = course
        self.service_user_id = service_user_id
        self.changed = 0
        self._people: dict[str, Person] = {}
        self._absent: set[str] = set()  # subjects looked up and not found
        # On a first sync no post can be stored "elsewhere": skip those lookups.
        self._had_posts = session.scalar(
            select(Post.id).where(Post.course_id == course.id).limit(1)) is not None
        self._new_posts: set[int] = set()
        self._new_discussions: set[int] = set()
        self._forums = {f.moodle_forum_id: f for f in session.scalars(
            select(Forum).where(Forum.course_id == course.id))}
        # Loaded page by page (`prefetch_discussions`): a quiet sync touches a few of them.
        self._discussions: dict[int, Discussion] = {}
        self._looked_up: set[int] = set()
        self._groups: dict[int, CourseGroup] | None = None

    # --- people ------------------------------------------------------------------------------

    def people(self, moodle_ids: Iterable[int]) -> dict[str, Person]:
        """Load (and cache) the platform's people with these Moodle ids, creating none."""
        wanted = [s for s in {str(i) for i in moodle_ids}
                  if s not in self._people and s not in self._absent]
        with self.session.no_autoflush:
            for start in range(0, len(wanted), _CHUNK):
                for person in self.session.scalars(select(Person).where(
                        Person.platform_id == self.course.platform_id,
                        Person.subject.in_(wanted[start:start + _CHUNK]))):
                    self._people[person.subject] = person
        self._absent.update(s for s in wanted if s not in self._people)
        return self._people

    def ensure_people(self, entries: Iterable[tuple[int, str, bool]]) -> None:
        """Create or update people from (Moodle id, full name, account deleted), one flush."""
        entries = list(entries)
        self.people(moodle_id for moodle_id, _, _ in entries)
        missing = {str(moodle_id): (moodle_id, fullname, deleted)
                   for moodle_id, fullname, deleted in entries
                   if str(moodle_id) not in self._people}
        if missing:
            self._create_people(list(missing.values()))
        for moodle_id, fullname, deleted in entries:
            subject = str(moodle_id)
            if subject in missing:
                continue
            person = self._people[subject]
            values: dict[str, Any] = {"moodle_user_id": moodle_id}
            if deleted:
                values["deleted"] = True
            elif fullname:  # a deleted account's name reads "Deleted user": keep ours
                values["fullname"] = fullname
            if _assign(person, values):
                self.changed += 1

    def _create_people(self, entries: list[tuple[int, str, bool]]) -> None:
        """Insert people, tolerating the same people inserted meanwhile by another course's sync.

        People belong to the platform, so two courses of one Moodle site synced at once (by two
        workers) create the same learners: a plain INSERT would fail one of the syncs. Rows go
        in subject order, so two such inserts wait for each other instead of deadlocking.
        """
        dialect = self.session.get_bind().dialect.name
        insert_into = postgresql_insert if dialect == "postgresql" else sqlite_insert
        rows = [{"platform_id": self.course.platform_id, "subject": str(moodle_id),
                 "moodle_user_id": moodle_id, "fullname": fullname, "deleted": deleted}
                for moodle_id, fullname, deleted in sorted(entries, key=lambda e: str(e[0]))]
        self.session.execute(insert_into(Person).on_conflict_do_nothing(
            index_elements=["platform_id", "subject"]), rows)
        subjects = {row["subject"] for row in rows}
        self._absent -= subjects
        self.people(int(subject) for subject in subjects)
        self.changed += len(rows)

    def person(self, moodle_id: int, fullname: str = "", *, deleted: bool = False) -> Person:
        """Return the person with this Moodle id (the LTI `sub`), creating it if unknown."""
        self.ensure_people([(moodle_id, fullname, deleted)])
        return self._people[str(moodle_id)]

    # --- course and roster ---------------------------------------------------------------------

    def apply_course_dates(self, moodle_course_id: int, courses: Sequence[MoodleCourse]) -> None:
        """Keep the course's start and end dates (post texts are retained from its end on) and
        the language Moodle forces on it.

        Moodle leaves out a course the token cannot see: they then stay as they were.
        """
        for remote in courses:
            if remote.id == moodle_course_id and _assign(self.course, {
                    "starts_at": from_epoch(remote.startdate),
                    "ends_at": from_epoch(remote.enddate), "lang": remote.lang[:16]}):
                self.changed += 1

    def apply_roster(self, users: Sequence[EnrolledUser],
                     profiles: Mapping[int, MoodleUser] | None = None) -> None:
        """Make enrolments, roles and groups match a complete roster of active participants.

        `profiles` (core_user_get_users_by_field, by Moodle id) give each person's language and
        time zone; someone whose profile Moodle did not show (whole) keeps the ones Circolo had.
        """
        profiles = profiles or {}
        self.ensure_people((u.id, u.fullname, False) for u in users)
        groups = self._course_groups()
        enrolments = {e.person_id: e for e in self.session.scalars(
            select(Enrolment).where(Enrolment.course_id == self.course.id)
            .options(selectinload(Enrolment.groups)))}
        for user in users:
            person = self._people[str(user.id)]
            person_values: dict[str, Any] = {"email": user.email or person.email, "deleted": False}
            profile = profiles.get(user.id)
            # A profile without a language is one Moodle showed only in part (the role lacks
            # moodle/user:viewalldetails): nothing in it is taken for the person's settings.
            if profile is not None and profile.lang:
                person_values["lang"] = profile.lang[:16]
                person_values["timezone"] = person_timezone(profile.timezone)
            if _assign(person, person_values):
                self.changed += 1
            values = {
                "role": circolo_role(user.roles, is_service_user=user.id == self.service_user_id),
                "moodle_roles": sorted(user.roles),
                "active": True,
                "last_course_access": from_epoch(user.lastcourseaccess),
            }
            enrolment = enrolments.pop(person.id, None)
            if enrolment is None:
                enrolment = Enrolment(course_id=self.course.id, person_id=person.id, **values)
                enrolment.groups = []
                self.session.add(enrolment)
                self.changed += 1
            elif _assign(enrolment, values):
                self.changed += 1
            wanted = [self._group(groups, g.id, g.name) for g in user.groups]
            if {g.moodle_group_id for g in enrolment.groups} != {g.moodle_group_id
                                                                   for g in wanted}:
                enrolment.groups = wanted
                self.changed += 1
        if users:  # an empty roster is a Moodle fault (a course has a teacher), not a purge
            for enrolment in enrolments.values():
                if enrolment.active and enrolment.role != SERVICE:
                    enrolment.active = False
                    self.changed += 1
        self.session.flush()

    def _course_groups(self) -> dict[int, CourseGroup]:
        if self._groups is None:
            self._groups = {g.moodle_group_id: g for g in self.session.scalars(
                select(CourseGroup).where(CourseGroup.course_id == self.course.id))}
        return self._groups

    def _group(self, groups: dict[int, CourseGroup], moodle_id: int, name: str) -> CourseGroup:
        group = groups.get(moodle_id)
        if group is None:
            group = CourseGroup(course_id=self.course.id, moodle_group_id=moodle_id, name=name)
            self.session.add(group)
            groups[moodle_id] = group
            self.changed += 1
        elif name and _assign(group, {"name": name}):
            self.changed += 1
        return group

    # --- forums --------------------------------------------------------------------------------

    def apply_forums(self, forums: Sequence[MoodleForum]) -> list[Forum]:
        """Upsert the course's forums; those Moodle no longer lists are marked deleted."""
        listed = []
        for remote in forums:
            values = {"cmid": remote.cmid, "type": remote.type, "name": remote.name,
                      "deleted": False}
            forum = self._forums.get(remote.id)
            if forum is None:
                forum = Forum(course_id=self.course.id, moodle_forum_id=remote.id, watermark=0,
                              **values)
                self.session.add(forum)
                self._forums[remote.id] = forum
                self.changed += 1
            elif _assign(forum, values):
                self.changed += 1
            listed.append(forum)
        # Moodle silently drops a course the token cannot see: an empty list proves nothing.
        if forums:
            seen = {f.id for f in forums}
            for moodle_id, forum in self._forums.items():
                if moodle_id not in seen and not forum.deleted:
                    forum.deleted = True
                    self.changed += 1
        self.session.flush()
        return listed

    # --- discussions and posts ----------------------------------------------------------------

    def discussion(self, moodle_id: int) -> Discussion | None:
        self.prefetch_discussions([moodle_id])
        return self._discussions.get(moodle_id)

    def prefetch_discussions(self, moodle_ids: Iterable[int]) -> None:
        """Load the stored discussions among these Moodle ids (one query per page listed)."""
        wanted = [i for i in set(moodle_ids) if i not in self._looked_up]
        with self.session.no_autoflush:
            for start in range(0, len(wanted), _CHUNK):
                for discussion in self.session.scalars(select(Discussion).where(
                        Discussion.course_id == self.course.id,
                        Discussion.moodle_discussion_id.in_(wanted[start:start + _CHUNK]))):
                    self._discussions.setdefault(discussion.moodle_discussion_id, discussion)
        self._looked_up.update(wanted)

    def known_discussions(self, forum: Forum) -> list[Discussion]:
        """Every stored discussion of a forum."""
        with self.session.no_autoflush:
            for discussion in self.session.scalars(select(Discussion).where(
                    Discussion.forum_id == forum.id)):
                self._discussions.setdefault(discussion.moodle_discussion_id, discussion)
        return [d for d in self._discussions.values() if d.forum_id == forum.id]

    def needs_posts(self, remote: MoodleDiscussion, forum: Forum) -> bool:
        """Tell whether Moodle's listing shows activity that the stored posts do not have."""
        self.prefetch_discussions([remote.id])
        local = self._discussions.get(remote.id)
        return (local is None or local.posts_synced_at is None or local.deleted
                or local.moodle_timemodified != remote.timemodified
                or local.num_replies != remote.numreplies or local.forum_id != forum.id)

    def refresh_listing(self, forum: Forum, remote: MoodleDiscussion) -> bool:
        """Apply listing-only changes (name, pinned, locked) of a discussion whose posts are
        unchanged; tell whether there were any."""
        before = self.changed
        self.apply_discussion(forum, remote)
        return self.changed != before

    def apply_discussions(self, forum: Forum,
                          batch: Sequence[tuple[MoodleDiscussion, Sequence[MoodlePost]]],
                          now: datetime | None = None) -> None:
        """Store discussions read whole: their listing data and complete lists of posts.

        One flush writes the new discussions of the batch (the ORM batches their INSERTs),
        then each discussion's new posts go in one multi-row INSERT.
        """
        # Every post author of the batch, created or updated in one lookup.
        self.ensure_people((p.author.id, p.author.fullname, p.author.isdeleted)
                           for _, posts in batch for p in posts if p.author.id)
        stored = [self.apply_discussion(forum, remote) for remote, _ in batch]
        self.session.flush()
        for discussion, (_, posts) in zip(stored, batch, strict=True):
            self._apply_posts(discussion, posts, now)
        self.session.flush()

    def apply_discussion(self, forum: Forum, remote: MoodleDiscussion) -> Discussion:
        """Upsert a discussion's listing data (not its posts); a new one is written at the
        next flush."""
        self.prefetch_discussions([remote.id])
        author = self.person(remote.userid, remote.userfullname) if remote.userid else None
        values = {
            "forum_id": forum.id, "first_post_moodle_id": remote.first_post_id,
            "name": remote.name, "author_id": author.id if author else None,
            "moodle_group_id": remote.groupid, "created_at": from_epoch(remote.created),
            "moodle_timemodified": remote.timemodified, "num_replies": remote.numreplies,
            "pinned": remote.pinned, "locked": remote.locked, "deleted": False,
        }
        local = self._discussions.get(remote.id)
        if local is None:
            local = Discussion(course_id=self.course.id, moodle_discussion_id=remote.id,
                               **values)
            local.forum = forum
            self.session.add(local)
            self._discussions[remote.id] = local
            self._new_discussions.add(remote.id)
            self.changed += 1
        elif _assign(local, values):
            self.changed += 1
        return local

    def _apply_posts(self, discussion: Discussion, posts: Sequence[MoodlePost],
                     now: datetime | None = None) -> None:
        """Make a discussion's posts match Moodle's complete list.

        The discussion must already be flushed (its posts refer to its id) and the posts'
        authors ensured (`apply_discussions` does both). New posts are inserted at once; edits
        to stored ones are written at the next flush.
        """
        before = self.changed
        stored: dict[int, Post] = {}
        with self.session.no_autoflush:
            if discussion.moodle_discussion_id not in self._new_discussions:
                stored = {p.moodle_post_id: p for p in self.session.scalars(
                    select(Post).where(Post.discussion_id == discussion.id))}
            elsewhere = [p.id for p in posts if p.id not in stored]
            if not self._had_posts:  # only rows this sync wrote can be elsewhere
                elsewhere = [i for i in elsewhere if i in self._new_posts]
            for start in range(0, len(elsewhere), _CHUNK):  # moved by a discussion split
                for post in self.session.scalars(select(Post).where(
                        Post.course_id == self.course.id,
                        Post.moodle_post_id.in_(elsewhere[start:start + _CHUNK]))):
                    stored[post.moodle_post_id] = post
        new_rows: list[dict[str, Any]] = []
        synced_at = utcnow()
        for remote in posts:
            author = self._people[str(remote.author.id)] if remote.author.id else None
            values = {
                "discussion_id": discussion.id, "parent_moodle_id": remote.parentid,
                "author_id": author.id if author else None,
                "author_deleted": remote.author.isdeleted, "subject": remote.subject,
                "created_at": from_epoch(remote.timecreated),
                "modified_at": from_epoch(remote.timemodified),
                "private_reply": remote.isprivatereply,
                "moodle_group_id": discussion.moodle_group_id, "deleted": remote.isdeleted,
            }
            local = stored.pop(remote.id, None)
            if local is None or local.modified_at != values["modified_at"] or (
                    local.deleted != remote.isdeleted):
                # Sanitising is the costly part: only for new, edited or erased posts.
                values["message_html"] = sanitise_html(remote.message)
                values["message_text"] = html_to_text(remote.message)
            if local is None:
                new_rows.append({"course_id": self.course.id, "moodle_post_id": remote.id,
                                 "synced_at": synced_at, **values})
                self._new_posts.add(remote.id)
                self.changed += 1
            elif _assign(local, values):
                self.changed += 1
        if new_rows:
            # One multi-row INSERT through Core: a first sync writes thousands of posts, and
            # the ORM's bulk path would only add bookkeeping (no Post object is needed).
            self.session.connection().execute(Post.__table__.insert(), new_rows)
        for gone in stored.values():  # Moodle deletes rows outright: keep ours, marked
            if not gone.deleted and gone.discussion_id == discussion.id:
                gone.deleted = True
                self.changed += 1
        if self.changed != before or discussion.posts_synced_at is None:
            discussion.posts_synced_at = now or utcnow()

    def mark_discussions_deleted(self, forum: Forum, still_listed: set[int]) -> None:
        """Mark a forum's discussions that Moodle no longer lists, and their posts, deleted."""
        for local in self.known_discussions(forum):
            if local.moodle_discussion_id in still_listed or local.deleted:
                continue
            local.deleted = True
            self.changed += 1
            for post in self.session.scalars(select(Post).where(
                    Post.discussion_id == local.id, Post.deleted.is_(False))):
                post.deleted = True
                self.changed += 1
        self.session.flush()
