"""Never aggressive: caps, quiet hours, one prompt per discussion per person, opt-outs.

A `Budget` is built from the prompt history at evaluation time; rules ask it whether a prompt
may go and take from it when it does, so two rules in one run share the same limits.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .facts import (
    AMBASSADOR_INVITE,
    ASKING_KINDS,
    INACTIVE_STATUSES,
    RULE_OF_KIND,
    TEACHER,
    THANK_YOU,
    CourseFacts,
    History,
    RuleSettings,
)

#: Kinds that do not count against the weekly and daily caps: a thank-you, a teacher's alert,
#: an invitation the teacher chose to send. They still respect opt-outs and quiet hours.
UNCAPPED_KINDS = frozenset({THANK_YOU, AMBASSADOR_INVITE, "route_teacher"})

# Limits, as recorded on skipped prompts (and shown in the teacher's log).
OPTED_OUT = "opted_out"
RULE_STOPPED = "rule_stopped"
SNOOZED = "snoozed"
SAME_DISCUSSION = "same_discussion"
WEEKLY_CAP = "weekly_cap"
AMBASSADOR_CAP = "ambassador_cap"
DAILY_CAP = "course_daily_cap"
NOT_REACHABLE = "not_reachable"

WEEK = timedelta(days=7)
DAY = timedelta(days=1)


def zone(name: str | None, fallback: str | None = None) -> ZoneInfo:
    """Return a person's zone, else the course's, else UTC (Moodle's '99' means the server's)."""
    for candidate in (name, fallback):
        if candidate and candidate != "99":
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def in_quiet_hours(moment: datetime, tz: ZoneInfo, start_hour: int, end_hour: int) -> bool:
    """Tell whether `moment` falls in the quiet window [start, end) of local time."""
    if start_hour == end_hour:
        return False
    hour = moment.astimezone(tz).hour
    if start_hour < end_hour:
        return start_hour <= hour < end_hour
    return hour >= start_hour or hour < end_hour


def next_send_time(moment: datetime, tz: ZoneInfo, start_hour: int, end_hour: int) -> datetime:
    """Return `moment` if it is outside quiet hours, else when the quiet hours end (deferred)."""
    if not in_quiet_hours(moment, tz, start_hour, end_hour):
        return moment
    local = moment.astimezone(tz)
    end = datetime.combine(local.date(), time(end_hour), tzinfo=tz)
    if end <= local:
        end = datetime.combine(local.date() + DAY, time(end_hour), tzinfo=tz)
    # Across a DST change the wall-clock hour may not exist; normalise through UTC.
    return end.astimezone(ZoneInfo("UTC"))


class Budget:
    """The prompts still allowed in this evaluation, given the history and the settings."""

    def __init__(self, facts: CourseFacts, settings: RuleSettings, history: History,
                 now: datetime) -> None:
        self.facts = facts
        self.settings = settings
        self.history = history
        self.now = now
        self._weekly: Counter[int] = Counter()
        self._course_today = 0
        self._asked_about: set[tuple[int, int]] = set()
        for prompt in history.prompts:
            if prompt.discussion_id is not None and prompt.kind != THANK_YOU:
                # Dropped or failed prompts still count here: nobody is asked twice.
                self._asked_about.add((prompt.recipient_id, prompt.discussion_id))
            if prompt.status in INACTIVE_STATUSES or prompt.kind in UNCAPPED_KINDS:
                continue
            if prompt.created_at > now - WEEK:
                self._weekly[prompt.recipient_id] += 1
            if prompt.created_at > now - DAY:
                self._course_today += 1

    @property
    def course_full(self) -> bool:
        """Tell whether the course's daily cap is reached (capped prompts cannot go today)."""
        return self._course_today >= self.settings.course_daily_cap

    def weekly_cap(self, person_id: int) -> int:
        if person_id in self.history.active_ambassadors:
            return self.settings.ambassador_weekly_cap
        return self.settings.learner_weekly_cap

    def remaining(self, person_id: int) -> int:
        return max(0, self.weekly_cap(person_id) - self._weekly[person_id])

    def refusal(self, person_id: int, kind: str, discussion_id: int | None = None) -> str | None:
        """Return the limit that forbids this prompt, or None if it may go."""
        member = self.facts.members.get(person_id)
        if member is None or not member.active:
            return NOT_REACHABLE
        is_teacher = member.role == TEACHER
        preference = self.history.preferences.get(person_id)
        if preference is not None and not is_teacher:
            if preference.opted_out:
                return OPTED_OUT
            if RULE_OF_KIND[kind] in preference.stopped_rules:
                return RULE_STOPPED
            if (preference.snoozed_until is not None and preference.snoozed_until > self.now
                    and kind != THANK_YOU):
                return SNOOZED
        if (discussion_id is not None and kind != THANK_YOU
                and (person_id, discussion_id) in self._asked_about):
            return SAME_DISCUSSION
        if kind in UNCAPPED_KINDS or is_teacher:
            return None
        if self._weekly[person_id] >= self.weekly_cap(person_id):
            ambassador = person_id in self.history.active_ambassadors and kind in ASKING_KINDS
            return AMBASSADOR_CAP if ambassador else WEEKLY_CAP
        if self._course_today >= self.settings.course_daily_cap:
            return DAILY_CAP
        return None

    def take(self, person_id: int, kind: str, discussion_id: int | None = None) -> datetime:
        """Count a prompt against the limits; return when it may be delivered."""
        if discussion_id is not None and kind != THANK_YOU:
            self._asked_about.add((person_id, discussion_id))
        member = self.facts.members[person_id]
        if kind not in UNCAPPED_KINDS and member.role != TEACHER:
            self._weekly[person_id] += 1
            self._course_today += 1
        return self.deliver_at(person_id)

    def deliver_at(self, person_id: int) -> datetime:
        """Return now, or the end of the person's quiet hours in their own time zone."""
        member = self.facts.members.get(person_id)
        tz = zone(member.timezone if member else None, self.settings.timezone)
        return next_send_time(self.now, tz, self.settings.quiet_start_hour,
                              self.settings.quiet_end_hour)

    def ambassadors_by_load(self, exclude: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Return active ambassadors with room in their queue, least loaded first."""
        available = [a for a in self.history.active_ambassadors
                     if a not in exclude and self.remaining(a) > 0]
        return sorted(available, key=lambda a: (self._weekly[a], a))
