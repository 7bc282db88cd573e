"""The plugin path, end to end: install, Connect in Chromium, the two calls, events, prompts.

Run with `MOODLE_SRC=<Moodle tarball or folder> make e2e-plugin`. With
CIRCOLO_RECORD_FIXTURES=1 the plugin's answers are also written to tests/fixtures/local_circolo/
(the recordings Circolo's unit tests load); without it they are checked against them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from middleware.config import PROJECT_ROOT
from middleware.moodle.plugin_schemas import OutgoingPrompt
from middleware.moodle.service import SERVER_PATH, MoodleClient, encode_params
from tests.e2e.moodle_site import MoodleSite

from .circolo import CircoloProcess
from .conftest import CLI, logged_in_page

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "local_circolo"
RECORDING = os.environ.get("CIRCOLO_RECORD_FIXTURES") == "1"


# --- what the tests share ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def connected(moodle_site: MoodleSite, circolo: CircoloProcess, browser: Any) -> dict[str, Any]:
    """IT's steps after installing the plugin: `invite`, then paste and press Connect."""
    started = time.monotonic()
    code = circolo.invite()  # step 2
    page = logged_in_page(browser, moodle_site, "admin", moodle_site.admin_password)
    page.goto(f"{moodle_site.wwwroot}/local/circolo/index.php", wait_until="networkidle")
    page.fill("input[name=circolourl]", circolo.base_url)  # step 3
    page.fill("input[name=code]", code)
    page.click("#id_submitbutton")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("body")
    page.context.close()
    tokens = moodle_site.run_json(CLI, {"action": "token"})["tokens"]
    return {"code": code, "seconds": time.monotonic() - started, "page": text,
            "token": tokens[0] if tokens else None, "tokens": tokens}


@pytest.fixture(scope="session")
def client(moodle_site: MoodleSite, connected: dict[str, Any]) -> MoodleClient:
    return MoodleClient(moodle_site.wwwroot, connected["token"], retries=0)


def launch(browser: Any, site: MoodleSite, username: str, password: str, cmid: int,
           circolo: CircoloProcess) -> str:
    """Open Circolo from its activity as `username`; return the page Circolo showed."""
    page = logged_in_page(browser, site, username, password)
    page.goto(f"{site.wwwroot}/mod/lti/launch.php?id={cmid}")
    page.wait_for_url(f"{circolo.base_url}/**", wait_until="networkidle")
    text = page.inner_text("body")
    page.context.close()
    return text


@pytest.fixture(scope="session")
def course(moodle_site: MoodleSite, circolo: CircoloProcess, connected: dict[str, Any],
           browser: Any) -> dict[str, Any]:
    """A small course with Circolo in it, launched once by its teacher (so Circolo syncs it)."""
    seeded = moodle_site.run_json(CLI, {"action": "seed", "learners": 5, "discussions": 3,
                                        "replies": 2, "fullname": "Comunità di prova"})
    activity = moodle_site.run_json(CLI, {"action": "circolo_activity",
                                          "courseid": seeded["courseid"]})
    launch(browser, moodle_site, seeded["teacherusername"], seeded["password"], activity["cmid"],
           circolo)
    rows = circolo.wait_for(
        "SELECT c.id, r.status, r.calls FROM course c JOIN sync_run r ON r.course_id = c.id "
        "WHERE c.moodle_course_id = :moodle AND r.status = 'succeeded'",
        moodle=seeded["courseid"])
    assert rows, f"the first sync did not succeed:\n{circolo.log_path.read_text()[-3000:]}"
    return {**seeded, "cmid": activity["cmid"], "circolo_course_id": rows[0]["id"]}


def ws(site: MoodleSite, token: str, function: str, params: dict[str, Any]) -> tuple[int, Any]:
    """One raw web-service call: (HTTP status, decoded body)."""
    answer = requests.post(site.wwwroot + SERVER_PATH, timeout=60, data=[
        ("wstoken", token), ("wsfunction", function), ("moodlewsrestformat", "json"),
        *encode_params(params)])
    return answer.status_code, answer.json()


