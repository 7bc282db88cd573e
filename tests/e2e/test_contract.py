"""The doubles are held to the real Moodle: the same calls, the same shapes (keys), any values.

Circolo's own Moodle client makes the calls the sync and the delivery make, once against the
web-service double (tests/doubles/moodle_ws.py, serving the very community the real Moodle was
seeded with) and once against the real Moodle; each answer's keys, recursively and inside lists,
must be the same on both sides: no key the double invents, none it leaves out. The LTI platform
double (tests/doubles/lti_platform) is compared the same way with what the real Moodle sent in
the flow's launches, its OpenID configuration, keys and a dynamic registration.

When `CIRCOLO_RECORD_MOODLE` names a folder (scripts/record_moodle.py), the real side of every
exchange is written there as the recordings the unit tests parse (see recording.py).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests

from lti.registration import ToolDescription, fetch_configuration, registration_request
from middleware.moodle.schemas import OutgoingMessage
from middleware.moodle.service import MoodleError
from middleware.sync.operations import DISCUSSIONS_PER_PAGE, ROSTER_PAGE
from tests.doubles.community import Community, CommunityUser
from tests.doubles.lti_platform import DEEP_LINKING, RESOURCE_LINK, start_platform
from tests.doubles.lti_platform.registration import openid_configuration_of
from tests.doubles.moodle_ws import MoodleDouble, serve_double
from tests.e2e import recording
from tests.e2e.recording import CapturingClient, Exchange
from tests.e2e.seeding import OUTSIDER

CUSTOM = "https://purl.imsglobal.org/spec/lti/claim/custom"
#: Exchanges compared (and recorded), named like the Moodle 4.4 recordings.
CALLS = (
    "core_webservice_get_site_info", "core_course_get_courses_by_field",
    "core_enrol_get_enrolled_users", "core_user_get_users_by_field",
    "mod_forum_get_forums_by_courses", "mod_forum_get_forum_discussions.page0",
    "mod_forum_get_forum_discussions.page1", "mod_forum_get_forum_discussions.page9_empty",
    "mod_forum_get_forum_discussions.sync_page", "mod_forum_get_discussion_posts.threaded",
    "mod_forum_get_discussion_posts.unanswered", "mod_forum_add_discussion_post",
    "core_message_send_instant_messages.delivered",
    "core_message_send_instant_messages.blocked_by_preferences",
    "core_message_send_instant_messages.to_self",
    "core_message_get_conversation_between_users", "core_message_get_conversation_messages",
    "error.invalidtoken", "error.function_not_in_service", "error.invalidparameter",
    "error.missing_discussion",
)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON value ("a.b", "a.list[].c"), list items' keys merged."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= key_paths(item, f"{prefix}[]")
    return paths


def disagreement(real: Any, double: Any, *, ignore_under: tuple[str, ...] = ()
                 ) -> dict[str, list[str]]:
    """Key paths only the real Moodle sends, and only the double sends (empty when they agree)."""
    def kept(paths: set[str]) -> set[str]:
        return {p for p in paths if not any(p.startswith(f"{i}.") for i in ignore_under)}

    theirs, ours = kept(key_paths(real)), kept(key_paths(double))
    found = {"missing from the double": sorted(theirs - ours),
             "only in the double": sorted(ours - theirs)}
    return {k: v for k, v in found.items() if v}


# --- web services -----------------------------------------------------------------------------

@dataclass
class Side:
    """One Moodle (the real one or the double) and the ids the seeded community has there."""

    client: CapturingClient
    bad_token_client: CapturingClient
    course: int
    ids: dict[str, Any]  # forums/discussions/posts by spec key, users by username
    bot: int


def exercise(side: Side, community: Community) -> dict[str, Exchange]:
    """Make every call of CALLS on one side; return each call's exchange by name."""
    client, ids = side.client, side.ids
    questions = ids["forums"]["forum3"]  # "Domande e risposte", the busiest forum
    threaded = max((d for d in community.discussions if d.kind == "question"),
                   key=lambda d: (d.num_replies, -d.id))
    unanswered = community.unanswered[0]
    learner = ids["users"][[u for u in community.learners if u.enrolled][-1].username]
    found: dict[str, Exchange] = {}

    def call(name: str, make: Callable[[], Any], on: CapturingClient = client) -> Any:
        before = len(on.exchanges)
        try:
            answer = make()
        except MoodleError:
            answer = None
        assert len(on.exchanges) > before, f"{name}: no call was made"
        found[name] = on.exchanges[-1]
        return answer

    call("core_webservice_get_site_info", client.get_site_info)
    call("core_course_get_courses_by_field", lambda: client.get_courses_by_field("id", side.course))
    roster = call("core_enrol_get_enrolled_users", lambda: client.get_enrolled_users(
        side.course, onlyactive=True, limitfrom=0, limitnumber=ROSTER_PAGE))
    call("core_user_get_users_by_field", lambda: client.get_users_by_ids(u.id for u in roster))
    call("mod_forum_get_forums_by_courses", lambda: client.get_forums_by_courses([side.course]))
    for name, page, perpage in (("page0", 0, 5), ("page1", 1, 5), ("page9_empty", 9, 5),
                                ("sync_page", 0, DISCUSSIONS_PER_PAGE)):
        call(f"mod_forum_get_forum_discussions.{name}", lambda p=page, n=perpage:
             client.get_forum_discussions(questions["id"], sortorder=1, page=p, perpage=n))
    call("mod_forum_get_discussion_posts.threaded", lambda: client.get_discussion_posts(
        ids["discussions"][f"discussion{threaded.id}"]))
    call("mod_forum_get_discussion_posts.unanswered", lambda: client.get_discussion_posts(
        ids["discussions"][f"discussion{unanswered}"]))
    first_post = ids["posts"][f"post{community.discussion(unanswered).first_post_id}"]
    call("mod_forum_add_discussion_post", lambda: client.add_discussion_post(
        first_post, "Re: una risposta", "<p>Provo a rispondere io: partite dai criteri.</p>"))
    for name, to in (("delivered", learner), ("blocked_by_preferences",
                                              ids["users"][OUTSIDER["username"]]),
                     ("to_self", side.bot)):
        call(f"core_message_send_instant_messages.{name}",
             lambda to=to, name=name: client.send_instant_messages([OutgoingMessage(
                 to, f"<p>Prova di contratto ({name}).</p>", clientmsgid=f"contract{name[:3]}")]))
    conversation = call("core_message_get_conversation_between_users",
                        lambda: client.get_conversation_between_users(side.bot, learner))
    call("core_message_get_conversation_messages",
         lambda: client.get_conversation_messages(side.bot, conversation.id))
    call("error.invalidtoken", side.bad_token_client.get_site_info, on=side.bad_token_client)
    call("error.function_not_in_service", lambda: client.call("core_user_create_users", {}))
    call("error.invalidparameter", lambda: client.call(
        "mod_forum_get_forum_discussions", {"forumid": "notanumber"}))
    call("error.missing_discussion", lambda: client.get_discussion_posts(987654))
    return found


