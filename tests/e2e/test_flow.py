"""Circolo in a real Moodle, as IT, a teacher and learners meet it; the steps run in this order.

1. IT registers Circolo from Moodle's *Manage tools* page (dynamic registration), activates it
   and shows it in the activity chooser.
2. A teacher adds Circolo to the course from the activity chooser with *Select content*.
3. Learners and the teacher open it, in Italian and in English, one with Circolo's cookies
   refused; the teacher sets mentoring to review first.
4. IT connects the web services; the teacher syncs; Circolo holds what Moodle's tables hold; a
   sync with nothing new costs 1 + (number of forums) calls.
5. The teacher approves prompts; each arrives in Moodle once, in its recipient's language.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import create_engine, text

from tests.e2e.conftest import screenshot, wait_until
from tests.e2e.moodle_ui import (
    TIMEOUT_MS,
    blocking_cookies_profile,
    circolo_frame,
    edit_mode_on,
    log_in,
)
from tests.e2e.seeding import HIDDEN_FORUM

#: What the teacher picks in Circolo's deep-linking page, and the activities Moodle then adds.
ACTIVITIES = ("Community", "Community dashboard")


def circolo_rows(circolo: Any, sql: str, **params: Any) -> list[Any]:
    """Rows of Circolo's own database (for what no page shows, e.g. stored languages)."""
    engine = create_engine(circolo.env["CIRCOLO_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


# --- 1. IT registers Circolo ---------------------------------------------------------------------

def test_1_it_registers_circolo_from_manage_tools(person_page, moodle_site, circolo, flow):
    urls = circolo.flask("urls").stdout
    [registration_url] = re.findall(r"Dynamic registration \(paste into Moodle\)\s+(\S+)", urls)
    page = person_page("admin")
    page.goto(f"{moodle_site.wwwroot}/mod/lti/toolconfigure.php", wait_until="networkidle")
    page.get_by_placeholder("Tool URL...").fill(registration_url)
    page.get_by_role("button", name="Add LTI Advantage").click()

    # Circolo's page in Moodle's dialog registers and closes it; Moodle lists a pending tool.
    card = page.locator(".tool-card", has_text="Circolo")
    card.wait_for(timeout=TIMEOUT_MS)
    screenshot(page, "1-registered")
    assert "Pending" in card.inner_text()
    assert flow.recorder.registration_queries, "Moodle never opened Circolo's registration URL"
    flow.client_id = card.get_attribute("data-clientid")
    flow.deployment_id = card.get_attribute("data-deploymentid")
    [row] = [line for line in circolo.flask("platform", "list").stdout.splitlines()
             if f"client_id={flow.client_id}" in line]
    assert moodle_site.wwwroot in row and f"deployments={flow.deployment_id}" in row
    flow.platform_id = row.split()[0]

    card.get_by_role("link", name="Activate").click()
    card.get_by_text("Active", exact=True).wait_for()
    # A dynamically registered tool is only "preconfigured": IT shows it in the chooser.
    card.locator("a.edit").click()
    page.wait_for_load_state("networkidle")
    page.get_by_label("Tool configuration usage", exact=True).select_option(
        label="Show in activity chooser and as a preconfigured tool")
    with page.expect_navigation():
        page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "1-activated")
    assert "Pending" not in page.locator(".tool-card", has_text="Circolo").inner_text()
    [tool] = moodle_site.query("select state, coursevisible from mdl_lti_types where clientid = %s",
                               (flow.client_id,))
    assert (tool["state"], tool["coursevisible"]) == (1, 2)  # configured, in the chooser


# --- 2. a teacher adds it with Select content ----------------------------------------------------

def test_2_a_teacher_adds_circolo_from_the_activity_chooser(person_page, moodle_site, seeded,
                                                            circolo, flow):
    page = person_page("cverdi")
    page.goto(f"{moodle_site.wwwroot}/course/view.php?id={seeded.course_id}",
              wait_until="networkidle")
    edit_mode_on(page)
    page.locator("li#section-1").get_by_role("button",
                                             name="Add an activity or resource").click()
    chooser = page.get_by_role("dialog")
    chooser.locator("[data-region='chooser-option-container']", has_text="Circolo").first \
        .locator("a").first.click()
    page.wait_for_load_state("networkidle")
    assert "/course/modedit.php" in page.url and "add=lti" in page.url
    page.get_by_role("button", name="Select content").click()

    # "Select content" is already a launch: Circolo's deep-linking page, in the teacher's English.
    frame = circolo_frame(page, circolo.base_url, path="/lti/deep-link")
    assert frame.get_by_role("heading", level=1).inner_text() == "Add Circolo to your course"
    frame.get_by_label("Community dashboard").check()
    assert frame.get_by_label("Community", exact=True).is_checked()
    frame.get_by_role("button", name="Add to course").click()
    page.get_by_text("The following items will be added to your course:").wait_for()
    assert set(ACTIVITIES) <= set(page.locator("li > strong").all_inner_texts())
    with page.expect_navigation(url=re.compile(r"/course/view\.php")):
        page.get_by_role("button", name="Save and return to course").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "2-added")
    for name in ACTIVITIES:
        link = page.locator("a[href*='/mod/lti/view.php']", has_text=re.compile(
            rf"^\s*{re.escape(name)}\s*(External tool)?\s*$")).first
        flow.activities[name] = int(parse_qs(urlsplit(link.get_attribute("href")).query)
                                    ["id"][0])
    assert len(set(flow.activities.values())) == 2