def recorded(name: str, function: str, params: dict[str, Any], status: int, body: Any) -> Any:
    """Write the exchange when recording; else check it has the recorded shape; return it."""
    path = FIXTURES / f"{name}.json"
    if RECORDING:
        FIXTURES.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"request": {"wsfunction": function, "params": params},
                                    "status": status, "response": body},
                                   indent=2, ensure_ascii=False) + "\n")
    else:
        assert path.exists(), f"{path} missing: run once with CIRCOLO_RECORD_FIXTURES=1"
        assert shape(json.loads(path.read_text())["response"]) == shape(body), name
    return body


def shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (lists by the union of their items' shapes)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for item in value:
            found = shape(item)
            if isinstance(found, dict):
                merged.update(found)
        return [merged] if merged else []
    return type(value).__name__ if value is not None else None


# --- the tests ---------------------------------------------------------------------------------

def test_the_plugin_installs_into_an_installed_moodle_and_upgrades_cleanly(moodle_site):
    output = moodle_site.upgrade_output
    assert "error" not in output.lower() and "warning" not in output.lower(), output
    version = moodle_site.scalar("SELECT value FROM mdl_config_plugins WHERE "
                                 "plugin = 'local_circolo' AND name = 'version'")
    assert version == "2026120100"
    assert moodle_site.scalar("SELECT COUNT(*) FROM mdl_external_services WHERE "
                              "shortname = 'local_circolo' AND component = 'local_circolo'") == 1
    assert moodle_site.scalar("SELECT COUNT(*) FROM mdl_message_providers WHERE "
                              "component = 'local_circolo' AND name = 'prompt'") == 1
    for table in ("local_circolo_deliveries", "local_circolo_tombstones"):
        assert moodle_site.scalar("SELECT COUNT(*) FROM information_schema.tables "
                                  "WHERE table_name = %s", (f"mdl_{table}",)) == 1
    # Nothing left to do: running the upgrade again installs nothing and says nothing.
    again = moodle_site.upgrade()
    assert "local_circolo" not in again and "error" not in again.lower(), again
    print(f"\nMoodle install {moodle_site.timings['install']:.0f} s; plugin upgrade "
          f"{moodle_site.timings['upgrade']:.1f} s; upgrade.php said:\n{output.strip()}")


def test_connect_in_chromium_ends_with_a_working_connection(moodle_site, circolo, connected):
    assert "Moodle is connected to Circolo" in connected["page"], connected["page"][:2000]
    assert "Connected since" in connected["page"]
    assert len(connected["tokens"]) == 1
    # Circolo checked the token back and recorded the platform and the plugin's deployment.
    platform = circolo.query("SELECT * FROM platform WHERE issuer = :issuer",
                             issuer=moodle_site.wwwroot)
    assert len(platform) == 1
    tool = moodle_site.run_json(CLI, {"action": "tool"})["type"]
    assert platform[0]["client_id"] == tool["clientid"]
    assert platform[0]["key_set_url"] == f"{moodle_site.wwwroot}/mod/lti/certs.php"
    deployments = circolo.query("SELECT deployment_id FROM deployment WHERE platform_id = :p",
                                p=platform[0]["id"])
    assert [d["deployment_id"] for d in deployments] == [str(tool["id"])]
    connection = circolo.query("SELECT * FROM moodle_connection WHERE platform_id = :p",
                               p=platform[0]["id"])[0]
    assert connected["token"] not in connection["token_ciphertext"]
    assert json.loads(connection["missing_functions"]) == []
    companion = circolo.query("SELECT * FROM companion_connection")[0]
    assert companion["plugin_version"] == "2026120100"
    invite = circolo.query("SELECT used_at, platform_id FROM companion_invite")[0]
    assert invite["used_at"] is not None and invite["platform_id"] == platform[0]["id"]
    # The one-time code works once.
    assert connected["token"] not in circolo.log_path.read_text()
    print(f"\nIT's steps: install the plugin, `flask circolo moodle invite`, paste address and "
          f"code and press Connect; Connect took {connected['seconds']:.1f} s in Chromium")


def test_circolo_is_an_active_lti_tool_in_every_course_activity_chooser(moodle_site, course):
    found = moodle_site.run_json(CLI, {"action": "tool", "courseid": course["courseid"]})
    tool, config = found["type"], found["config"]
    assert int(tool["state"]) == 1  # LTI_TOOL_STATE_CONFIGURED: active, no pending step
    assert int(tool["coursevisible"]) == 2  # LTI_COURSEVISIBLE_ACTIVITYCHOOSER
    assert found["inchooser"] is True
    assert tool["ltiversion"] == "1.3.0"
    assert config["contentitem"] == "1"  # deep linking
    assert config["initiatelogin"].endswith("/lti/login")
    assert config["publickeyset"].endswith("/lti/jwks")


def test_the_service_user_syncs_a_course_it_is_not_enrolled_in(moodle_site, connected, course):
    serviceuser = int(moodle_site.run_json(CLI, {"action": "config"})["serviceuserid"])
    assert moodle_site.scalar("SELECT COUNT(*) FROM mdl_user_enrolments WHERE userid = %s",
                              (serviceuser,)) == 0
    assert course["circolo_course_id"]


def test_the_changes_call_pages_a_course_in_core_shapes(moodle_site, connected, client, course):
    token, courseid = connected["token"], course["courseid"]
    params: dict[str, Any] = {"courseid": courseid, "since": 0, "limit": 6}
    pages = []
    while True:
        status, page = ws(moodle_site, token, "local_circolo_get_course_changes", params)
        recorded(f"local_circolo_get_course_changes.first_read.page{len(pages)}",
                 "local_circolo_get_course_changes", params, status, page)
        pages.append(page)
        if not page["nextcursor"]:
            break
        params = {"courseid": courseid, "since": 0, "until": pages[0]["until"],
                  "cursor": page["nextcursor"], "limit": 6}
    assert len(pages) >= 3
    assert len(pages[0]["course"]) == 1 and pages[0]["forums"]
    assert all(p["course"] == [] and p["forums"] == [] for p in pages[1:])
    assert all(sum(len(p[k]) for k in ("discussions", "posts", "deleted", "users")) <= 6
               for p in pages)

    everything = client.read_course_changes(courseid, limit=6)
    assert {d.discussion.id for d in everything.discussions} == set(course["discussions"])
    assert len(everything.posts) == 3 * 3
    assert {u.user.id for u in everything.users} >= set(course["learners"])
    italian = next(u for u in everything.users if u.user.id == course["learners"][0])
    assert (italian.lang, italian.timezone) == ("it", "Europe/Rome")

    status, missing = ws(moodle_site, token, "local_circolo_get_course_changes",
                         {"courseid": 999999})
    recorded("error.local_circolo_get_course_changes.no_course",
             "local_circolo_get_course_changes", {"courseid": 999999}, status, missing)
    assert missing["exception"]
    status, info = ws(moodle_site, token, "core_webservice_get_site_info", {})
    recorded("core_webservice_get_site_info.plugin_token", "core_webservice_get_site_info", {},
             status, info)


def test_a_new_post_is_in_circolo_within_one_cron_run(moodle_site, circolo, course):
    learner, discussion = course["learners"][1], course["discussions"][0]
    written = time.time()
    post = moodle_site.run_json(CLI, {"action": "post", "userid": learner,
                                      "discussionid": discussion,
                                      "message": "<p>Una risposta nuova</p>"})
    queued = moodle_site.run_json(CLI, {"action": "adhoc"})["queued"]
    assert any('"area":"forum"' in q["customdata"] for q in queued)
    ran = time.monotonic()
    output = moodle_site.adhoc_tasks()  # what cron runs
    cron_seconds = time.monotonic() - ran
    assert "HTTP 202" in output, output[-2000:]
    rows = circolo.wait_for("SELECT id FROM post WHERE moodle_post_id = :id", id=post["postid"])
    seconds = time.time() - written
    assert rows, f"post {post['postid']} never reached Circolo:\n" \
                 f"{circolo.log_path.read_text()[-3000:]}"
    # The event queued a sync of the course. The scheduler's first claim of a newly active
    # course may be syncing it at that moment: then that run holds the course, the event's run
    # is skipped (logged) and the running sync is the one that read the post.
    actions = {r["action"] for r in circolo.query(
        "SELECT action FROM companion_event WHERE moodle_course_id = :c", c=course["courseid"])}
    assert "sync_queued" in actions
    triggers = {r["trigger"] for r in circolo.query(
        "SELECT trigger FROM sync_run WHERE course_id = :c", c=course["circolo_course_id"])}
    assert "event" in triggers or "another worker holds the course" in (
        circolo.log_path.read_text())
    print(f"\nnew post in Circolo's database {seconds:.1f} s after it was written "
          f"(the ad-hoc task run took {cron_seconds:.1f} s)")


def test_changes_since_carry_edits_and_tombstones(moodle_site, connected, client, course):
    before = client.get_course_changes(course["courseid"]).until
    time.sleep(1.1)
    reply = moodle_site.run_json(CLI, {"action": "post", "userid": course["teacher"],
                                       "discussionid": course["discussions"][1],
                                       "message": "<p>Privata</p>", "private": True})
    assert reply["privatereplyto"], "the teacher's private reply is not private"
    doomed = moodle_site.run_json(CLI, {"action": "post", "userid": course["learners"][3],
                                        "discussionid": course["discussions"][2]})
    moodle_site.run_json(CLI, {"action": "delete_post", "postid": doomed["postid"]})
    moodle_site.run_json(CLI, {"action": "unenrol", "courseid": course["courseid"],
                               "userid": course["learners"][4]})
    time.sleep(1.1)
    params = {"courseid": course["courseid"], "since": before}
    status, body = ws(moodle_site, connected["token"], "local_circolo_get_course_changes", params)
    recorded("local_circolo_get_course_changes.since", "local_circolo_get_course_changes",
             params, status, body)
    changes = client.read_course_changes(course["courseid"], since=before)
    private = next(p for p in changes.posts if p.post.id == reply["postid"])
    assert private.post.isprivatereply and private.privatereplyto == reply["privatereplyto"]
    assert doomed["postid"] not in {p.post.id for p in changes.posts}
    assert ("post", doomed["postid"]) in {(t.itemtype, t.itemid) for t in changes.deleted}
    gone = next(u for u in changes.users if u.user.id == course["learners"][4])
    assert gone.enrolled is False
    nothing = client.read_course_changes(course["courseid"], since=changes.until + 1)
    status, body = ws(moodle_site, connected["token"], "local_circolo_get_course_changes",
                      {"courseid": course["courseid"], "since": changes.until + 1})
    recorded("local_circolo_get_course_changes.nothing_new", "local_circolo_get_course_changes",
             {"courseid": course["courseid"], "since": changes.until + 1}, status, body)
    assert not (nothing.posts or nothing.discussions or nothing.deleted or nothing.users)


def test_a_prompt_delivered_twice_is_one_notification_in_the_recipients_language(
        moodle_site, connected, client, course):
    italian = course["learners"][0]
    prompts = [
        {"reference": "circoloe2e1", "userid": italian, "courseid": course["courseid"],
         "text": "<p>Ciao! Puoi dare una mano nella discussione?</p>",
         "contexturl": f"{moodle_site.wwwroot}/mod/forum/discuss.php?d={course['discussions'][0]}"},
        {"reference": "circoloe2e2", "userid": course["learners"][4],
         "courseid": course["courseid"], "text": "<p>Not enrolled any more</p>"},
        {"reference": "circoloe2e3", "userid": 987654, "courseid": course["courseid"],
         "text": "<p>Nobody</p>"},
    ]
    status, first = ws(moodle_site, connected["token"], "local_circolo_deliver_prompts",
                       {"prompts": prompts})
    recorded("local_circolo_deliver_prompts.first", "local_circolo_deliver_prompts",
             {"prompts": prompts}, status, first)
    status, again = ws(moodle_site, connected["token"], "local_circolo_deliver_prompts",
                       {"prompts": prompts})
    recorded("local_circolo_deliver_prompts.repeated", "local_circolo_deliver_prompts",
             {"prompts": prompts}, status, again)
    assert [r["status"] for r in first] == ["delivered", "refused", "refused"]
    assert [r["reason"] for r in first] == ["", "notenrolled", "usernotfound"]
    assert again[0]["repeated"] and again[0]["notificationid"] == first[0]["notificationid"]
    # And through Circolo's client, a third time.
    third = client.deliver_prompts([OutgoingPrompt(reference="circoloe2e1", userid=italian,
                                                   courseid=course["courseid"], text="x")])
    assert third[0].repeated and third[0].delivered
    rows = moodle_site.query("SELECT subject, contexturlname FROM mdl_notifications WHERE "
                             "component = 'local_circolo' AND customdata LIKE %s",
                             ('%"circoloe2e1"%',))
    assert len(rows) == 1
    assert rows[0]["subject"] == "Un suggerimento di Circolo in Comunità di prova"
    assert rows[0]["contexturlname"] == "Apri la discussione"


def test_the_privacy_provider_exports_and_deletes_what_the_plugin_keeps(moodle_site, course):
    italian = course["learners"][0]  # the recipient of the prompt above
    found = moodle_site.run_json(CLI, {"action": "privacy", "userid": italian})
    assert found["compliant"] is True
    assert {"database_table:local_circolo_deliveries", "database_table:local_circolo_tombstones",
            "external_location:circolo", "subsystem_link:core_message"} <= set(found["metadata"])
    assert found["contexts"], "the recipient's course holds their delivery"
    (exported,) = found["exported"].values()
    assert [d["reference"] for d in exported["deliveries"]] == ["circoloe2e1"]
    assert found["left"] == 0


def test_a_user_deleted_in_moodle_is_forgotten_by_circolo(moodle_site, circolo, course):
    learner = course["learners"][3]
    assert circolo.query("SELECT id FROM person WHERE subject = :s", s=str(learner))
    moodle_site.run_json(CLI, {"action": "delete_user", "userid": learner})
    output = moodle_site.adhoc_tasks()
    assert "user_deleted" in output, output[-2000:]
    deadline = time.monotonic() + 60
    while circolo.query("SELECT id FROM person WHERE subject = :s", s=str(learner)):
        assert time.monotonic() < deadline, "the deleted user is still in Circolo"
        time.sleep(0.3)


@pytest.fixture(scope="session")
def large_course(moodle_site: MoodleSite, circolo: CircoloProcess, connected: dict[str, Any],
                 browser: Any) -> Iterator[dict[str, Any]]:
    seeded = moodle_site.run_json(CLI, {"action": "seed", "learners": 60, "discussions": 400,
                                        "replies": 4, "fullname": "Large course"},
                                  timeout=1800)
    activity = moodle_site.run_json(CLI, {"action": "circolo_activity",
                                          "courseid": seeded["courseid"]})
    yield {**seeded, "cmid": activity["cmid"]}


def test_a_first_read_of_400_discussions_next_to_the_core_path(moodle_site, circolo, client,
                                                               browser, large_course):
    # The core web-service path: Circolo's sync today, run by the worker after the launch.
    launch(browser, moodle_site, large_course["teacherusername"], large_course["password"],
           large_course["cmid"], circolo)
    rows = circolo.wait_for(
        "SELECT r.calls, r.started_at, r.finished_at FROM course c JOIN sync_run r "
        "ON r.course_id = c.id WHERE c.moodle_course_id = :m AND r.status = 'succeeded'",
        timeout=600, m=large_course["courseid"])
    assert rows, circolo.log_path.read_text()[-3000:]
    core_calls = rows[0]["calls"]
    core_seconds = (_parse(rows[0]["finished_at"]) - _parse(rows[0]["started_at"]))

    calls, started = client.calls, time.monotonic()
    changes = client.read_course_changes(large_course["courseid"], limit=5000)
    plugin_seconds, plugin_calls = time.monotonic() - started, client.calls - calls
    assert len(changes.discussions) == 400 and len(changes.posts) == 400 * 5
    assert plugin_calls <= 10

    calls, started = client.calls, time.monotonic()
    nothing = client.read_course_changes(large_course["courseid"], since=changes.until + 1)
    nothing_seconds, nothing_calls = time.monotonic() - started, client.calls - calls
    assert nothing_calls == 1 and not nothing.posts
    print("\n| first read of 400 discussions / 2 000 posts / 61 people | calls | seconds |"
          f"\n| core web services (Circolo's sync run, worker, incl. storing) | {core_calls} | "
          f"{core_seconds:.1f} |"
          f"\n| local_circolo_get_course_changes (fetch and load only) | {plugin_calls} | "
          f"{plugin_seconds:.2f} |"
          f"\n| local_circolo_get_course_changes, nothing new | {nothing_calls} | "
          f"{nothing_seconds:.2f} |")


def _parse(value: Any) -> float:
    from datetime import datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.timestamp()


def test_fixtures_exist_for_circolos_unit_tests() -> None:
    names = {p.stem for p in Path(FIXTURES).glob("*.json")}
    assert {"local_circolo_get_course_changes.first_read.page0",
            "local_circolo_deliver_prompts.first"} <= names
