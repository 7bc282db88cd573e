"""The mentoring rules: a pure function of (course facts, settings, history, now) → decisions.

Each rule fires once per subject (a discussion, a learner, a prompt) whatever becomes of the
prompt, so a dropped or failed prompt is not proposed again at the next evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cached_property

from .facts import (
    AMBASSADOR,
    ASKING_KINDS,
    BRIDGE_BUDDY,
    BRIDGE_LEARNER,
    BRIDGING,
    RECOGNITION,
    ROUTE_PEER,
    ROUTE_TEACHER,
    TEACHER,
    THANK_YOU,
    UNANSWERED,
    WELCOME,
    WELCOME_AMBASSADOR,
    CourseFacts,
    Decision,
    Evaluation,
    History,
    RuleSettings,
    Skip,
)
from .policy import DAILY_CAP, Budget


def evaluate(facts: CourseFacts, settings: RuleSettings, history: History,
             now: datetime) -> Evaluation:
    """Decide who to prompt in a course now, within the never-aggressive limits."""
    run = _Run(facts, settings, history, now)
    # Thank-yous first: they are uncapped and about what already happened.
    if settings.enabled(RECOGNITION):
        run.recognise_first_answers()
    if settings.enabled(WELCOME):
        run.welcome_first_posts()
    if settings.enabled(UNANSWERED):
        run.route_unanswered_questions()
    if settings.enabled(BRIDGING):
        run.bridge_isolated_learners()
    suggestions: tuple[tuple[int, float], ...] = ()
    if settings.enabled(AMBASSADOR):
        suggestions = run.suggest_ambassadors()
    return Evaluation(tuple(run.decisions), tuple(run.skipped), suggestions)


class _Run:
    def __init__(self, facts: CourseFacts, settings: RuleSettings, history: History,
                 now: datetime) -> None:
        self.facts = facts
        self.settings = settings
        self.history = history
        self.now = now
        self.budget = Budget(facts, settings, history, now)
        self.decisions: list[Decision] = []
        self.skipped: list[Skip] = []

    # --- helpers ----------------------------------------------------------------------------

    def _past(self, rule: str | None = None, kind: str | None = None) -> Iterable:
        return (p for p in self.history.prompts
                if (rule is None or p.rule == rule) and (kind is None or p.kind == kind))

    def _try(self, rule: str, kind: str, recipient_id: int, reason_code: str, reason: dict,
             *, discussion_id: int | None = None, about_person_id: int | None = None) -> bool:
        limit = self.budget.refusal(recipient_id, kind, discussion_id)
        if limit is not None:
            self.skipped.append(Skip(rule, kind, recipient_id, limit, discussion_id))
            return False
        self._decide(rule, kind, recipient_id, reason_code, reason,
                     discussion_id=discussion_id, about_person_id=about_person_id)
        return True

    def _decide(self, rule: str, kind: str, recipient_id: int, reason_code: str, reason: dict,
                *, discussion_id: int | None = None, about_person_id: int | None = None) -> None:
        deliver_at = self.budget.take(recipient_id, kind, discussion_id)
        self.decisions.append(Decision(rule, kind, recipient_id, reason_code, reason, deliver_at,
                                       discussion_id, about_person_id))

    def _hours(self, since: datetime) -> int:
        return int((self.now - since).total_seconds() // 3600)

    def _peers_for(self, discussion_id: int, exclude: set[int]) -> list[int]:
        """Return learners ranked for a discussion, minus `exclude` and non-learners."""
        ranked = self.facts.ranked_peers.get(discussion_id, ())
        return [p for p in ranked if p not in exclude and self.facts.is_learner(p)]

    # --- rule 1: unanswered question routing --------------------------------------------------

    def route_unanswered_questions(self) -> None:
        rule = self.settings.rule(UNANSWERED)
        after = timedelta(hours=rule["hours"])
        escalate_after = timedelta(hours=rule["teacher_hours"])
        oldest = self.now - timedelta(days=rule["max_age_days"])
        routed = {p.discussion_id for p in self._past(UNANSWERED, ROUTE_PEER)}
        escalated = {p.discussion_id for p in self._past(UNANSWERED, ROUTE_TEACHER)}
        teachers = sorted(m.id for m in self.facts.members.values()
                          if m.role == TEACHER and m.active)
        for discussion in sorted(self.facts.discussions.values(), key=lambda d: d.created_at):
            if (not discussion.is_question or discussion.locked or discussion.created_at < oldest
                    or not self.facts.is_learner(discussion.author_id)
                    or self.facts.first_answer(discussion.id) is not None):
                continue
            age = self.now - discussion.created_at
            reason = {"hours": self._hours(discussion.created_at)}
            if age >= after and discussion.id not in routed:
                self._route(discussion.id, discussion.author_id, rule["peers"], reason)
            if age >= escalate_after and discussion.id not in escalated:
                for teacher in teachers:
                    self._try(UNANSWERED, ROUTE_TEACHER, teacher, "unanswered_escalated", reason,
                              discussion_id=discussion.id, about_person_id=discussion.author_id)

    def _route(self, discussion_id: int, author_id: int | None, k: int, reason: dict) -> None:
        if self.budget.course_full:  # nobody can be asked today: say so once, not per peer
            self.skipped.append(Skip(UNANSWERED, ROUTE_PEER, None, DAILY_CAP, discussion_id))
            return
        exclude = {author_id} if author_id is not None else set()
        chosen = 0
        # One of the k goes to an ambassador with room in their queue, if one is ranked at all.
        ranked = self._peers_for(discussion_id, exclude)
        ambassadors = [p for p in ranked if p in self.history.active_ambassadors]
        ambassadors += [a for a in self.budget.ambassadors_by_load(exclude) if a not in ranked]
        for candidate in ambassadors:
            if self._try(UNANSWERED, ROUTE_PEER, candidate, "unanswered_ambassador", reason,
                         discussion_id=discussion_id, about_person_id=author_id):
                exclude.add(candidate)
                chosen += 1
                break
        for candidate in self._peers_for(discussion_id, exclude):
            if chosen >= k:
                break
            if self._try(UNANSWERED, ROUTE_PEER, candidate, "unanswered_peer", reason,
                         discussion_id=discussion_id, about_person_id=author_id):
                chosen += 1

    # --- rule 2: isolated learner bridging ----------------------------------------------------

    def bridge_isolated_learners(self) -> None:
        rule = self.settings.rule(BRIDGING)
        silent = timedelta(days=rule["silent_days"])
        grace = timedelta(hours=rule["grace_hours"])
        cooldown = timedelta(days=rule["cooldown_days"])
        # The learner is the recipient of their own half of the pair.
        recently_bridged = {p.recipient_id for p in self._past(BRIDGING, BRIDGE_LEARNER)
                            if p.created_at > self.now - cooldown}
        for member in sorted(self.facts.members.values(), key=lambda m: m.id):
            if (not member.active or not self.facts.is_learner(member.id)
                    or member.id in self.history.active_ambassadors
                    or member.id in recently_bridged):
                continue
            posts = self.facts.posts_by_author.get(member.id, [])
            if posts:
                unreplied = all(not self.facts.replies_to(p) for p in posts)
                if unreplied and self.now - posts[0].created_at >= grace:
                    self._bridge(member.id, "never_replied", posts[-1].discussion_id,
                                 {"posts": len(posts)})
                elif self.now - posts[-1].created_at >= silent:
                    self._bridge(member.id, "silent", posts[-1].discussion_id,
                                 {"days": (self.now - posts[-1].created_at).days})
            elif member.first_seen_at and self.now - member.first_seen_at >= silent:
                self._bridge(member.id, "never_posted", self._liveliest,
                             {"days": (self.now - member.first_seen_at).days})

    @cached_property
    def _liveliest(self) -> int | None:
        """Return the question discussion with the most posts in the last two weeks."""
        since = self.now - timedelta(days=14)
        best = max(((sum(1 for p in posts if p.created_at >= since), d) for d, posts
                    in self.facts.posts_by_discussion.items()
                    if d in self.facts.discussions and self.facts.discussions[d].is_question),
                   default=None)
        return best[1] if best and best[0] else None

    def _bridge(self, learner_id: int, reason_code: str, discussion_id: int | None,
                reason: dict) -> None:
        if discussion_id is None:
            self.skipped.append(Skip(BRIDGING, BRIDGE_LEARNER, learner_id, "no_discussion"))
            return
        limit = self.budget.refusal(learner_id, BRIDGE_LEARNER, discussion_id)
        if limit is not None:
            self.skipped.append(Skip(BRIDGING, BRIDGE_LEARNER, learner_id, limit, discussion_id))
            return
        exclude = {learner_id}
        ranked = self._peers_for(discussion_id, exclude)
        # An ambassador is the better buddy when one has room; otherwise the best-ranked peer.
        candidates = self.budget.ambassadors_by_load(exclude) + ranked
        for buddy in candidates:
            limit = self.budget.refusal(buddy, BRIDGE_BUDDY, discussion_id)
            if limit is not None:
                self.skipped.append(Skip(BRIDGING, BRIDGE_BUDDY, buddy, limit, discussion_id))
                continue
            reason = {**reason, "buddy_ambassador": buddy in self.history.active_ambassadors}
            self._decide(BRIDGING, BRIDGE_BUDDY, buddy, reason_code, reason,
                         discussion_id=discussion_id, about_person_id=learner_id)
            self._decide(BRIDGING, BRIDGE_LEARNER, learner_id, reason_code, reason,
                         discussion_id=discussion_id, about_person_id=buddy)
            return
        self.skipped.append(Skip(BRIDGING, BRIDGE_BUDDY, None, "no_buddy", discussion_id))

    # --- rule 3: welcome a first post -----------------------------------------------------------

    def welcome_first_posts(self) -> None:
        rule = self.settings.rule(WELCOME)
        delay = timedelta(hours=rule["delay_hours"])
        window = timedelta(hours=rule["window_hours"])
        welcomed = {p.about_person_id for p in self._past(WELCOME, WELCOME_AMBASSADOR)}
        for author_id, posts in sorted(self.facts.posts_by_author.items()):
            first = posts[0]
            age = self.now - first.created_at
            if (author_id in welcomed or not self.facts.is_learner(author_id)
                    or not delay <= age <= window or self.facts.replies_to(first)):
                continue
            ambassadors = self.budget.ambassadors_by_load({author_id})
            if not ambassadors:
                self.skipped.append(Skip(WELCOME, WELCOME_AMBASSADOR, None, "no_ambassador",
                                         first.discussion_id))
                continue
            for ambassador in ambassadors:
                if self._try(WELCOME, WELCOME_AMBASSADOR, ambassador, "first_post",
                             {"hours": self._hours(first.created_at)},
                             discussion_id=first.discussion_id, about_person_id=author_id):
                    break

    # --- rule 5: recognition ------------------------------------------------------------------

    def recognise_first_answers(self) -> None:
        thanked = {(p.recipient_id, p.discussion_id) for p in self._past(RECOGNITION, THANK_YOU)}
        for prompt in sorted(self.history.prompts, key=lambda p: p.id):
            if (prompt.kind not in ASKING_KINDS or prompt.status != "sent"
                    or prompt.sent_at is None or prompt.discussion_id is None
                    or prompt.discussion_id not in self.facts.discussions
                    or (prompt.recipient_id, prompt.discussion_id) in thanked):
                continue
            first = self.facts.first_answer(prompt.discussion_id)
            if (first is None or first.author_id != prompt.recipient_id
                    or first.created_at < prompt.sent_at):
                continue
            thanked.add((prompt.recipient_id, prompt.discussion_id))
            self._try(RECOGNITION, THANK_YOU, prompt.recipient_id, "first_answer",
                      {"prompt": prompt.id,
                       "minutes": int((first.created_at - prompt.sent_at).total_seconds() // 60)},
                      discussion_id=prompt.discussion_id,
                      about_person_id=self.facts.discussions[prompt.discussion_id].author_id)

    # --- rule 4: ambassador candidates (the teacher approves, the learner accepts) -----------

    def suggest_ambassadors(self) -> tuple[tuple[int, float], ...]:
        rule = self.settings.rule(AMBASSADOR)
        known = set(self.history.ambassadors)
        fresh = [(person, score) for person, score in self.facts.ambassador_candidates
                 if person not in known and self.facts.is_learner(person)
                 and self.facts.members[person].active]
        return tuple(fresh[: int(rule["candidates"])])
