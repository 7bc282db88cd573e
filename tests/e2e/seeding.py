"""What the e2e tier seeds into the real Moodle: a generated community, written as a JSON spec.

The course comes from the same generator the Moodle web-service double serves
(`tests.doubles.community`), so the double and the real Moodle hold the same people, forums,
threads and times, and the contract test compares like with like. `php/seed_course.php` writes
the spec with Moodle's data generator and answers with the Moodle ids.

On top of the generated community: a hidden forum (teachers only), the group forum in separate
groups mode, and time zones chosen so that it is day for the learners now (prompts wait out
their quiet hours, and a test must not depend on the hour it runs at).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.doubles.community import Community, generate_community

#: Everyone seeded logs in with this (a test site's password, not a secret).
PASSWORD = "Circolo-e2e-1"
#: Zones spread round the clock: at any hour at least one of them is in its working day.
DAY_ZONES = ("Europe/Rome", "America/Sao_Paulo", "America/New_York", "America/Los_Angeles",
             "Pacific/Honolulu", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata", "Asia/Dubai")
HIDDEN_FORUM = "Sala docenti"
#: Someone with an account on the site but in no course (Moodle refuses to message them).
OUTSIDER = {"username": "esterno01", "firstname": "Ettore", "lastname": "Esterni",
            "email": "esterno01@example.org"}
GROUP_FORUM = "Progetti di gruppo"


def daytime_zone(now: datetime | None = None) -> str:
    """The first of DAY_ZONES where it is between 10:00 and 17:59 now."""
    now = now or datetime.now(ZoneInfo("UTC"))
    for name in DAY_ZONES:
        if 10 <= now.astimezone(ZoneInfo(name)).hour < 18:
            return name
    raise AssertionError(f"no zone of {DAY_ZONES} is in its day at {now}")  # cannot happen


@dataclass
class SeededCourse:
    """A course seeded into Moodle: the community it came from, the spec, Moodle's ids."""

    community: Community
    spec: dict[str, Any]
    ids: dict[str, Any] = field(default_factory=dict)
    zone: str = ""
    password: str = PASSWORD

    @property
    def course_id(self) -> int:
        return int(self.ids["course_id"])

    def user_id(self, username: str) -> int:
        return int(self.ids["users"][username])

    def person(self, username: str) -> dict[str, Any]:
        return next(u for u in self.spec["users"] if u["username"] == username)

    def people(self, *, role: str | None = None, lang: str | None = None
               ) -> list[dict[str, Any]]:
        """Seeded people still enrolled, by Moodle role shortname and language."""
        return [u for u in self.spec["users"] if not u.get("deleted")
                and u.get("enrol", True) and (role is None or u["role"] == role)
                and (lang is None or (u["lang"] or "en") == lang)]


def course_spec(*, learners: int = 30, discussions: int = 24, posts: int = 120, seed: int = 13,
                now: int | None = None) -> SeededCourse:
    """Generate the community and its spec, its times relative to `now` (default: now)."""
    now = now or int(time.time())
    community = generate_community(seed=seed, learners=learners, discussions=discussions,
                                   posts=posts, weeks=2, now=now - 3600)
    zone = daytime_zone(datetime.fromtimestamp(now, ZoneInfo("UTC")))
    groups = {g.id: g.name for g in community.groups}
    users = []
    for user in community.users:
        if user.role == "service":  # IT creates it (webservice_setup.php), not the seed
            continue
        users.append({
            "username": user.username, "firstname": user.firstname, "lastname": user.lastname,
            "email": user.email, "password": PASSWORD,
            # The editing teacher reads English: the tier launches in both languages.
            "lang": "en" if user.username == "cverdi" else user.lang,
            "timezone": zone if user.timezone != "99" else "99",
            "role": user.moodle_role, "groups": [groups[g] for g in user.group_ids],
            "deleted": user.deleted,
        })
    users.append({**OUTSIDER, "password": PASSWORD, "lang": "it", "timezone": "99",
                  "role": "", "groups": [], "deleted": False, "enrol": False})
    usernames = {u.id: u.username for u in community.users}
    forums = [{"key": f"forum{f.id}", "type": f.type, "name": f.name, "intro": f.intro,
               "visible": 1, "groupmode": 1 if f.name == GROUP_FORUM else 0}
              for f in community.forums]
    threads = []
    for discussion in community.discussions:
        posts_of = community.posts_of(discussion.id)
        threads.append({
            "key": f"discussion{discussion.id}", "forum": f"forum{discussion.forum_id}",
            "user": usernames[discussion.user_id], "subject": discussion.name,
            "group": groups.get(discussion.group_id), "pinned": discussion.pinned,
            "posts": [{
                "key": f"post{p.id}", "parent": f"post{p.parent_id}" if p.parent_id else None,
                "user": usernames[p.user_id], "subject": p.subject, "message": p.message,
                "created": p.created, "modified": p.modified, "deleted": p.deleted,
                "privatereplyto": usernames.get(p.private_reply_to) if p.private_reply_to
                else None,
            } for p in posts_of],
        })
    forums.append({"key": "hidden", "type": "general", "name": HIDDEN_FORUM,
                   "intro": "Solo per i docenti.", "visible": 0, "groupmode": 0})
    threads.append({
        "key": "hidden1", "forum": "hidden", "user": "cverdi",
        "subject": "Valutazioni di metà corso", "group": None, "pinned": False,
        "posts": [{"key": "hidden1a", "parent": None, "user": "cverdi",
                   "subject": "Valutazioni di metà corso",
                   "message": "<p>Ci vediamo giovedì per le valutazioni.</p>",
                   "created": now - 7200, "modified": now - 7200},
                  {"key": "hidden1b", "parent": "hidden1a", "user": "bneri",
                   "subject": "Re: Valutazioni di metà corso", "message": "<p>Va bene.</p>",
                   "created": now - 3600, "modified": now - 3600}],
    })
    spec = {
        "course": {"fullname": community.course_fullname, "shortname": community.course_shortname,
                   "summary": "Corso pilota", "lang": "", "startdate": now - 14 * 86400,
                   "enddate": now + 60 * 86400},
        "users": users, "groups": [g.name for g in community.groups], "forums": forums,
        "discussions": threads,
    }
    return SeededCourse(community=community, spec=spec, zone=zone)
