"""Mentoring operations: evaluate a course's rules, review prompts, and what learners choose.

Plain `verb_noun(session, ...)` functions: they flush, the caller commits once.
The pane calls: `opt_out`, `opt_in`, `snooze_prompt`, `stop_prompts_of_rule`,
`accept_ambassador_invitation`, `decline_ambassador_invitation`, `step_down_as_ambassador`,
and reads `mentoring_choices`, `prompts_for_learner`, `ambassador_status`,
`ambassadors_of_course`, `recognitions_for_learner`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import BadRequest, Conflict, NotFound
from ..models.base import utcnow
from ..models.mentoring import (
    REVIEW_FIRST,
    Ambassador,
    MentoringPreference,
    MentoringPrompt,
)
from . import activity, outbox

# The pane and the dashboard reach ambassador operations through this module too.
from .ambassadors import (  # noqa: F401
    NoInvitation,
    accept_ambassador_invitation,
    ambassador_status,
    ambassadors_of_course,
    decline_ambassador_invitation,
    dismiss_ambassador_candidate,
    invite_ambassador,
    step_down_as_ambassador,
)
from .facts import (
    RULES,
    THANK_YOU,
    CourseFacts,
    Evaluation,
    RuleSettings,
)
from .rules import evaluate
from .templates import TEMPLATE_MAX_CHARS

#: How long "not now" keeps new prompts away from a learner.
SNOOZE = timedelta(days=3)


class PromptNotFound(NotFound):
    code = "prompt_not_found"
    message = _l("This prompt does not exist, or is not yours.")


class PromptAlreadyDecided(Conflict):
    code = "prompt_already_decided"
    message = _l("This prompt was already approved, dropped or sent.")


# --- evaluation --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluationSummary:
    course_id: int
    queued: int
    for_review: int
    skipped: int
    suggested: int
    prompt_ids: tuple[int, ...]


def evaluate_course_rules(session: Session, course_id: int, *, now: datetime | None = None,
                          facts: CourseFacts | None = None) -> EvaluationSummary:
    """Run the course's rules and record their decisions (and outbox rows) in this transaction."""
    now = now or utcnow()
    settings = activity.rule_settings(session, course_id)
    facts = facts or activity.load_facts(session, course_id, now)
    evaluation = evaluate(facts, settings, activity.load_history(session, course_id), now)
    return record_evaluation(session, course_id, evaluation, settings, now)


def record_evaluation(session: Session, course_id: int, evaluation: Evaluation,
                      settings: RuleSettings, now: datetime) -> EvaluationSummary:
    """Store decisions as prompts: queued with their outbox row, or waiting for the teacher."""
    review = settings.mode == REVIEW_FIRST
    ids, queued, for_review = [], 0, 0
    for decision in evaluation.decisions:
        prompt = MentoringPrompt(
            course_id=course_id, rule=decision.rule, kind=decision.kind,
            recipient_id=decision.recipient_id, about_person_id=decision.about_person_id,
            discussion_id=decision.discussion_id, reason_code=decision.reason_code,
            reason=dict(decision.reason), created_at=now,
            lang=outbox.recipient_lang(session, decision.recipient_id, settings),
            status="review" if review else "queued")
        session.add(prompt)
        session.flush()
        # The text as the teacher (review) and the learner's export read it.
        prompt.body = outbox.draft_body(session, prompt)
        if review:
            for_review += 1
        else:
            outbox.enqueue(session, prompt, settings, decision.deliver_at)
            queued += 1
        ids.append(prompt.id)
    suggested = 0
    for person_id, score in evaluation.ambassador_suggestions:
        session.add(Ambassador(course_id=course_id, person_id=person_id, status="suggested",
                               score=score, suggested_at=now))
        suggested += 1
    session.flush()
    return EvaluationSummary(course_id, queued, for_review, len(evaluation.skipped), suggested,
                             tuple(ids))


# --- the teacher's review queue ----------------------------------------------------------------

def review_queue(session: Session, course_id: int) -> list[MentoringPrompt]:
    return list(session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.status == "review")
        .order_by(MentoringPrompt.created_at, MentoringPrompt.id)))


def _prompt(session: Session, course_id: int, prompt_id: int) -> MentoringPrompt:
    prompt = session.get(MentoringPrompt, prompt_id)
    if prompt is None or prompt.course_id != course_id:
        raise PromptNotFound(detail=f"prompt {prompt_id} not in course {course_id}")
    return prompt


