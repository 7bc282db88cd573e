"""The teacher's mentoring pages: rules and thresholds, review queue, wordings, log, outcomes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request
from markupsafe import Markup
from werkzeug.routing import BuildError

from ..db import get_session
from ..lti.session import check_csrf, current_launch, launch_url_for, teacher_required
from ..models.community import Course
from ..models.mentoring import MODES
from . import course_rules, delivery, operations
from . import outcomes as measured
from .facts import DEFAULT_RULES, KINDS, RULES
from .templates import LANGUAGES, PLACEHOLDERS, TemplateError
from .wording import (
    ERROR_TEXTS,
    KIND_NAMES,
    NOTICES,
    RULE_NAMES,
    STATUS_NAMES,
    THRESHOLD_NAMES,
    error_text,
    reason_text,
    template_problem_text,
)

bp = Blueprint("mentoring", __name__, url_prefix="/dashboard/mentoring", static_folder="static")

CAPS = ("learner_weekly_cap", "ambassador_weekly_cap", "course_daily_cap", "quiet_start_hour",
        "quiet_end_hour")


def _page(template: str, **context: Any) -> str:
    launch = current_launch()
    db = get_session()
    notice = NOTICES.get(request.args.get("done", ""))
    return render_template(f"mentoring/{template}", course=db.get(Course, launch.course_id),
                           notice=notice, dashboard_url=_dashboard_url(),
                           rule_names=RULE_NAMES, kind_names=KIND_NAMES,
                           status_names=STATUS_NAMES, **context)


def _dashboard_url() -> str | None:
    try:
        return launch_url_for("dashboard.home")
    except BuildError:  # the dashboard is another feature's blueprint
        return None


def _back(endpoint: str, done: str, **values: Any) -> Response:
    return redirect(launch_url_for(endpoint, done=done, **values), code=303)


# --- rules and thresholds ---------------------------------------------------------------------

@bp.get("/")
@teacher_required
def rules() -> str:
    """Show the course's mode, caps, quiet hours and each rule's switch and thresholds."""
    db = get_session()
    settings = course_rules.mentoring_settings(db, current_launch().course_id)
    db.commit()
    return _page("rules.html", settings=settings, modes=MODES, caps=CAPS,
                 rules=course_rules.effective_rules(settings), rule_order=RULES,
                 thresholds=THRESHOLD_NAMES, defaults=DEFAULT_RULES, languages=LANGUAGES,
                 limits=course_rules.LIMITS)


@bp.post("/")
@teacher_required
def save_rules() -> Response:
    """Save the mode, caps and rules from the form."""
    check_csrf()
    form = request.form
    rules_form: dict[str, dict[str, Any]] = {}
    for rule in RULES:
        values: dict[str, Any] = {"enabled": form.get(f"{rule}-enabled") == "1"}
        for key in DEFAULT_RULES[rule]:
            if key != "enabled" and form.get(f"{rule}-{key}", "") != "":
                values[key] = form.get(f"{rule}-{key}")
        rules_form[rule] = values
    db = get_session()
    course_rules.update_mentoring_settings(
        db, current_launch().course_id, mode=form.get("mode"),
        timezone=form.get("timezone", "").strip(), default_lang=form.get("default_lang"),
        caps={name: form.get(name) for name in CAPS if form.get(name, "") != ""},
        rules=rules_form)
    db.commit()
    return _back("mentoring.rules", "saved")


# --- the review queue ---------------------------------------------------------------------------

@bp.get("/review")
@teacher_required
def review() -> str:
    """List prompts waiting for the teacher: approve, edit or drop each."""
    db = get_session()
    queue = operations.review_queue(db, current_launch().course_id)
    return _page("review.html", queue=queue, reason_text=reason_text)


@bp.post("/review/<int:prompt_id>/approve")
@teacher_required
def approve(prompt_id: int) -> Response:
    """Approve a prompt, with the teacher's edited text if they changed it."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    operations.approve_prompt(db, launch.course_id, prompt_id, launch.person_id,
                              body=request.form.get("body"))
    db.commit()
    return _back("mentoring.review", "approved")


@bp.post("/review/<int:prompt_id>/drop")
@teacher_required
def drop(prompt_id: int) -> Response:
    """Drop a prompt: it is not sent and not proposed again."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    operations.drop_prompt(db, launch.course_id, prompt_id, launch.person_id)
    db.commit()
    return _back("mentoring.review", "dropped")


# --- wordings ------------------------------------------------------------------------------------

@bp.get("/templates")
@teacher_required
def templates() -> str:
    """List every prompt's wording in Italian and English."""
    db = get_session()
    wordings = course_rules.wordings_of_course(db, current_launch().course_id)
    return _page("templates.html", wordings=wordings, kinds=KINDS, languages=LANGUAGES)


@bp.route("/templates/<kind>/<lang>", methods=["GET", "POST"])
@teacher_required
def edit_template(kind: str, lang: str) -> str | Response:
    """Edit one wording: preview it as Moodle will receive it, save it, or restore the default."""
    launch = current_launch()
    db = get_session()
    wording = course_rules.wording_of(db, launch.course_id, kind, lang)
    body, preview, problems = wording.body, None, []
    if request.method == "POST":
        check_csrf()
        action = request.form.get("action", "preview")
        body = request.form.get("body", "")
        try:
            if action == "reset":
                course_rules.reset_wording(db, launch.course_id, kind, lang)
                db.commit()
                return _back("mentoring.templates", "reset")
            if action == "save":
                course_rules.save_wording(db, launch.course_id, kind, lang, body,
                                          launch.person_id)
                db.commit()
                return _back("mentoring.templates", "saved")
            preview = Markup(course_rules.preview_wording(kind, lang, body))  # noqa: S704
        except TemplateError as refused:
            problems = [template_problem_text(code, detail) for code, detail in refused.problems]
    return _page("edit_template.html", wording=wording, body=body, preview=preview,
                 problems=problems, placeholders=PLACEHOLDERS)


# --- the log and outcomes ------------------------------------------------------------------------

@bp.get("/log")
@teacher_required
def log() -> str:
    """Everything decided: to whom, why, whether Moodle took it, and what came of it."""
    db = get_session()
    prompts = course_rules.prompt_log(db, current_launch().course_id)
    return _page("log.html", prompts=prompts, reason_text=reason_text, error_text=error_text,
                 error_texts=ERROR_TEXTS)


@bp.post("/log/<int:prompt_id>/retry")
@teacher_required
def retry(prompt_id: int) -> Response:
    """Send a refused message again, after fixing what Moodle complained about."""
    check_csrf()
    db = get_session()
    delivery.retry_failed(db, current_launch().course_id, prompt_id)
    db.commit()
    from .tasks import deliver_outbox

    deliver_outbox.schedule(delay=1)
    return _back("mentoring.log", "retrying")


@bp.get("/outcomes")
@teacher_required
def outcomes() -> str:
    """Did prompts work: reply rates per rule, routed against unrouted questions, bridging."""
    figures = measured.outcomes_of_course(get_session(), current_launch().course_id)
    return _page("outcomes.html", figures=figures)