# --- 3. launches ---------------------------------------------------------------------------------

def open_activity(page: Any, moodle_site: Any, circolo: Any, cmid: int, path: str) -> Any:
    page.goto(f"{moodle_site.wwwroot}/mod/lti/view.php?id={cmid}")
    return circolo_frame(page, circolo.base_url, path=path)


def first_name(seeded: Any, username: str) -> str:
    return seeded.person(username)["firstname"]


def test_3a_an_italian_learner_sees_the_community_in_italian(person_page, moodle_site, seeded,
                                                             circolo, flow):
    learner = seeded.people(role="student", lang="it")[0]["username"]
    page = person_page(learner)
    frame = open_activity(page, moodle_site, circolo, flow.activities["Community"], "/pane")
    screenshot(page, "3a-italian-pane")
    assert frame.locator("html").get_attribute("lang") == "it"
    assert frame.get_by_role("heading", level=1).inner_text() == (
        f"Ciao {first_name(seeded, learner)}, questa è la comunità del tuo corso")
    claims = flow.recorder.claims()[-1]
    assert claims["sub"] == str(seeded.user_id(learner))
    assert claims["https://purl.imsglobal.org/spec/lti/claim/launch_presentation"][
        "locale"] == "it"


def test_3b_an_english_learner_sees_it_in_english(person_page, moodle_site, seeded, circolo,
                                                  flow):
    learner = seeded.people(role="student", lang="en")[0]["username"]
    page = person_page(learner)
    frame = open_activity(page, moodle_site, circolo, flow.activities["Community"], "/pane")
    assert frame.locator("html").get_attribute("lang") == "en"
    assert frame.get_by_role("heading", level=1).inner_text() == (
        f"Hello {first_name(seeded, learner)}, this is your course community")


def test_3c_a_learner_whose_browser_refuses_circolos_cookies_still_uses_it(
        playwright_instance, chromium_executable, moodle_site, seeded, circolo, flow,
        tmp_path):
    from tests.conftest import CHROMIUM_ARGS

    learner = seeded.people(role="student", lang="it")[1]["username"]
    profile = blocking_cookies_profile(tmp_path / "profile", "http://localhost:*")
    context = playwright_instance.chromium.launch_persistent_context(
        str(profile), executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1200, "height": 900})
    try:
        context.set_default_timeout(TIMEOUT_MS)
        flow.recorder.watch(context, learner)
        page = context.pages[0] if context.pages else context.new_page()
        log_in(page, moodle_site.wwwroot, learner, seeded.password)  # Moodle's cookies work
        frame = open_activity(page, moodle_site, circolo, flow.activities["Community"], "/pane")
        assert frame.get_by_role("heading", level=1).inner_text().startswith("Ciao ")
        assert context.cookies(circolo.base_url) == []
        # The pane's own forms carry the launch (and their CSRF token) without a cookie:
        # switching the language posts one.
        frame.get_by_role("button", name="English").click()
        frame = wait_until(lambda: next((f for f in page.frames if f.url.startswith(
            circolo.base_url) and f.locator("html").get_attribute("lang") == "en"), None),
            timeout=30, every=0.3, what="the pane in English", page=page)
        assert frame.get_by_role("heading", level=1).inner_text().startswith("Hello ")
        assert context.cookies(circolo.base_url) == []
        screenshot(page, "3c-without-cookies")
    finally:
        context.close()