def approve_prompt(session: Session, course_id: int, prompt_id: int, teacher_id: int, *,
                   body: str | None = None, now: datetime | None = None) -> MentoringPrompt:
    """Approve a prompt waiting for review, with the teacher's edited text if given."""
    now = now or utcnow()
    prompt = _prompt(session, course_id, prompt_id)
    if prompt.status != "review":
        raise PromptAlreadyDecided(detail=f"prompt {prompt_id} is {prompt.status}")
    if body is not None:
        body = body.replace("\r\n", "\n").strip()
        if not body or len(body) > TEMPLATE_MAX_CHARS:
            raise BadRequest(_l("The message must have between 1 and %(max)s characters.",
                                max=TEMPLATE_MAX_CHARS), detail="edited body length")
        if body != prompt.body:
            prompt.body, prompt.edited = body, True
    prompt.reviewed_at, prompt.reviewed_by_id = now, teacher_id
    settings = activity.rule_settings(session, course_id)
    outbox.enqueue(session, prompt, settings,
                   outbox.deliver_time(session, prompt.recipient_id, settings, now))
    session.flush()
    return prompt


def drop_prompt(session: Session, course_id: int, prompt_id: int, teacher_id: int, *,
                now: datetime | None = None) -> MentoringPrompt:
    """Drop a prompt waiting for review: it is never sent nor proposed again."""
    prompt = _prompt(session, course_id, prompt_id)
    if prompt.status != "review":
        raise PromptAlreadyDecided(detail=f"prompt {prompt_id} is {prompt.status}")
    prompt.status = "dropped"
    prompt.reviewed_at, prompt.reviewed_by_id = now or utcnow(), teacher_id
    session.flush()
    return prompt


# --- a learner's choices (the pane) -------------------------------------------------------------

def _preference(session: Session, course_id: int, person_id: int) -> MentoringPreference:
    preference = session.scalar(select(MentoringPreference).where(
        MentoringPreference.course_id == course_id, MentoringPreference.person_id == person_id))
    if preference is None:
        preference = MentoringPreference(course_id=course_id, person_id=person_id,
                                         stopped_rules=[])
        session.add(preference)
    return preference


def opt_out(session: Session, course_id: int, person_id: int) -> MentoringPreference:
    """Stop every prompt to this learner from the next evaluation; withdraw unsent ones."""
    preference = _preference(session, course_id, person_id)
    preference.opted_out = True
    session.flush()
    outbox.withdraw_pending(session, course_id, person_id)
    return preference


def opt_in(session: Session, course_id: int, person_id: int) -> MentoringPreference:
    preference = _preference(session, course_id, person_id)
    preference.opted_out = False
    session.flush()
    return preference


def stop_prompts_of_rule(session: Session, course_id: int, person_id: int,
                         rule: str) -> MentoringPreference:
    """"Stop these": no more prompts of one rule to this learner."""
    if rule not in RULES:
        raise BadRequest(detail=f"unknown rule {rule!r}")
    preference = _preference(session, course_id, person_id)
    preference.stopped_rules = sorted({*(preference.stopped_rules or ()), rule})
    session.flush()
    outbox.withdraw_pending(session, course_id, person_id, rule=rule)
    return preference


def resume_prompts_of_rule(session: Session, course_id: int, person_id: int,
                           rule: str) -> MentoringPreference:
    preference = _preference(session, course_id, person_id)
    preference.stopped_rules = [r for r in preference.stopped_rules or () if r != rule]
    session.flush()
    return preference


def snooze_prompt(session: Session, course_id: int, person_id: int, prompt_id: int, *,
                  now: datetime | None = None) -> MentoringPrompt:
    """"Not now": set this prompt aside and ask nothing new for a few days."""
    now = now or utcnow()
    prompt = _prompt(session, course_id, prompt_id)
    if prompt.recipient_id != person_id:
        raise PromptNotFound(detail=f"prompt {prompt_id} is not for person {person_id}")
    prompt.snoozed = True
    preference = _preference(session, course_id, person_id)
    preference.snoozed_until = max(preference.snoozed_until or now, now + SNOOZE)
    session.flush()
    return prompt


def mentoring_choices(session: Session, course_id: int, person_id: int) -> MentoringPreference:
    """Return a learner's choices (a fresh, unsaved default if they never chose)."""
    found = session.scalar(select(MentoringPreference).where(
        MentoringPreference.course_id == course_id, MentoringPreference.person_id == person_id))
    return found or MentoringPreference(course_id=course_id, person_id=person_id,
                                        opted_out=False, stopped_rules=[])


def prompts_for_learner(session: Session, course_id: int, person_id: int, *,
                        limit: int = 20) -> list[MentoringPrompt]:
    """Prompts sent to a learner, newest first (the pane lists them with "not now"/"stop")."""
    return list(session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.recipient_id == person_id,
        MentoringPrompt.status == "sent")
        .order_by(MentoringPrompt.sent_at.desc(), MentoringPrompt.id.desc()).limit(limit)))


def recognitions_for_learner(session: Session, course_id: int,
                             person_id: int) -> list[MentoringPrompt]:
    return list(session.scalars(select(MentoringPrompt).where(
        MentoringPrompt.course_id == course_id, MentoringPrompt.recipient_id == person_id,
        MentoringPrompt.kind == THANK_YOU, MentoringPrompt.status == "sent")
        .order_by(MentoringPrompt.sent_at.desc())))
