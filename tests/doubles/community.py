"""Generate a deterministic Moodle course community, as dataclasses and as web-service JSON.

The same seed, sizes and ``now`` always give the same community, byte for byte. It is shaped like
the recorded Moodle 4.4 course (``tests/fixtures/moodle-4.4``): Italian learners, an editing teacher
(Carla Verdi, user 3), a non-editing tutor (Bruno Neri, user 4), the web-service user
("communitybot", the last enrolled id) and forums "Annunci" (news), "Presentiamoci",
"Domande e risposte" and "Progetti di gruppo" (group discussions), optionally a Q&A forum.

Usage::

    from tests.doubles.community import generate_community

    community = generate_community(seed=7, learners=40, discussions=60, posts=300)
    community = generate_community(seed=1, learners=20_000, discussions=5_000, posts=100_000)

Parameters of ``generate_community`` (all keyword-only): ``seed``, ``learners``, ``discussions``,
``posts`` (every post, first posts included; at least ``discussions``), ``groups`` (default about
one per 10 learners, at most 500), ``weeks`` (the span of activity), ``now`` (epoch seconds of
the newest possible post; by default the time of the call, so that activity is always recent
relative to the clock the code under test reads), ``course_id`` (2), ``qanda_forum`` (add a
Q&A forum), and the shares
``expert_share``, ``isolated_share``, ``lurker_share``, ``unanswered_share``,
``teacher_thread_share``, ``private_reply_share``, ``deleted_post_share``, ``edited_share``,
``deleted_users`` (authors whose Moodle account was deleted; they are no longer enrolled).

Plain data (all ids are Moodle ids):

- ``community.users`` — ``CommunityUser`` (id, username, firstname, lastname, fullname, email,
  role ``"learner"|"teacher"|"service"``, ``moodle_role`` shortname, lang, timezone, group_ids,
  lastcourseaccess, enrolled, suspended, deleted); ``community.learners``, ``.teachers``,
  ``.service_user``, ``community.user(id)``.
- ``community.groups`` — ``CommunityGroup`` (id, name). ``community.forums`` — ``CommunityForum``.
- ``community.discussions`` — ``CommunityDiscussion`` (id, first_post_id, forum_id, name,
  group_id (-1 = all participants), user_id, created, timemodified (time of the newest post, as
  Moodle's sort key), usermodified, pinned, locked, topic, kind ``"announcement" | "introduction"
  | "question" | "teacher_thread" | "group_work"``), ``num_replies`` (property).
- ``community.posts`` — ``CommunityPost`` (id, discussion_id, parent_id (None for a first post),
  user_id, subject, message (HTML), created, modified (> created when edited), private_reply_to
  (user id or None), deleted (privacy-erased: Moodle keeps the shell), topic);
  ``community.posts_of(discussion_id)`` in creation order.
- Ground truth for analytics and mentoring tests: ``community.experts`` (learner ids who answer a
  lot, each with ``community.expert_topics[id]``), ``community.isolated`` (learners who post but
  are never replied to), ``community.lurkers`` (enrolled, never post),
  ``community.unanswered`` (question discussions without replies), ``community.teacher_threads``
  (discussions where learners only answer the teacher). ``TOPICS`` lists the topics and their
  vocabulary, so that posts on one topic are textually similar.

Web-service JSON (exactly the recorded shapes; ``siteurl`` defaults to http://127.0.0.1:8081):
``site_info_json(functions)``, ``course_json()``, ``enrolled_users_json(onlyactive, limitfrom,
limitnumber)``, ``users_by_field_json(field, values)``, ``forums_json(courseids)``,
``discussions_json(forumid, sortorder, page, perpage)``, ``discussion_posts_json(discussionid,
sortby, sortdirection)`` (returns None for an unknown discussion, as Moodle fails then).
``course_lang`` is the course's forced language; ``profiles_hidden`` answers profiles as a Moodle
whose web-service role lacks ``moodle/user:viewalldetails`` does (without their language).

Changes at run time, as Moodle would make them (the double exposes them to tests):
``add_post(discussion_id, user_id, message, parent_id=None, at=None, private_reply_to=None)``,
``add_discussion(forum_id, user_id, subject, message, at=None, group_id=-1, pinned=False)``,
``edit_post(post_id, message, at=None)`` (the discussion's timemodified does not move),
``delete_post(post_id)`` (hard delete with its replies; the discussion's timemodified is
recomputed and can move backwards), ``delete_discussion(discussion_id)``,
``unenrol(user_id)``. Each returns what it changed.
"""

from __future__ import annotations

import html
import itertools
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

SITEURL = "http://127.0.0.1:8081"
PICTURE = "/theme/image.php/boost/core/1795459747/u/f2"

FIRST_NAMES = (
    "Giulia", "Marco", "Sara", "Luca", "Francesca", "Alessandro", "Chiara", "Matteo", "Elena",
    "Davide", "Valentina", "Simone", "Martina", "Andrea", "Federica", "Lorenzo", "Alice",
    "Riccardo", "Silvia", "Paolo", "Laura", "Stefano", "Anna", "Giorgio", "Roberta", "Fabio",
    "Irene", "Nicola", "Beatrice", "Emanuele", "Camilla", "Tommaso", "Greta", "Pietro", "Ilaria",
    "Filippo", "Noemi", "Daniele", "Aurora", "Michele", "Sofia", "Gabriele", "Emma", "Leonardo",
    "Giorgia", "Edoardo", "Vittoria", "Jacopo", "Ludovica", "Samuele",
)
LAST_NAMES = (
    "Rossi", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco", "Bruno", "Gallo",
    "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti",
    "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli",
    "Martini", "Leone", "Longo", "Gentile", "Martinelli", "Vitale", "Lombardo", "Serra",
    "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi", "Villa", "Conte", "Ferri",
    "Fabbri", "Bianco", "Marini", "Grasso", "Valentini", "Messina", "Sala", "De Angelis", "Gatti",
)