def test_3d_the_teacher_opens_the_dashboard_and_asks_for_review_first(person_page, moodle_site,
                                                                      seeded, circolo, flow):
    page = person_page("cverdi")
    frame = open_activity(page, moodle_site, circolo, flow.activities["Community dashboard"],
                          "/dashboard")
    assert frame.locator("html").get_attribute("lang") == "en"
    assert frame.get_by_role("heading", level=1).inner_text() == "Community dashboard"
    claims = flow.recorder.claims()[-1]
    assert "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor" in claims[
        "https://purl.imsglobal.org/spec/lti/claim/roles"]
    # Before anything is synced (prompts could go out at once): review first, in the course's
    # time zone for people whose zone Moodle does not tell.
    frame.get_by_role("link", name="Rules and their thresholds").click()
    frame = circolo_frame(page, circolo.base_url, path="/dashboard/mentoring/")
    frame.get_by_label("After my review: each prompt waits in the review queue").check()
    frame.get_by_label(re.compile("^Course time zone")).fill(seeded.zone)
    frame.get_by_role("button", name="Save").click()
    frame = wait_until(lambda: next((f for f in page.frames if f.url.startswith(
        circolo.base_url) and "done=saved" in f.url), None), timeout=30, every=0.3,
        what="the saved mentoring rules", page=page)
    frame.wait_for_load_state()
    assert frame.get_by_label("After my review: each prompt waits in the review "
                              "queue").is_checked()
    [course] = circolo_rows(circolo, "select id from course where context_id = :id",
                            id=str(seeded.course_id))
    flow.circolo_course_id = course.id


# --- 4. web services and sync --------------------------------------------------------------------

def test_4a_it_connects_the_web_services(circolo, moodle_site, seeded, webservices, flow):
    connected = circolo.flask("moodle", "connect", "--platform", moodle_site.wwwroot, "--url",
                              moodle_site.wwwroot, "--course", str(seeded.course_id),
                              env={"CIRCOLO_MOODLE_TOKEN": webservices.token})
    output = connected.stdout
    assert webservices.token not in output + connected.stderr
    assert "Every function Circolo needs is in the token's service." in output, output
    assert f"The role's capabilities work in course {seeded.course_id}." in output, output
    assert "lacks" not in output, output


def test_4b_a_sync_brings_what_moodles_tables_hold(person_page, moodle_site, seeded, circolo,
                                                   webservices, flow):
    page = person_page("cverdi")
    frame = open_activity(page, moodle_site, circolo, flow.activities["Community dashboard"],
                          "/dashboard")
    frame.get_by_role("button", name="Sync now").click()

    def synced() -> Any:
        rows = circolo_rows(circolo, "select status, calls, error from sync_run where "
                            "course_id = :id and status != 'running' order by id desc",
                            id=flow.circolo_course_id)
        return next((r for r in rows if r.status == "succeeded"), None)

    run = wait_until(synced, timeout=180, every=2, what="a successful sync")
    flow.figures["first sync (full, with the roster)"] = f"{run.calls} web-service calls"
    course = seeded.course_id
    moodle = {
        "forums": moodle_site.scalar("select count(*) from mdl_forum where course = %s",
                                     (course,)),
        "discussions": moodle_site.scalar(
            "select count(*) from mdl_forum_discussions where course = %s", (course,)),
        "posts": moodle_site.scalar(
            "select count(*) from mdl_forum_posts p join mdl_forum_discussions d "
            "on d.id = p.discussion where d.course = %s", (course,)),
    }
    ours = {
        "forums": circolo_rows(circolo, "select count(*) from forum where course_id = :c "
                               "and not deleted", c=flow.circolo_course_id)[0][0],
        "discussions": circolo_rows(circolo, "select count(*) from discussion where "
                                    "course_id = :c and not deleted",
                                    c=flow.circolo_course_id)[0][0],
        "posts": circolo_rows(circolo, "select count(*) from post where course_id = :c",
                              c=flow.circolo_course_id)[0][0],
    }
    assert ours == moodle
    hidden = circolo_rows(circolo, "select name from forum where course_id = :c and name = :n",
                          c=flow.circolo_course_id, n=HIDDEN_FORUM)
    assert hidden, "the hidden forum was not synced"

    # Languages and time zones come from the users' profiles, not from the roster.
    profiles = {str(r["id"]): (r["lang"], "" if r["timezone"] == "99" else r["timezone"])
                for r in moodle_site.query(
                    "select u.id, u.lang, u.timezone from mdl_user u join mdl_user_enrolments "
                    "ue on ue.userid = u.id join mdl_enrol e on e.id = ue.enrolid "
                    "where e.courseid = %s", (course,))}
    stored = {r.subject: (r.lang, r.timezone) for r in circolo_rows(
        circolo, "select subject, lang, timezone from person")}
    assert {k: stored.get(k) for k in profiles} == profiles
    assert any(lang == "it" for lang, _ in profiles.values())

    # What the teacher sees: the sync, then the analysis of Moodle's forums.
    def analysed() -> Any:
        page.reload()
        found = circolo_frame(page, circolo.base_url, path="/dashboard")
        return found if found.get_by_text("Last synced").count() and not found.get_by_text(
            "Circolo has not analysed this course yet").count() else None

    frame = wait_until(analysed, timeout=180, every=3, what="the analysed dashboard", page=page)
    screenshot(page, "4b-synced")
    names = set(frame.locator("#attention .item-title").all_inner_texts())
    moodle_names = {r["name"] for r in moodle_site.query(
        "select name from mdl_forum_discussions where course = %s", (course,))}
    assert names and names <= moodle_names | {
        f"{u['firstname']} {u['lastname']}" for u in seeded.spec["users"]}


