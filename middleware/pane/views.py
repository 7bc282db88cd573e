"""The learner's community pane, inside Moodle's iframe (phone first)."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request
from flask_babel import lazy_gettext as _l

from middleware.db import get_session
from middleware.errors import BadRequest, NotFound
from middleware.i18n import normalise_locale
from middleware.lti.session import (
    check_csrf,
    current_launch,
    launch_url_for,
    learner_required,
    store_launch,
)
from middleware.mentoring import operations as mentoring
from middleware.models import Course, Person, utcnow

from . import operations

bp = Blueprint("pane", __name__, url_prefix="/pane")

#: Messages shown after an action, by the code the action redirects with (no cookie needed).
NOTICES = {
    "saved": ("ok", _l("Your choices are saved.")),
    "snoozed": ("ok", _l("Fine: no more prompts for a while.")),
    "stopped": ("ok", _l("Done: you will not get this kind of prompt again.")),
    "accepted": ("ok", _l("Thank you! You are now an ambassador of this course.")),
    "stepped_down": ("ok", _l("You are no longer an ambassador. Thank you for your help.")),
}


@bp.get("")
@learner_required
def home() -> str:
    """Show the learner's community, prompts, ambassadors, thanks and privacy choices."""
    launch = current_launch()
    db = get_session()
    course_id, person_id = launch.course_id, launch.person_id
    notice = NOTICES.get(request.args.get("done", ""))
    # Held here, the course stays in the session's identity map: the operations below find it
    # there rather than reading it again.
    course = db.get(Course, course_id)
    view = operations.pane_overview(db, course_id, person_id, now=utcnow())
    return render_template(
        "pane/home.html",
        course=course,
        me=db.get(Person, person_id),
        messages=[notice] if notice else [],
        overview=view,
    )


@bp.post("/privacy")
@learner_required
def privacy() -> Response:
    """Save the learner's choices: no prompts, and not suggested to peers."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    if request.form.get("opt_out"):
        mentoring.opt_out(db, launch.course_id, launch.person_id)
    else:
        mentoring.opt_in(db, launch.course_id, launch.person_id)
    operations.set_hidden_from_suggestions(db, launch.course_id, launch.person_id,
                                           bool(request.form.get("hidden")))
    db.commit()
    return _back("saved", "privacy")


@bp.post("/prompts/<int:prompt_id>/snooze")
@learner_required
def snooze_prompt(prompt_id: int) -> Response:
    """Not now: no prompts for a while."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.snooze_prompt(db, launch.course_id, launch.person_id, prompt_id)
    db.commit()
    return _back("snoozed", "prompts")


@bp.post("/prompts/stop")
@learner_required
def stop_prompts() -> Response:
    """"Stop these": no more prompts of the rule that sent this one."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.stop_prompts_of_rule(db, launch.course_id, launch.person_id,
                                   request.form.get("rule", ""))
    db.commit()
    return _back("stopped", "prompts")


@bp.post("/ambassador/accept")
@learner_required
def accept_ambassador() -> Response:
    """Accept the teacher's invitation to be an ambassador."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.accept_ambassador_invitation(db, launch.course_id, launch.person_id)
    db.commit()
    return _back("accepted", "ambassadors")


@bp.post("/ambassador/step-down")
@learner_required
def step_down() -> Response:
    """Stop being an ambassador."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.step_down_as_ambassador(db, launch.course_id, launch.person_id)
    db.commit()
    return _back("stepped_down", "ambassadors")


@bp.get("/my-data.json")
@learner_required
def export() -> Response:
    """Download everything Circolo stores about me in this course, as JSON."""
    launch = current_launch()
    try:
        data = operations.export_learner_data(get_session(), launch.course_id, launch.person_id)
    except LookupError:
        raise NotFound() from None
    body = json.dumps(data, ensure_ascii=False, indent=2)
    name = f"circolo-my-data-course-{launch.course_id}.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.post("/language")
@learner_required
def set_language() -> Response:
    """Switch between Italian and English, then go back to the page the person was on."""
    check_csrf()
    locale = normalise_locale(request.form.get("locale"))
    if locale is None:
        raise BadRequest()
    # The launch carries the language (cookie and token alike): keep the same launch, new locale.
    store_launch(dataclasses.replace(current_launch(), locale=locale))
    endpoint = _own_endpoint(request.form.get("next", ""))
    return redirect(launch_url_for(endpoint), 303)


def _own_endpoint(path: str) -> str:
    """Map a page path sent back by the language switch to one of our endpoints (no redirects
    anywhere else)."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return "pane.home"
    if parts.path.startswith("/dashboard"):
        return "dashboard.home"
    return "pane.home"


def _back(done: str, anchor: str) -> Response:
    return redirect(launch_url_for("pane.home", done=done, _anchor=anchor), 303)