#: Topics of the recorded course, each with words that only its posts use.
TOPICS: dict[str, tuple[str, ...]] = {
    "rubriche di valutazione": ("rubrica", "criteri", "livelli", "descrittori", "punteggio"),
    "feedback tra pari": ("revisione", "commenti", "compagni", "scheda", "reciproco"),
    "H5P interattivo": ("H5P", "video interattivo", "contenuto", "pacchetto", "interazioni"),
    "badge e motivazione": ("badge", "traguardi", "ricompense", "motivazione", "livello"),
    "gruppi e collaborazione": ("gruppi", "ruoli", "consegna comune", "wiki", "collaborazione"),
    "forum e partecipazione": ("forum", "discussione", "interventi", "moderazione", "thread"),
    "quiz in Moodle": ("quiz", "banca domande", "tentativi", "feedback automatico", "categorie"),
    "accessibilità dei materiali": ("accessibilità", "sottotitoli", "contrasto", "screen reader",
                                    "testo alternativo"),
    "valutazione formativa": ("valutazione formativa", "autovalutazione", "evidenze",
                              "progressi", "osservazione"),
    "lezioni in diretta": ("lezioni in diretta", "videoconferenza", "registrazione",
                           "BigBlueButton", "sondaggi"),
}
QUESTION_OPENINGS = (
    "Come posso usare {topic} con una classe numerosa? Avete esempi?",
    "Qualcuno ha esperienza con {topic}? Non so da dove cominciare.",
    "Ho un dubbio su {topic}: come organizzate il lavoro?",
    "Sto preparando un'attività su {topic}, mi date qualche consiglio?",
)
ANSWER_OPENINGS = (
    "Io ho usato {topic} così: divido la classe in gruppi e uso una {w1} condivisa.",
    "Con {topic} mi trovo bene se preparo prima {w1} e {w2}.",
    "Per {topic} consiglio di partire da {w1}: poi {w2} viene da sé.",
    "Nella mia esperienza con {topic} conta molto {w1}, più di {w2}.",
)
THANKS = ("Grazie mille, provo subito!", "Grazie, molto utile.", "Perfetto, grazie a tutti!")
TEACHER_PROMPTS = (
    "Come state trovando il corso?", "Che cosa vi è servito di più questa settimana?",
    "Quale attività proverete in classe?", "Cosa vi ha sorpreso nel modulo su {topic}?",
)
DELETED_SUBJECT = "This post has been removed"
DELETED_MESSAGE = "The content of this post has been removed and can no longer be accessed."
DELETED_USER = "Deleted user"

#: Functions the tool's service holds (core_webservice_get_site_info lists them).
SERVICE_FUNCTIONS = (
    "core_webservice_get_site_info", "core_course_get_courses_by_field",
    "core_course_get_contents", "core_enrol_get_enrolled_users", "core_user_get_users_by_field",
    "mod_forum_get_forums_by_courses", "mod_forum_get_forum_discussions",
    "mod_forum_get_discussion_posts", "mod_forum_add_discussion_post",
    "mod_forum_add_discussion", "core_message_send_instant_messages",
    "core_message_get_conversation_between_users", "core_message_get_conversation_messages",
)


@dataclass
class CommunityUser:
    id: int
    username: str
    firstname: str
    lastname: str
    email: str
    role: str  # learner | teacher | service
    moodle_role: str  # student | editingteacher | teacher
    lang: str = ""
    timezone: str = "99"
    group_ids: list[int] = field(default_factory=list)
    lastcourseaccess: int = 0
    enrolled: bool = True
    suspended: bool = False
    deleted: bool = False

    @property
    def fullname(self) -> str:
        return f"{self.firstname} {self.lastname}"


@dataclass
class CommunityGroup:
    id: int
    name: str
    description: str = ""


@dataclass
class CommunityForum:
    id: int
    cmid: int
    type: str
    name: str
    intro: str
    timemodified: int


@dataclass
class CommunityDiscussion:
    id: int
    first_post_id: int
    forum_id: int
    name: str
    group_id: int
    user_id: int
    created: int
    timemodified: int
    usermodified: int
    pinned: bool
    locked: bool
    topic: str
    kind: str
    post_ids: list[int] = field(default_factory=list)

    @property
    def num_replies(self) -> int:
        # The web-service user holds mod/forum:readprivatereplies, so private replies count too.
        return len(self.post_ids) - 1


@dataclass
class CommunityPost:
    id: int
    discussion_id: int
    parent_id: int | None
    user_id: int
    subject: str
    message: str
    created: int
    modified: int
    private_reply_to: int | None = None
    deleted: bool = False
    topic: str = ""