def test_4c_a_sync_with_nothing_new_costs_one_call_per_forum_and_one(circolo, moodle_site,
                                                                     seeded, flow):
    forums = moodle_site.scalar("select count(*) from mdl_forum where course = %s",
                                (seeded.course_id,))

    def quiet_sync() -> Any:
        done = circolo.flask("moodle", "sync", str(flow.circolo_course_id), check=False)
        return done if done.returncode == 0 else None  # the worker may hold the course

    done = wait_until(quiet_sync, timeout=120, every=3, what="a sync the worker lets us run")
    match = re.search(r"succeeded: (\d+) calls, (\d+) changed", done.stdout)
    assert match, done.stdout
    flow.figures["sync with nothing new"] = f"{match.group(1)} calls ({forums} forums)"
    assert (int(match.group(1)), int(match.group(2))) == (1 + forums, 0)


# --- 5. review first, then Moodle's messages -----------------------------------------------------

def marker_of(lang: str) -> str:
    """The reference line every message carries, in the language it was written in."""
    return "Riferimento Circolo:" if lang == "it" else "Circolo reference:"


def messages_to(moodle_site: Any, sender: int, recipient: int) -> list[dict[str, Any]]:
    """Every message and notification `sender` sent to `recipient`, from Moodle's own tables."""
    messages = moodle_site.query(
        "select m.fullmessage as text from mdl_messages m join mdl_message_conversation_members "
        "cm on cm.conversationid = m.conversationid where m.useridfrom = %s and cm.userid = %s",
        (sender, recipient))
    notifications = moodle_site.query(
        "select fullmessage as text from mdl_notifications where useridfrom = %s and "
        "useridto = %s", (sender, recipient))
    return messages + notifications


def test_5_approved_prompts_arrive_once_in_moodle_in_their_recipients_language(
        person_page, moodle_site, seeded, circolo, webservices, flow):
    page = person_page("cverdi")

    def queue() -> Any:
        page.reload()
        frame = circolo_frame(page, circolo.base_url, path="/dashboard")
        items = frame.locator("#prompts li", has=frame.get_by_role("button", name="Send"))
        return (frame, items) if items.count() else None

    frame, items = wait_until(queue, timeout=180, every=3, what="prompts to review", page=page)
    screenshot(page, "5-review-queue")
    learners = {f"{u['firstname']} {u['lastname']}": u for u in seeded.people(role="student")}
    chosen: dict[str, str] = {}  # language -> the learner whose prompt the teacher sends
    for title in frame.locator("#prompts li .item-title").all_inner_texts():
        name = re.sub(r"^To (.+?) · .*$", r"\1", title.strip())
        if name in learners:
            chosen.setdefault(learners[name]["lang"] or "en", name)
    assert "it" in chosen, f"no prompt to an Italian learner in {items.all_inner_texts()}"
    sent: dict[str, tuple[int, str]] = {}
    for lang, name in sorted(chosen.items()):
        item = frame.locator("#prompts li", has_text=f"To {name} ·").first
        # What the teacher reads is what the learner gets, with the link and reference added.
        shown = item.locator(".post-excerpt").inner_text().split("{link}")[0]
        item.get_by_role("button", name="Send").click()
        frame = wait_until(lambda: next((f for f in page.frames if f.url.startswith(
            circolo.base_url) and "done=prompt_sent" in f.url), None), timeout=30, every=0.3,
            what="the dashboard after approving", page=page)
        frame.wait_for_load_state()
        recipient = seeded.user_id(learners[name]["username"])
        found = wait_until(lambda r=recipient: messages_to(moodle_site, webservices.userid, r),
                           timeout=150, every=2, what=f"the prompt to {name} in Moodle")
        assert len(found) == 1, found  # once, in mdl_messages or mdl_notifications
        text = " ".join(found[0]["text"].split())
        assert " ".join(shown.split()) in text
        assert marker_of(lang) in text
        assert marker_of("en" if lang == "it" else "it") not in text
        sent[name] = (recipient, text)
    # Later deliveries (the worker's every minute) did not send any of them again.
    for name, (recipient, text) in sent.items():
        assert [" ".join(m["text"].split()) for m in messages_to(
            moodle_site, webservices.userid, recipient)] == [text], name
    flow.figures["prompts approved, found once in Moodle"] = ", ".join(
        f"{name} ({lang})" for lang, name in sorted(chosen.items()))
