"""Deep linking: the teacher picks what the new activity opens; Circolo signs it back to Moodle."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _

from lti.deep_linking import ResourceLinkItem, build_deep_linking_response
from lti.keys import current_signing_key

from ..db import get_session
from ..errors import BadRequest
from ..models import Platform
from ..security import allow_form_action
from .session import Launch, current_launch, origin_of, teacher_required
from .views import PLACEMENTS, bp


@bp.get("/deep-link")
@teacher_required
def deep_link() -> str:
    """Let a teacher choose what to add to the course: the community pane, the dashboard."""
    launch = _deep_linking_launch()
    return render_template("lti/deep_link.html", multiple=launch.deep_link.accept_multiple,
                           placements=_placement_choices())


@bp.post("/deep-link")
@teacher_required
def deep_link_respond() -> str:
    """Sign the teacher's choice and post it back to the platform."""
    launch = _deep_linking_launch()
    chosen = [p for p in request.form.getlist("placement") if p in PLACEMENTS]
    if not chosen or (len(chosen) > 1 and not launch.deep_link.accept_multiple):
        raise BadRequest(_("Choose what to add to your course."), detail="bad placement choice")
    db = get_session()
    settings = current_app.config["CIRCOLO"]
    platform = db.get(Platform, launch.platform_id)
    if platform is None:
        raise BadRequest(detail="platform removed")
    titles = dict(_placement_choices())
    items = [ResourceLinkItem(title=titles[p], url=settings.public_base_url + "/lti/launch",
                              custom={"community_mode": p}) for p in chosen]
    token = build_deep_linking_response(
        signing_key=current_signing_key(db, settings), client_id=platform.client_id,
        issuer=platform.issuer, deployment_id=launch.deployment_id, items=items,
        data=launch.deep_link.data)
    db.commit()
    allow_form_action(origin_of(launch.deep_link.return_url))
    return render_template("lti/deep_link_return.html", return_url=launch.deep_link.return_url,
                           jwt=token)


def _deep_linking_launch() -> Launch:
    launch = current_launch()
    if launch is None or launch.deep_link is None:
        raise BadRequest(_("Open this page from “Add an activity” in your course."),
                         detail="no deep-linking request in this launch")
    return launch


def _placement_choices() -> list[tuple[str, str]]:
    return [("pane", _("Community")), ("dashboard", _("Community dashboard"))]