def double_ids(community: Community) -> dict[str, Any]:
    """The double's ids under the seed spec's keys (the double serves the community's own)."""
    return {
        "forums": {f"forum{f.id}": {"id": f.id, "cmid": f.cmid} for f in community.forums},
        "discussions": {f"discussion{d.id}": d.id for d in community.discussions},
        "posts": {f"post{p.id}": p.id for p in community.posts},
        "users": {u.username: u.id for u in community.users},
    }


@pytest.fixture(scope="session")
def exchanges(moodle_site, seeded, webservices) -> Iterator[dict[str, tuple[Exchange, Exchange]]]:
    """Every call of CALLS made on the real Moodle and on the double: name → (real, double)."""
    community = copy.deepcopy(seeded.community)
    community.siteurl = moodle_site.wwwroot
    outsider = CommunityUser(max(u.id for u in community.users) + 1, OUTSIDER["username"],
                             OUTSIDER["firstname"], OUTSIDER["lastname"], OUTSIDER["email"],
                             "learner", "student", enrolled=False)
    community.users.append(outsider)
    community.__post_init__()  # index the outsider too
    double = MoodleDouble(community, token="contract-token")
    with serve_double(double) as served:
        theirs = Side(CapturingClient(moodle_site.wwwroot, webservices.token),
                      CapturingClient(moodle_site.wwwroot, "0" * 32), seeded.course_id,
                      seeded.ids, webservices.userid)
        ours = Side(CapturingClient(served.url, "contract-token"),
                    CapturingClient(served.url, "1" * 32), community.course_id,
                    double_ids(community), community.service_user.id)
        real, doubled = exercise(theirs, seeded.community), exercise(ours, community)
    for name, exchange in real.items():
        recording.write_exchange(name, exchange, secrets=(webservices.token,))
    yield {name: (real[name], doubled[name]) for name in CALLS}


