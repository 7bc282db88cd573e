"""Build small course activities by hand: people, discussions and replies with known shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from middleware.analytics.activity import (
    CourseActivity,
    DiscussionRecord,
    PersonRecord,
    PostRecord,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass
class CourseBuilder:
    """Collect people, discussions and posts, then `build()` a CourseActivity."""

    now: datetime = NOW
    course_id: int = 1
    people: dict[int, PersonRecord] = field(default_factory=dict)
    discussions: list[DiscussionRecord] = field(default_factory=list)
    posts: list[PostRecord] = field(default_factory=list)
    _post_discussion: dict[int, int] = field(default_factory=dict)
    _clock: datetime | None = None

    def person(self, person_id: int, role: str = "learner", *, groups: tuple[int, ...] = (),
               active: bool = True, last_access: datetime | None = None,
               deleted: bool = False) -> int:
        self.people[person_id] = PersonRecord(person_id, role, frozenset(groups), active,
                                              last_access, deleted)
        return person_id

    def learners(self, *ids: int, groups: tuple[int, ...] = ()) -> None:
        for person_id in ids:
            self.person(person_id, groups=groups)

    def _time(self, at: datetime | timedelta | None) -> datetime:
        if isinstance(at, timedelta):
            return self.now - at
        if at is None:
            self._clock = (self._clock or self.now - timedelta(days=60)) + timedelta(minutes=10)
            return self._clock
        return at

    def discussion(self, author: int | None, title: str = "A question", text: str = "", *,
                   at: datetime | timedelta | None = None, group: int | None = None,
                   forum_type: str = "general") -> int:
        """Start a discussion; return the id of its starting post."""
        created = self._time(at)
        discussion_id = len(self.discussions) + 1
        self.discussions.append(DiscussionRecord(discussion_id, author, title, created, group,
                                                 forum_type))
        return self._post(discussion_id, None, author, created, False, group, text or title)

    def reply(self, to: int, author: int | None, text: str = "", *,
              at: datetime | timedelta | None = None, private: bool = False) -> int:
        discussion_id = self._post_discussion[to]
        group = self.discussions[discussion_id - 1].group_id
        return self._post(discussion_id, to, author, self._time(at), private, group, text)

    def _post(self, discussion_id: int, parent: int | None, author: int | None,
              created: datetime, private: bool, group: int | None, text: str) -> int:
        post_id = 1000 + len(self.posts)
        self.posts.append(PostRecord(post_id, discussion_id, parent, author, created, private,
                                     group, text))
        self._post_discussion[post_id] = discussion_id
        return post_id

    def build(self) -> CourseActivity:
        return CourseActivity.build(self.course_id, self.now, self.people.values(),
                                    self.discussions, self.posts)


def activity_from_community(community, *, now: datetime | None = None) -> CourseActivity:
    """Turn a generated `tests.doubles.community.Community` into analytics input.

    Moodle ids stand in for Circolo's ids; posts of deleted users lose their author, as the
    web services hide it; enrolled users are the people, with their groups and last access.
    """
    import re

    tags = re.compile(r"<[^>]+>")
    users = {u.id: u for u in community.users}
    people = [
        PersonRecord(u.id, u.role, frozenset(u.group_ids), u.enrolled and not u.suspended,
                     datetime.fromtimestamp(u.lastcourseaccess, UTC) if u.lastcourseaccess
                     else None, u.deleted)
        for u in community.users if u.enrolled and not u.deleted
    ]
    forum_type = {f.id: f.type for f in community.forums}

    def author(user_id: int) -> int | None:
        user = users.get(user_id)
        return None if user is None or user.deleted else user_id

    discussions = [
        DiscussionRecord(d.id, author(d.user_id), d.name, datetime.fromtimestamp(d.created, UTC),
                         None if d.group_id == -1 else d.group_id, forum_type[d.forum_id])
        for d in community.discussions
    ]
    group_of = {d.id: d.group_id for d in community.discussions}
    posts = [
        PostRecord(p.id, p.discussion_id, p.parent_id, author(p.user_id),
                   datetime.fromtimestamp(p.created, UTC), p.private_reply_to is not None,
                   None if group_of[p.discussion_id] == -1 else group_of[p.discussion_id],
                   "" if p.deleted else tags.sub(" ", p.message))
        for p in community.posts
    ]
    return CourseActivity.build(
        community.course_id, now or datetime.fromtimestamp(community.now, UTC), people,
        discussions, posts, group_ids=[g.id for g in community.groups])