@dataclass
class Community:
    """A generated course community; see the module docstring for its API."""

    course_id: int
    course_fullname: str
    course_shortname: str
    now: int
    users: list[CommunityUser]
    groups: list[CommunityGroup]
    forums: list[CommunityForum]
    discussions: list[CommunityDiscussion]
    posts: list[CommunityPost]
    experts: list[int] = field(default_factory=list)
    expert_topics: dict[int, list[str]] = field(default_factory=dict)
    isolated: list[int] = field(default_factory=list)
    lurkers: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)
    teacher_threads: list[int] = field(default_factory=list)
    siteurl: str = SITEURL
    #: Epoch seconds; 0 is Moodle's "no end date".
    course_enddate: int = 0
    #: The language the course forces on everyone ("" = each person's own).
    course_lang: str = ""
    #: As a Moodle whose web-service role lacks moodle/user:viewalldetails: profiles come back
    #: without language, username and account details.
    profiles_hidden: bool = False

    def __post_init__(self) -> None:
        self._users = {u.id: u for u in self.users}
        self._forums = {f.id: f for f in self.forums}
        self._discussions = {d.id: d for d in self.discussions}
        self._posts = {p.id: p for p in self.posts}
        self._groups = {g.id: g for g in self.groups}

    # --- lookups ---------------------------------------------------------------------------

    @property
    def learners(self) -> list[CommunityUser]:
        return [u for u in self.users if u.role == "learner" and not u.deleted]

    @property
    def teachers(self) -> list[CommunityUser]:
        return [u for u in self.users if u.role == "teacher"]

    @property
    def service_user(self) -> CommunityUser:
        return next(u for u in self.users if u.role == "service")

    def user(self, user_id: int) -> CommunityUser:
        return self._users[user_id]

    def forum(self, forum_id: int) -> CommunityForum:
        return self._forums[forum_id]

    def discussion(self, discussion_id: int) -> CommunityDiscussion:
        return self._discussions[discussion_id]

    def post(self, post_id: int) -> CommunityPost:
        return self._posts[post_id]

    def discussions_of(self, forum_id: int) -> list[CommunityDiscussion]:
        return [d for d in self.discussions if d.forum_id == forum_id]

    def posts_of(self, discussion_id: int) -> list[CommunityPost]:
        return [self._posts[pid] for pid in self._discussions[discussion_id].post_ids]

    # --- changes at run time -----------------------------------------------------------------

    def _next_post_id(self) -> int:
        return max(self._posts, default=0) + 1

    def add_post(self, discussion_id: int, user_id: int, message: str, *,
                 parent_id: int | None = None, at: int | None = None,
                 private_reply_to: int | None = None) -> CommunityPost:
        """Reply in a discussion (to its first post unless `parent_id`), as Moodle stores it."""
        discussion = self._discussions[discussion_id]
        at = at if at is not None else max(self.now, discussion.timemodified) + 1
        self.now = max(self.now, at)
        post = CommunityPost(
            id=self._next_post_id(), discussion_id=discussion_id,
            parent_id=parent_id or discussion.first_post_id, user_id=user_id,
            subject=f"Re: {discussion.name}", message=message, created=at, modified=at,
            private_reply_to=private_reply_to, topic=discussion.topic,
        )
        self.posts.append(post)
        self._posts[post.id] = post
        discussion.post_ids.append(post.id)
        # forum_add_new_post: the discussion's timemodified becomes the new post's time.
        discussion.timemodified = at
        discussion.usermodified = user_id
        return post

    def add_discussion(self, forum_id: int, user_id: int, subject: str, message: str, *,
                       at: int | None = None, group_id: int = -1,
                       pinned: bool = False) -> CommunityDiscussion:
        """Start a discussion in a forum; returns it (its first post is created too)."""
        at = at if at is not None else self.now + 1
        self.now = max(self.now, at)
        post_id = self._next_post_id()
        discussion = CommunityDiscussion(
            id=max(self._discussions, default=0) + 1, first_post_id=post_id, forum_id=forum_id,
            name=subject, group_id=group_id, user_id=user_id, created=at, timemodified=at,
            usermodified=user_id, pinned=pinned, locked=False, topic="", kind="question",
            post_ids=[post_id],
        )
        post = CommunityPost(id=post_id, discussion_id=discussion.id, parent_id=None,
                             user_id=user_id, subject=subject, message=message, created=at,
                             modified=at)
        self.discussions.append(discussion)
        self._discussions[discussion.id] = discussion
        self.posts.append(post)
        self._posts[post.id] = post
        return discussion

    def edit_post(self, post_id: int, message: str, *, at: int | None = None) -> CommunityPost:
        """Edit a post: its `modified` moves, the discussion's `timemodified` does not."""
        post = self._posts[post_id]
        post.message = message
        post.modified = at if at is not None else max(self.now, post.modified) + 1
        self.now = max(self.now, post.modified)
        return post

    def delete_post(self, post_id: int) -> list[int]:
        """Hard-delete a post and its replies (a first post takes its discussion along)."""
        post = self._posts[post_id]
        discussion = self._discussions[post.discussion_id]
        if post.parent_id is None:
            return self.delete_discussion(discussion.id)
        doomed = {post_id}
        for other in self.posts_of(discussion.id):  # creation order: parents come first
            if other.parent_id in doomed:
                doomed.add(other.id)
        discussion.post_ids = [pid for pid in discussion.post_ids if pid not in doomed]
        for pid in doomed:
            del self._posts[pid]
        self.posts[:] = [p for p in self.posts if p.id not in doomed]
        # forum_discussion_update_last_post: the newest remaining `modified` (can move back).
        newest = max(self.posts_of(discussion.id), key=lambda p: (p.modified, p.id))
        discussion.timemodified = newest.modified
        discussion.usermodified = newest.user_id
        return sorted(doomed)

    def delete_discussion(self, discussion_id: int) -> list[int]:
        """Hard-delete a discussion with every post in it; returns the post ids removed."""
        discussion = self._discussions.pop(discussion_id)
        self.discussions.remove(discussion)
        doomed = set(discussion.post_ids)
        for pid in doomed:
            del self._posts[pid]
        self.posts[:] = [p for p in self.posts if p.id not in doomed]
        return sorted(doomed)

    def unenrol(self, user_id: int) -> CommunityUser:
        """Remove a user's enrolment (the account and its posts stay)."""
        user = self._users[user_id]
        user.enrolled = False
        return user

    # --- web-service JSON ----------------------------------------------------------------------

    def site_info_json(self, functions: Iterable[str] = SERVICE_FUNCTIONS) -> dict[str, Any]:
        bot = self.service_user
        return {
            "sitename": "Community Test Moodle", "username": bot.username,
            "firstname": bot.firstname, "lastname": bot.lastname, "fullname": bot.fullname,
            "lang": "en", "userid": bot.id, "siteurl": self.siteurl,
            "userpictureurl": self.siteurl + PICTURE,
            "functions": [{"name": name, "version": "2023112400"} for name in functions],
            "downloadfiles": 1, "uploadfiles": 0, "release": "4.4dev (Build: 20231124)",
            "version": "2023112400", "mobilecssurl": "",
            "advancedfeatures": [{"name": "messaging", "value": 1},
                                 {"name": "messagingallusers", "value": 0}],
            "usercanmanageownfiles": True, "userquota": 104857600,
            "usermaxuploadfilesize": 2097152, "userhomepage": 1,
            "userprivateaccesskey": "<redacted>", "siteid": 1, "sitecalendartype": "gregorian",
            "usercalendartype": "gregorian", "userissiteadmin": False, "theme": "boost",
            "limitconcurrentlogins": 0, "policyagreed": 0,
        }

    def course_json(self) -> dict[str, Any]:
        teacher = self.teachers[0]
        return {"courses": [{
            "id": self.course_id, "fullname": self.course_fullname,
            "displayname": self.course_fullname, "shortname": self.course_shortname,
            "courseimage": f"{self.siteurl}/pluginfile.php/14/course/generated/course.svg",
            "categoryid": 1, "categoryname": "Category 1", "sortorder": 10002,
            "summary": "Corso pilota", "summaryformat": 1, "summaryfiles": [],
            "overviewfiles": [], "showactivitydates": False, "showcompletionconditions": True,
            "contacts": [{"id": teacher.id, "fullname": teacher.fullname}],
            "enrollmentmethods": ["manual"], "format": "topics", "showgrades": 1,
            "newsitems": 0, "startdate": self.now - 12 * 7 * 86400,
            "enddate": self.course_enddate, "maxbytes": 0,
            "showreports": 0, "visible": 1, "groupmode": 0, "groupmodeforce": 0,
            "defaultgroupingid": 0, "enablecompletion": 0, "completionnotify": 0,
            "lang": self.course_lang,
            "theme": "", "marker": 0,
            "filters": [{"filter": name, "localstate": 0, "inheritedstate": 1}
                        for name in ("displayh5p", "activitynames", "emoticon", "urltolink",
                                     "mediaplugin")],
            "courseformatoptions": [{"name": "hiddensections", "value": 1},
                                    {"name": "coursedisplay", "value": 0},
                                    {"name": "indentation", "value": "1"}],
        }], "warnings": []}

    def _user_json(self, user: CommunityUser) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": user.id, "firstname": user.firstname, "lastname": user.lastname,
            "fullname": user.fullname, "email": user.email,
            "lastcourseaccess": user.lastcourseaccess,
        }
        # Never `lang` nor `timezone`: Moodle leaves them out of this function, whatever
        # `userfields` asks (users_by_field_json has them).
        if user.group_ids:
            data["groups"] = [{"id": gid, "name": self._groups[gid].name, "description": "",
                               "descriptionformat": 1} for gid in user.group_ids]
        data["roles"] = [{"roleid": {"editingteacher": 3, "teacher": 4}.get(user.moodle_role, 5),
                          "name": "", "shortname": user.moodle_role, "sortorder": 0}]
        return data

    def enrolled_users_json(self, *, onlyactive: bool = True, limitfrom: int = 0,
                            limitnumber: int = 0) -> list[dict[str, Any]]:
        enrolled = [u for u in self.users if u.enrolled and not u.deleted
                    and not (onlyactive and u.suspended)]
        end = limitfrom + limitnumber if limitnumber else None
        window = enrolled[limitfrom:end]
        return [self._user_json(u) for u in window]

    def users_by_field_json(self, field_name: str, values: Sequence[str]) -> list[dict[str, Any]]:
        wanted = set(values)
        found = []
        for user in self.users:
            key = {"id": str(user.id), "username": user.username,
                   "email": user.email}.get(field_name)
            if key in wanted and not user.deleted:
                found.append({
                    "id": user.id, "username": user.username, "firstname": user.firstname,
                    "lastname": user.lastname, "fullname": user.fullname, "email": user.email,
                    "department": "", "firstaccess": 0, "lastaccess": user.lastcourseaccess,
                    "auth": "manual", "suspended": False, "confirmed": True,
                    "lang": user.lang or "en", "theme": "", "timezone": user.timezone,
                    "mailformat": 1, "trackforums": 0,
                    "profileimageurlsmall": self.siteurl + PICTURE,
                    "profileimageurl": self.siteurl + PICTURE.replace("f2", "f1"),
                })
                if user.role == "service":  # the token's own user also sees its preferences
                    found[-1]["preferences"] = [
                        {"name": "auth_manual_passwordupdatetime", "value": str(self.now)},
                        {"name": "_lastloaded", "value": self.now}]
        if self.profiles_hidden:  # seen on Moodle 4.5 without moodle/user:viewalldetails
            hidden = ("username", "department", "auth", "confirmed", "lang", "theme",
                      "mailformat", "trackforums")
            found = [{k: v for k, v in user.items() if k not in hidden} for user in found]
        return found

    def forums_json(self, courseids: Sequence[int] = ()) -> list[dict[str, Any]]:
        if courseids and self.course_id not in courseids:
            return []
        counts: dict[int, int] = {}
        for d in self.discussions:
            counts[d.forum_id] = counts.get(d.forum_id, 0) + 1
        return [{
            "id": f.id, "course": self.course_id, "type": f.type, "name": f.name,
            "intro": f.intro, "introformat": 1, "introfiles": [], "lang": "", "duedate": 0,
            "cutoffdate": 0, "assessed": 0, "assesstimestart": 0, "assesstimefinish": 0,
            "scale": 0, "grade_forum": 0, "grade_forum_notify": 0, "maxbytes": 0,
            "maxattachments": 1, "forcesubscribe": 0, "trackingtype": 1, "rsstype": 0,
            "rssarticles": 0, "timemodified": f.timemodified, "warnafter": 0, "blockafter": 0,
            "blockperiod": 0, "completiondiscussions": 0, "completionreplies": 0,
            "completionposts": 0, "cmid": f.cmid, "numdiscussions": counts.get(f.id, 0),
            "cancreatediscussions": True, "lockdiscussionafter": 0, "istracked": False,
        } for f in self.forums]

    def sorted_discussions(self, forum_id: int, sortorder: int = 1) -> list[CommunityDiscussion]:
        """Order a forum's discussions as Moodle does: pinned first, then the sort key, then id."""
        items = self.discussions_of(forum_id)
        keys = {
            1: lambda d: (-d.timemodified, -d.id), 2: lambda d: (d.timemodified, d.id),
            3: lambda d: (-d.created, -d.id), 4: lambda d: (d.created, d.id),
            5: lambda d: (-d.num_replies, -d.id), 6: lambda d: (d.num_replies, d.id),
        }
        by_key = keys[sortorder]
        return sorted(items, key=lambda d: (not d.pinned, by_key(d)))

    def discussions_json(self, forumid: int, *, sortorder: int = 1, page: int = -1,
                         perpage: int = 0) -> dict[str, Any]:
        ordered = self.sorted_discussions(forumid, sortorder)
        if perpage > 0:
            offset = max(page, 0) * perpage
            ordered = ordered[offset:offset + perpage]
        return {"discussions": [self._discussion_json(d) for d in ordered], "warnings": []}

    def _discussion_json(self, d: CommunityDiscussion) -> dict[str, Any]:
        first = self._posts[d.first_post_id]
        author = self._users.get(d.user_id)
        last = self._users.get(d.usermodified)
        picture = self.siteurl + PICTURE
        return {
            "id": d.first_post_id, "name": d.name, "groupid": d.group_id,
            "timemodified": d.timemodified, "usermodified": d.usermodified, "timestart": 0,
            "timeend": 0, "discussion": d.id, "parent": 0, "userid": d.user_id,
            "created": first.created, "modified": first.modified, "mailed": 0,
            "subject": first.subject, "message": first.message, "messageformat": 1,
            "messagetrust": 0, "attachment": False, "totalscore": 0, "mailnow": 0,
            "userfullname": _display_name(author), "usermodifiedfullname": _display_name(last),
            "userpictureurl": picture, "usermodifiedpictureurl": picture,
            "numreplies": d.num_replies, "numunread": 0, "pinned": d.pinned,
            "locked": d.locked, "starred": False, "canreply": True, "canlock": False,
            "canfavourite": True,
        }

    def discussion_posts_json(self, discussionid: int, *, sortby: str = "created",
                              sortdirection: str = "DESC") -> dict[str, Any] | None:
        discussion = self._discussions.get(discussionid)
        if discussion is None:
            return None
        key = {"id": lambda p: p.id, "created": lambda p: (p.created, p.id),
               "modified": lambda p: (p.modified, p.id)}[sortby]
        posts = sorted(self.posts_of(discussionid), key=key,
                       reverse=sortdirection.upper() == "DESC")
        return {
            "posts": [self._post_json(p, discussion) for p in posts],
            "forumid": discussion.forum_id, "courseid": self.course_id,
            "ratinginfo": {"contextid": 50 + discussion.forum_id, "component": "mod_forum",
                           "ratingarea": "post", "canviewall": None, "canviewany": None,
                           "scales": [], "ratings": []},
            "warnings": [],
        }

    def _post_json(self, p: CommunityPost, d: CommunityDiscussion) -> dict[str, Any]:
        site = self.siteurl
        author = self._users.get(p.user_id)
        author_deleted = author is None or author.deleted
        groups = [] if author is None else [
            {"id": gid, "name": self._groups[gid].name, "urls": {"image": None}}
            for gid in author.group_ids]
        subject = DELETED_SUBJECT if p.deleted else p.subject
        message = f"<p>{DELETED_MESSAGE}</p>" if p.deleted else p.message
        view = f"{site}/mod/forum/discuss.php?d={d.id}"
        return {
            "id": p.id, "subject": subject, "replysubject": f"Re: {d.name}",
            "message": message, "messageformat": 1,
            "author": {
                "id": p.user_id, "fullname": _display_name(author), "isdeleted": author_deleted,
                "groups": groups,
                "urls": {"profile": f"{site}/user/view.php?id={p.user_id}&course={self.course_id}",
                         "profileimage": site + PICTURE.replace("f2", "f1")},
            },
            "discussionid": d.id, "hasparent": p.parent_id is not None, "parentid": p.parent_id,
            "timecreated": p.created, "timemodified": p.modified, "unread": None,
            "isdeleted": p.deleted, "isprivatereply": p.private_reply_to is not None,
            "haswordcount": False, "wordcount": None, "charcount": None,
            "capabilities": {"view": True, "edit": False, "delete": False, "split": False,
                             "reply": p.private_reply_to is None, "selfenrol": False,
                             "export": False, "controlreadstatus": False,
                             "canreplyprivately": True},
            "urls": {"view": f"{view}#p{p.id}", "viewisolated": f"{view}&parent={p.id}",
                     "viewparent": f"{view}#p{p.parent_id}" if p.parent_id else None,
                     "edit": None, "delete": None, "split": None,
                     "reply": f"{site}/mod/forum/post.php?reply={p.id}#mformforum",
                     "export": None, "markasread": None, "markasunread": None, "discuss": view},
            "attachments": [], "messageinlinefiles": [], "tags": [],
            "html": {"rating": None, "taglist": None, "authorsubheading": None},
        }