@pytest.mark.parametrize("name", CALLS)
def test_the_web_service_double_answers_in_moodles_shapes(exchanges, name):
    real, double = exchanges[name]
    assert (real.status, type(real.body).__name__) == (double.status, type(double.body).__name__)
    assert disagreement(real.body, double.body) == {}, (
        f"{name}: the double and Moodle disagree\nMoodle: {json.dumps(real.body)[:3000]}")


def test_the_roster_never_has_language_or_time_zone_but_profiles_do(exchanges):
    roster, _ = exchanges["core_enrol_get_enrolled_users"]
    profiles, _ = exchanges["core_user_get_users_by_field"]
    asked = roster.params["options"][1]["value"]
    assert all("lang" not in user and "timezone" not in user for user in roster.body), asked
    assert profiles.body and all({"lang", "timezone"} <= set(user) for user in profiles.body)


# --- LTI -----------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def platform_double() -> Iterator[Any]:
    platform = start_platform()
    yield platform
    platform.stop()


def double_claims(platform: Any, user_id: str, message_type: str, link_id: str | None) -> Any:
    """The double's claims for a tool configured as Circolo registers itself (names, no
    e-mail), launched from activities made by deep linking (no grade: no line item)."""
    platform.line_items.clear()
    tool = platform.tools.get("contract") or platform.add_tool(
        base_url="http://localhost:9", client_id="contract", send_email=False,
        custom_parameters={"context_memberships_url": "$ToolProxyBinding.memberships.url"})
    launch, _ = platform.start_launch(platform.users[user_id], tool, message_type, link_id, "en")
    return platform.id_token_claims(launch, tool, "nonce")


def real_launch(flow, kind: str) -> Any:
    """The claims of the last launch of a kind: a learner's, the teacher's, or deep linking."""
    for launch, claims in reversed(list(zip(flow.recorder.launches, flow.recorder.claims(),
                                            strict=True))):
        message = claims.get("https://purl.imsglobal.org/spec/lti/claim/message_type")
        roles = " ".join(claims.get("https://purl.imsglobal.org/spec/lti/claim/roles", []))
        if kind == "deep_linking" and message == DEEP_LINKING:
            return launch, claims
        if message == RESOURCE_LINK and kind == ("instructor" if "Instructor" in roles
                                                 else "learner"):
            return launch, claims
    pytest.skip(f"the flow made no {kind} launch (an earlier step failed)")


@pytest.mark.parametrize(("kind", "user_id", "message_type", "link_id"), [
    ("learner", "11", RESOURCE_LINK, "1"),
    ("instructor", "3", RESOURCE_LINK, "2"),
    ("deep_linking", "3", DEEP_LINKING, None),
])
def test_the_platform_double_launches_with_moodles_claims(flow, moodle_site, seeded, circolo,
                                                           person_page, platform_double,
                                                           kind, user_id, message_type, link_id):
    if kind == "deep_linking":
        # The flow's was the course's first: Moodle leaves the roster service (NRPS) out until
        # the course uses the tool. The double's course already has Circolo's activities.
        select_content(person_page("cverdi"), moodle_site, seeded, circolo, flow)
    launch, real = real_launch(flow, kind)
    ours = double_claims(platform_double, user_id, message_type, link_id)
    # Custom parameters are each tool's own: only the claim itself must be there.
    assert disagreement(real, ours, ignore_under=(CUSTOM,)) == {}
    header = jwt.get_unverified_header(launch.launch_post["id_token"])
    name = {"learner": "resource_link.learner", "instructor": "resource_link.instructor",
            "deep_linking": "deep_linking.instructor"}[kind]
    recording.write(f"lti/{name}.json", {
        "login_initiation": {"method": "POST", "params": launch.login_initiation},
        "launch_post": launch.launch_post, "jwt_header": header, "claims": real})


def select_content(page: Any, moodle_site: Any, seeded: Any, circolo: Any, flow: Any) -> None:
    """Open "Select content" of a new Circolo activity (a deep-linking launch), then leave."""
    from tests.e2e.moodle_ui import circolo_frame

    page.goto(f"{moodle_site.wwwroot}/course/modedit.php?add=lti&typeid={flow.deployment_id}"
              f"&course={seeded.course_id}&section=1&return=0", wait_until="networkidle")
    page.get_by_role("button", name="Select content").click()
    circolo_frame(page, circolo.base_url, path="/lti/deep-link")


