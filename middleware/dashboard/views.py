"""The teacher dashboard: community health, the network, what needs attention, prompts, sync."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request
from flask_babel import lazy_gettext as _l

from middleware.db import get_session
from middleware.lti.session import (
    check_csrf,
    current_launch,
    launch_token_needed,
    launch_url_for,
    teacher_required,
)
from middleware.mentoring import operations as mentoring
from middleware.models import Course, utcnow
from middleware.sync import operations as sync

from .board import build_board
from .operations import WINDOWS

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

NOTICES = {
    "sync_requested": ("ok", _l("Sync requested: new posts appear in a few minutes.")),
    "sync_too_soon": ("warn", _l("A sync was requested less than two minutes ago: please wait a "
                                 "moment before asking again.")),
    "approved": ("ok", _l("Invitation sent. The learner becomes an ambassador if they accept.")),
    "dismissed": ("ok", _l("Candidate dismissed.")),
    "prompt_sent": ("ok", _l("Prompt approved: it will be sent.")),
    "prompt_dropped": ("ok", _l("Prompt dropped: it will not be sent.")),
}


@bp.get("")
@teacher_required
def home() -> str:
    """Show the course's community at a glance, filtered by period and group."""
    launch = current_launch()
    db = get_session()
    window = request.args.get("window", "30d")
    if window not in WINDOWS:
        window = "30d"
    group_id = request.args.get("group", type=int)
    course = db.get(Course, launch.course_id)
    board = build_board(db, course, window=window, group_id=group_id,
                        pseudonymise=bool(request.args.get("pseudonymise")), now=utcnow(),
                        teacher_id=launch.person_id)
    notice = NOTICES.get(request.args.get("done", ""))
    return render_template("dashboard/home.html", course=course, board=board,
                           messages=[notice] if notice else [],
                           launch_token_needed=launch_token_needed())


@bp.post("/sync")
@teacher_required
def sync_now() -> Response:
    """Ask for a sync from Moodle now (at most once every few minutes per course)."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    try:
        sync.request_sync(db, launch.course_id, requested_by=launch.person_id)
    except sync.SyncRequestedTooSoon:
        # Still refused; said on the dashboard itself rather than on an error page in the frame.
        return _back("sync_too_soon", "sync")
    db.commit()
    return _back("sync_requested", "sync")


@bp.post("/candidates/<int:person_id>/approve")
@teacher_required
def approve_candidate(person_id: int) -> Response:
    """Invite an ambassador candidate (they must accept)."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.invite_ambassador(db, launch.course_id, person_id, launch.person_id)
    db.commit()
    return _back("approved", "ambassadors")


@bp.post("/candidates/<int:person_id>/dismiss")
@teacher_required
def dismiss_candidate(person_id: int) -> Response:
    """Dismiss an ambassador candidate."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.dismiss_ambassador_candidate(db, launch.course_id, person_id)
    db.commit()
    return _back("dismissed", "ambassadors")


@bp.post("/prompts/<int:prompt_id>/approve")
@teacher_required
def approve_prompt(prompt_id: int) -> Response:
    """Approve a prompt from the review queue as it is."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.approve_prompt(db, launch.course_id, prompt_id, launch.person_id)
    db.commit()
    return _back("prompt_sent", "prompts")


@bp.post("/prompts/<int:prompt_id>/drop")
@teacher_required
def drop_prompt(prompt_id: int) -> Response:
    """Drop a prompt from the review queue."""
    check_csrf()
    launch = current_launch()
    db = get_session()
    mentoring.drop_prompt(db, launch.course_id, prompt_id, launch.person_id)
    db.commit()
    return _back("prompt_dropped", "prompts")


def _back(done: str, anchor: str) -> Response:
    keep = {key: request.args[key] for key in ("window", "group", "pseudonymise")
            if key in request.args}
    return redirect(launch_url_for("dashboard.home", done=done, _anchor=anchor, **keep), 303)
