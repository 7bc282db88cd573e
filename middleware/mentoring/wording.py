"""What teachers read about mentoring: names of rules and kinds, reasons, Moodle's refusals."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

RULE_NAMES = {
    "unanswered": _l("Unanswered questions"),
    "bridging": _l("Isolated learners"),
    "welcome": _l("Welcome a first post"),
    "ambassador": _l("Ambassadors"),
    "recognition": _l("Thanks for a first answer"),
}

KIND_NAMES = {
    "route_peer": _l("Ask a peer to answer a question"),
    "route_teacher": _l("Tell the teacher a question is still unanswered"),
    "bridge_buddy": _l("Ask a peer to reach out to an isolated learner"),
    "bridge_learner": _l("Introduce the isolated learner to a peer"),
    "welcome": _l("Ask an ambassador to welcome a first post"),
    "ambassador_invite": _l("Invite a learner to be an ambassador"),
    "recognition": _l("Thank a peer whose answer came first"),
}

THRESHOLD_NAMES = {
    "hours": _l("Hours without a reply before asking peers"),
    "peers": _l("Peers to ask"),
    "teacher_hours": _l("Hours without a reply before telling the teacher"),
    "max_age_days": _l("Ignore questions older than (days)"),
    "silent_days": _l("Days of silence before bridging"),
    "grace_hours": _l("Hours to wait for a first reply before bridging"),
    "cooldown_days": _l("Days before bridging the same learner again"),
    "delay_hours": _l("Hours to wait before asking for a welcome"),
    "window_hours": _l("Hours after which a first post is no longer new"),
    "candidates": _l("Ambassador candidates to suggest"),
}

STATUS_NAMES = {
    "review": _l("waiting for your review"), "queued": _l("queued"), "sent": _l("sent"),
    "failed": _l("not delivered"), "dropped": _l("dropped"), "withdrawn": _l("withdrawn"),
}

NOTICES = {
    "saved": _l("Saved."),
    "approved": _l("Approved: the message is on its way."),
    "dropped": _l("Dropped: it will not be sent."),
    "reset": _l("The default wording is back."),
    "retrying": _l("Circolo will try to send it again."),
}

#: Moodle's refusals and Circolo's delivery problems, in plain words with what to do.
ERROR_TEXTS = {
    "message_preferences": _l(
        "Moodle refused because of the learner's message preferences: enrol the Circolo user "
        "in the course (for example as non-editing teacher) so it may message course members."),
    "too_long": _l("The message was longer than Moodle accepts; shorten the wording."),
    "recipient_missing": _l("This person's Moodle account no longer exists."),
    "no_moodle_user": _l("Circolo does not know this person's Moodle account yet; it will after "
                         "the next sync."),
    "invalidtoken": _l("Moodle did not accept Circolo's web-service token: ask IT to check it."),
    "accessexception": _l("Circolo's web service may not send messages: ask IT to add the "
                          "messaging functions to it."),
    "unavailable": _l("Moodle could not be reached; Circolo keeps trying."),
    "unreachable": _l("Moodle could not be reached; Circolo keeps trying."),
    "no_connection": _l("Circolo is not connected to this Moodle site yet: ask IT."),
    "refused": _l("Moodle refused the message."),
}


def error_text(code: str) -> str:
    return str(ERROR_TEXTS.get(code) or ERROR_TEXTS["refused"]) if code else ""


def reason_text(code: str, reason: dict[str, Any] | None) -> str:
    """Say why a prompt was decided, from its reason code and figures."""
    reason = reason or {}
    hours, days = reason.get("hours", 0), reason.get("days", 0)
    texts = {
        "unanswered_peer": lambda: _(
            "The question had no reply for %(hours)s hours; this peer is among the best placed "
            "to answer.", hours=hours),
        "unanswered_ambassador": lambda: _(
            "The question had no reply for %(hours)s hours; it went to an ambassador's queue.",
            hours=hours),
        "unanswered_escalated": lambda: _(
            "Still no reply after %(hours)s hours, even after asking peers.", hours=hours),
        "never_replied": lambda: _(
            "This learner posted %(num)s times and never got a reply.", num=reason.get("posts")),
        "silent": lambda: _("This learner has been silent for %(days)s days.", days=days),
        "never_posted": lambda: _("This learner has not posted in %(days)s days.", days=days),
        "first_post": lambda: _("A first post, %(hours)s hours ago, still without a reply.",
                                hours=hours),
        "first_answer": lambda: _(
            "Their reply was the first one, %(minutes)s minutes after the prompt.",
            minutes=reason.get("minutes")),
        "teacher_approved": lambda: _("You approved this learner as an ambassador."),
    }
    maker = texts.get(code)
    return maker() if maker else code.replace("_", " ")


def template_problem_text(code: str, detail: str) -> str:
    texts = {
        "empty": lambda: _("The wording is empty."),
        "too_long": lambda: _("The wording is longer than %(max)s characters.", max=detail),
        "unknown_placeholder": lambda: _(
            "%(placeholder)s is not a placeholder Circolo knows.", placeholder=detail),
        "broken_braces": lambda: _(
            "A brace is not closed: placeholders are written like {name}."),
        "missing_placeholder": lambda: _(
            "This message needs the placeholder %(placeholder)s.", placeholder=detail),
    }
    return texts[code]() if code in texts else code