def test_the_platform_double_publishes_moodles_configuration_and_keys(moodle_site,
                                                                      platform_double):
    configuration = requests.get(f"{moodle_site.wwwroot}/mod/lti/openid-configuration.php",
                                 timeout=30).json()
    keys = requests.get(f"{moodle_site.wwwroot}/mod/lti/certs.php", timeout=30).json()
    assert disagreement(configuration, openid_configuration_of(platform_double)) == {}
    assert disagreement(keys, platform_double.jwks()) == {}
    recording.write("lti/openid_configuration.json", configuration)
    recording.write("lti/platform_jwks.json", keys)


def test_a_dynamic_registration_answers_as_the_double_does(person_page, moodle_site, circolo,
                                                           platform_double):
    """Register once more from Manage tools, the tool's side made here: the same requests."""
    page = person_page("admin")
    started: dict[str, str] = {}

    def capture(route: Any) -> None:
        # Moodle's page redirects the dialog to the tool with the token: keep the token here
        # (the tool never sees it) and show the dialog a page of ours instead.
        answer = route.fetch(max_redirects=0)
        target = answer.headers.get("location", "")
        if answer.status in (301, 302, 303) and target.startswith(f"{circolo.base_url}/"):
            started.update(parse_qsl(urlsplit(target).query))
            route.fulfill(status=200, content_type="text/html", body="<p>captured</p>")
        else:
            route.fulfill(response=answer)

    page.route("**/mod/lti/startltiadvregistration.php*", capture)
    try:
        page.goto(f"{moodle_site.wwwroot}/mod/lti/toolconfigure.php", wait_until="networkidle")
        page.get_by_placeholder("Tool URL...").fill(f"{circolo.base_url}/lti/register")
        page.get_by_role("button", name="Add LTI Advantage").click()
        clicked_at = 0.0
        for _ in range(600):
            if started:
                break
            # Moodle 4.5 asks whether a second tool of the same domain updates the first; its
            # button works once the dialog's script has loaded (pressed again if it did not).
            dialog = next((f for f in page.frames if "startltiadvregistration" in f.url), None)
            new_tool = dialog.get_by_role("button", name="Register as a new external tool") \
                if dialog else None
            if (new_tool is not None and new_tool.count() and new_tool.is_enabled()
                    and time.monotonic() - clicked_at > 5):
                dialog.wait_for_load_state("load")
                new_tool.click()
                clicked_at = time.monotonic()
            page.wait_for_timeout(100)
    finally:
        page.unroute("**/mod/lti/startltiadvregistration.php*")
    assert started.get("registration_token"), "Moodle never opened the registration URL"
    tool = ToolDescription(base_url=circolo.base_url)

    def register(openid_url: str, token: str) -> tuple[Any, dict[str, Any], list[Any]]:
        configuration = fetch_configuration(openid_url)
        body = registration_request(tool, configuration)
        answers = [requests.post(configuration.registration_endpoint, json=body, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})
                   for _ in range(2)]  # the second time, the token is spent
        return configuration, body, answers

    configuration, body, (first, again) = register(started["openid_configuration"],
                                                   started["registration_token"])
    _, _, (double_first, double_again) = register(platform_double.openid_configuration_url,
                                                  platform_double.new_registration_token())
    assert (first.status_code, again.status_code) == (200, 401)
    assert "token_already_used" in again.text and "token_already_used" in double_again.text
    assert disagreement(first.json(), double_first.json()) == {}
    token = started["registration_token"]
    recording.write("lti/dynamic_registration.json", {
        "registration_start": {"query": started},
        "registration_token_header": jwt.get_unverified_header(token),
        "registration_token_claims": jwt.decode(token, options={"verify_signature": False}),
        "openid_configuration": requests.get(started["openid_configuration"], timeout=30).json(),
        "registration_request": {"url": configuration.registration_endpoint,
                                 "headers": {"Authorization": "Bearer <registration_token>",
                                             "Content-Type": "application/json"},
                                 "body": body},
        "registration_response": {"status": first.status_code, "body": first.json()},
        "reused_token_response": {"status": again.status_code, "body": again.text},
    })