def _display_name(user: CommunityUser | None) -> str:
    if user is None or user.deleted:
        return DELETED_USER
    return user.fullname


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text, quote=False)}</p>"


def generate_community(
    *, seed: int = 7, learners: int = 40, discussions: int = 60, posts: int = 300,
    groups: int | None = None, weeks: int = 10, now: int | None = None, course_id: int = 2,
    qanda_forum: bool = False, expert_share: float = 0.05, isolated_share: float = 0.1,
    lurker_share: float = 0.2, unanswered_share: float = 0.12, teacher_thread_share: float = 0.1,
    private_reply_share: float = 0.03, deleted_post_share: float = 0.005,
    edited_share: float = 0.05, deleted_users: int | None = None, siteurl: str = SITEURL,
) -> Community:
    """Generate a deterministic course community of the given size (see the module docstring)."""
    if learners < 2:
        raise ValueError("a community needs at least 2 learners")
    if discussions < 1 or posts < discussions:
        raise ValueError("need at least one discussion and at least one post per discussion")
    rng = random.Random(seed)
    if now is None:
        now = int(time.time())
    start = now - weeks * 7 * 86400

    # --- people --------------------------------------------------------------------------------
    n_groups = groups if groups is not None else max(2, min(learners // 10, 500))
    group_list = [CommunityGroup(id=i + 1, name=f"Gruppo {i + 1}") for i in range(n_groups)]
    users = [
        CommunityUser(3, "cverdi", "Carla", "Verdi", "carla.verdi@example.org", "teacher",
                      "editingteacher", lang="it", lastcourseaccess=now - 3600),
        CommunityUser(4, "bneri", "Bruno", "Neri", "bruno.neri@example.org", "teacher",
                      "teacher", lastcourseaccess=now - 7200),
    ]
    names = list(itertools.product(FIRST_NAMES, LAST_NAMES))
    rng.shuffle(names)
    learner_ids: list[int] = []
    for i in range(learners):
        first, last = names[i % len(names)]
        uid = 5 + i
        users.append(CommunityUser(
            uid, f"learner{i + 1:02d}", first, last, f"learner{i + 1}@example.org", "learner",
            "student", lang=rng.choice(("it", "it", "it", "en", "")),
            timezone=rng.choice(("99", "99", "Europe/Rome")),
            group_ids=[group_list[i % n_groups].id],
            lastcourseaccess=0 if rng.random() < 0.15 else now - rng.randrange(86400 * 14),
        ))
        learner_ids.append(uid)
    bot_id = 5 + learners
    users.append(CommunityUser(bot_id, "communitybot", "Community", "Bot", "bot@example.org",
                               "service", "teacher"))
    n_deleted = deleted_users if deleted_users is not None else max(1, learners // 100)
    deleted_ids = []
    for i in range(n_deleted):
        first, last = names[(learners + i) % len(names)]
        users.append(CommunityUser(bot_id + 1 + i, f"deleted{i + 1}", first, last,
                                   f"deleted{i + 1}@example.org", "learner", "student",
                                   enrolled=False, deleted=True))
        deleted_ids.append(bot_id + 1 + i)
    group_members: dict[int, list[int]] = {g.id: [] for g in group_list}
    for uid in learner_ids:
        group_members[group_list[(uid - 5) % n_groups].id].append(uid)

    shuffled = learner_ids[:]
    rng.shuffle(shuffled)
    n_experts = max(1, round(learners * expert_share))
    n_isolated = max(1, round(learners * isolated_share))
    n_lurkers = round(learners * lurker_share)
    experts = sorted(shuffled[:n_experts])
    isolated = sorted(shuffled[n_experts:n_experts + n_isolated])
    lurkers = sorted(shuffled[n_experts + n_isolated:n_experts + n_isolated + n_lurkers])
    topic_names = list(TOPICS)
    expert_topics = {uid: rng.sample(topic_names, 2) for uid in experts}
    silent = set(lurkers) | set(isolated)
    posters = [uid for uid in learner_ids if uid not in silent]
    # Zipf-like activity: a few learners post a lot, most a little (cumulative, for speed).
    activity = [1.0 / (rank + 1) ** 0.8 for rank in range(len(posters))]
    rng.shuffle(activity)
    activity = list(itertools.accumulate(activity))
    # Lurkers never post, not even in their group's project.
    lurker_set = set(lurkers)
    members = {gid: [u for u in uids if u not in lurker_set] or uids[:1]
               for gid, uids in group_members.items()}
    experts_by_topic = {t: [u for u in experts if t in expert_topics[u]] for t in topic_names}
    teachers = [3, 4]

    # --- forums ---------------------------------------------------------------------------------
    forum_specs = [("news", "Annunci", 0.05, "announcement"),
                   ("general", "Presentiamoci", 0.2, "introduction"),
                   ("general", "Domande e risposte", 0.55, "question"),
                   ("general", "Progetti di gruppo", 0.2, "group_work")]
    if qanda_forum:
        forum_specs.append(("qanda", "Chiedi al tutor", 0.1, "question"))
    forum_list = [CommunityForum(id=i + 1, cmid=i + 1, type=t, name=n, intro=f"Test forum {i + 1}",
                                 timemodified=start) for i, (t, n, _, _) in enumerate(forum_specs)]
    forum_of = rng.choices(range(len(forum_specs)), weights=[s[2] for s in forum_specs],
                           k=discussions)
    for i in range(min(discussions, len(forum_specs))):
        forum_of[i] = i  # every forum has at least one discussion

    # --- discussions and their sizes -------------------------------------------------------------
    drafts: list[dict[str, Any]] = []
    for n in range(discussions):
        spec = forum_specs[forum_of[n]]
        kind = spec[3]
        topic = topic_names[n % len(topic_names)]
        group_id = -1
        if kind == "question" and rng.random() < teacher_thread_share:
            kind = "teacher_thread"
        if kind in ("announcement", "teacher_thread"):
            author = rng.choice(teachers) if kind == "teacher_thread" else 3
        elif kind == "group_work":
            group_id = rng.choice(group_list).id
            author = rng.choice(members[group_id])
        else:
            author = rng.choices(posters, cum_weights=activity)[0] if posters else learner_ids[0]
        created = rng.randrange(start, now - 86400)
        unanswered = kind == "announcement" or (
            kind == "question" and rng.random() < unanswered_share)
        drafts.append({"kind": kind, "topic": topic, "author": author, "created": created,
                       "group": group_id, "forum_id": forum_of[n] + 1, "unanswered": unanswered,
                       "pinned": kind in ("announcement", "teacher_thread") and rng.random() < 0.4})
    # Isolated learners ask (at most a third of the questions) and nobody ever answers them.
    questions = [d for d in drafts if d["kind"] == "question"]
    isolated = isolated[:len(questions) // 3]
    for asker, draft in zip(isolated, questions[::3], strict=False):
        draft["author"], draft["unanswered"] = asker, True
    isolated_set = set(isolated)
    for draft in drafts:
        draft["unanswered"] = draft["unanswered"] or draft["author"] in isolated_set
    replyable = [i for i, d in enumerate(drafts) if not d["unanswered"]]
    replies_left = posts - discussions
    reply_counts = [0] * discussions
    if replyable and replies_left:
        weights = [rng.paretovariate(1.6) for _ in replyable]
        for index in rng.choices(replyable, weights=weights, k=replies_left):
            reply_counts[index] += 1
    elif replies_left:
        raise ValueError("every discussion is unanswered: lower the unanswered shares")

    # --- posts -------------------------------------------------------------------------------
    raw_posts: list[dict[str, Any]] = []
    for n, draft in enumerate(drafts):
        raw_posts.extend(_thread(rng, n, draft, reply_counts[n], posters, activity,
                                 experts_by_topic, isolated_set, members, deleted_ids, now,
                                 private_reply_share, deleted_post_share, edited_share))

    # Moodle numbers rows in creation order: renumber posts and discussions the same way.
    raw_posts.sort(key=lambda p: (p["created"], p["thread"], p["local"]))
    post_id = {(p["thread"], p["local"]): i + 1 for i, p in enumerate(raw_posts)}
    first_posts = [p for p in raw_posts if p["local"] == 0]
    discussion_id = {p["thread"]: i + 1 for i, p in enumerate(first_posts)}
    post_list: list[CommunityPost] = []
    by_thread: dict[int, list[int]] = {}
    for p in raw_posts:
        pid = post_id[(p["thread"], p["local"])]
        parent = post_id[(p["thread"], p["parent"])] if p["parent"] is not None else None
        post_list.append(CommunityPost(
            id=pid, discussion_id=discussion_id[p["thread"]], parent_id=parent,
            user_id=p["author"], subject=p["subject"], message=p["message"],
            created=p["created"], modified=p["modified"], private_reply_to=p["private_to"],
            deleted=p["deleted"], topic=p["topic"]))
        by_thread.setdefault(p["thread"], []).append(pid)
    posts_by_id = {p.id: p for p in post_list}
    discussion_list = []
    for thread in sorted(discussion_id, key=discussion_id.__getitem__):
        draft = drafts[thread]
        ids = by_thread[thread]
        last = max((posts_by_id[i] for i in ids), key=lambda p: (p.created, p.id))
        first = posts_by_id[ids[0]]
        discussion_list.append(CommunityDiscussion(
            id=discussion_id[thread], first_post_id=ids[0], forum_id=draft["forum_id"],
            name=first.subject, group_id=draft["group"], user_id=first.user_id,
            created=first.created, timemodified=last.created, usermodified=last.user_id,
            pinned=draft["pinned"], locked=False, topic=draft["topic"], kind=draft["kind"],
            post_ids=ids))

    return Community(
        course_id=course_id, course_fullname="Didattica online: comunità di pratica",
        course_shortname="CDP101", now=now, users=users, groups=group_list, forums=forum_list,
        discussions=discussion_list, posts=post_list, experts=experts,
        expert_topics=expert_topics, isolated=isolated, lurkers=lurkers,
        unanswered=[d.id for d in discussion_list
                    if d.kind == "question" and d.num_replies == 0],
        teacher_threads=[d.id for d in discussion_list if d.kind == "teacher_thread"],
        siteurl=siteurl,
    )


def _thread(rng: random.Random, thread: int, draft: dict[str, Any], replies: int,
            posters: list[int], activity: list[float], experts_by_topic: dict[str, list[int]],
            isolated: set[int], members: dict[int, list[int]], deleted_ids: list[int],
            now: int, private_share: float, deleted_share: float,
            edited_share: float) -> list[dict[str, Any]]:
    """Write one discussion: its first post and `replies` replies as a tree."""
    topic, kind, asker = draft["topic"], draft["kind"], draft["author"]
    words = TOPICS[topic]
    counter = thread + 1
    if kind == "announcement":
        subject = f"Avviso: {topic} #{counter}"
        text = f"Questa settimana lavoriamo su {topic}: leggete i materiali su {words[0]}."
    elif kind == "introduction":
        subject = f"Ciao a tutti #{counter}"
        text = (f"Mi presento: insegno da qualche anno e mi interessa {topic}, "
                f"soprattutto {words[1]}.")
    elif kind == "teacher_thread":
        subject = rng.choice(TEACHER_PROMPTS).format(topic=topic) + f" #{counter}"
        text = f"Raccontateci come va con {topic}: cosa funziona e cosa no?"
    elif kind == "group_work":
        subject = f"Progetto su {topic} #{counter}"
        text = f"Organizziamo il progetto su {topic}: chi si occupa di {words[2]}?"
    else:
        subject = f"Domanda su {topic} #{counter}"
        text = rng.choice(QUESTION_OPENINGS).format(topic=topic) + f" Penso a {words[0]}."
    created = draft["created"]
    posts = [_raw(thread, 0, None, asker, subject, text, created, topic)]
    # Nobody answers an isolated learner's post, nor a private reply.
    candidates = [] if asker in isolated else [posts[0]]
    reply_subject = f"Re: {topic}"
    for local in range(1, replies + 1):
        if kind == "teacher_thread" or not candidates:
            parent = posts[0]
        elif rng.random() < 0.55:
            parent = candidates[0]
        else:
            parent = rng.choice(candidates[-4:])
        author = _reply_author(rng, kind, draft, parent, posters, activity, experts_by_topic,
                               members, deleted_ids)
        at = min(parent["created"] + 300 + int(rng.expovariate(1 / 28800)), now - 60)
        at = max(at, parent["created"] + 1)
        if author == asker and kind == "question":
            text = rng.choice(THANKS)
        else:
            w1, w2 = rng.sample(words, 2)
            text = rng.choice(ANSWER_OPENINGS).format(topic=topic, w1=w1, w2=w2)
        post = _raw(thread, local, parent["local"], author, reply_subject, text, at, topic)
        if author in (3, 4) and parent["author"] not in (3, 4) and rng.random() < private_share:
            post["private_to"] = parent["author"]
        if rng.random() < deleted_share:
            post["deleted"] = True
        posts.append(post)
        if post["author"] not in isolated and post["private_to"] is None:
            candidates.append(post)
    for post in posts:
        if rng.random() < edited_share:
            post["modified"] = min(post["created"] + 60 + rng.randrange(7200), now)
            post["message"] = post["message"].replace("</p>", " (modificato)</p>")
    return posts


def _raw(thread: int, local: int, parent: int | None, author: int, subject: str, text: str,
         created: int, topic: str) -> dict[str, Any]:
    return {"thread": thread, "local": local, "parent": parent, "author": author,
            "subject": subject, "message": _paragraph(text), "created": created,
            "modified": created, "private_to": None, "deleted": False, "topic": topic}


def _reply_author(rng: random.Random, kind: str, draft: dict[str, Any], parent: dict[str, Any],
                  posters: list[int], activity: list[float],
                  experts_by_topic: dict[str, list[int]], members: dict[int, list[int]],
                  deleted_ids: list[int]) -> int:
    """Choose who replies: experts on their topics, teachers, the asker, peers by activity."""
    if kind == "teacher_thread":
        return rng.choices(posters, cum_weights=activity)[0] if posters else draft["author"]
    if kind == "group_work":
        pool = members[draft["group"]]
        return rng.choice(pool)
    roll = rng.random()
    experts = experts_by_topic.get(draft["topic"], [])
    if roll < 0.4 and experts:
        author = rng.choice(experts)
    elif roll < 0.52:
        author = rng.choice((3, 3, 4))
    elif roll < 0.64:
        author = draft["author"]
    elif roll < 0.66 and deleted_ids:
        author = rng.choice(deleted_ids)
    else:
        author = rng.choices(posters, cum_weights=activity)[0] if posters else draft["author"]
    if author == parent["author"]:
        author = draft["author"] if parent["author"] != draft["author"] else 3
    return author

