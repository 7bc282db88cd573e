"""The platform services client: tokens, NRPS paging, AGS, and how it fails."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs

import jwt
import pytest
import requests
import responses

from lti.services import (
    AGS_LINEITEM_SCOPE,
    AGS_SCORE_SCOPE,
    CLIENT_ASSERTION_TYPE,
    NRPS_SCOPE,
    LineItem,
    PlatformServices,
    Score,
    ServiceError,
    scores_url,
)

from .conftest import CLIENT_ID, ISSUER, TOKEN_URL

MEMBERSHIPS = f"{ISSUER}/mod/lti/services.php/CourseSection/2/bindings/1/memberships"


def _token_answer(calls: list, *, expires_in: int = 3600, prefix: str = "access-1",
                  delay: float = 0.0):
    def answer(request):
        calls.append(request)
        if delay:
            time.sleep(delay)
        form = parse_qs(request.body)
        body = {"access_token": f"{prefix}-{len(calls)}", "token_type": "Bearer",
                "expires_in": expires_in, "scope": form["scope"][0]}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)
    return answer


def test_token_request_carries_a_private_key_jwt_assertion(http_mock, services, tool_key):
    calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls))

    before = int(time.time())
    token = services.access_token([NRPS_SCOPE])

    assert token == "access-1-1"
    form = parse_qs(calls[0].body)
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_assertion_type"] == [CLIENT_ASSERTION_TYPE]
    assert form["scope"] == [NRPS_SCOPE]
    assertion = form["client_assertion"][0]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "kid": "tool-key-1",
                                                    "typ": "JWT"}
    claims = jwt.decode(assertion, tool_key.private_key.public_key(), algorithms=["RS256"],
                        audience=TOKEN_URL, issuer=CLIENT_ID)
    assert claims["sub"] == CLIENT_ID
    assert claims["aud"] == TOKEN_URL
    assert before <= claims["iat"] <= int(time.time())
    assert 0 < claims["exp"] - claims["iat"] <= 600
    assert len(claims["jti"]) >= 16


def test_each_assertion_has_its_own_jti(http_mock, services):
    calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls))
    services.access_token([NRPS_SCOPE])
    services.access_token([AGS_SCORE_SCOPE])
    jtis = {jwt.decode(parse_qs(c.body)["client_assertion"][0],
                       options={"verify_signature": False})["jti"] for c in calls}
    assert len(jtis) == 2


def test_tokens_are_cached_per_scope_set_until_shortly_before_expiry(http_mock, services):
    calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls))

    first = services.access_token([NRPS_SCOPE])
    assert services.access_token([NRPS_SCOPE]) == first
    assert len(calls) == 1
    # Scope order does not matter; a different set is a different token.
    both = services.access_token([AGS_SCORE_SCOPE, AGS_LINEITEM_SCOPE])
    assert services.access_token([AGS_LINEITEM_SCOPE, AGS_SCORE_SCOPE]) == both
    assert len(calls) == 2
    assert both != first
    assert parse_qs(calls[1].body)["scope"] == [f"{AGS_LINEITEM_SCOPE} {AGS_SCORE_SCOPE}"]


def test_a_token_about_to_expire_is_renewed(http_mock, services):
    calls: list = []
    # 30 s of life is inside the renewal margin: the client must not reuse it.
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls, expires_in=30))
    first = services.access_token([NRPS_SCOPE])
    second = services.access_token([NRPS_SCOPE])
    assert first != second
    assert len(calls) == 2


def test_the_cache_is_shared_by_clients_of_the_same_platform(http_mock, endpoints, tool_key,
                                                             token_cache):
    calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls))
    one = PlatformServices(endpoints, lambda: tool_key, token_cache=token_cache)
    other = PlatformServices(endpoints, lambda: tool_key, token_cache=token_cache)
    assert one.access_token([NRPS_SCOPE]) == other.access_token([NRPS_SCOPE])
    assert len(calls) == 1


def test_concurrent_misses_ask_the_platform_once(http_mock, services):
    calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(calls, delay=0.2))
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda: tokens.append(services.access_token([NRPS_SCOPE])))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert set(tokens) == {"access-1-1"}


def _membership_page(recorded: dict, members: list[dict], next_url: str | None):
    headers = {}
    if next_url:
        headers["Link"] = f'<{next_url}>; rel="next"'
    body = dict(recorded["body"], members=members)
    return responses.Response(responses.GET, "", json=body, headers=headers,
                              content_type=recorded["content_type"].split(";")[0])


def test_memberships_follow_the_next_link_over_three_pages(http_mock, services, lti_fixture):
    recorded = lti_fixture("nrps_memberships.json")
    page = recorded["memberships_response"]
    first_url = recorded["memberships_request"]["url"]
    # The recorded page and its Link header, then two more pages in the same shape.
    second_url = page["link_header"].split(">")[0].lstrip("<")
    third_url = f"{MEMBERSHIPS}?limit=10&from=20"
    assert second_url == f"{MEMBERSHIPS}?limit=10&from=10"
    members = page["body"]["members"]
    teacher = {"status": "Active", "roles": ["Instructor"], "user_id": "3", "name": "Carla Verdi",
               "given_name": "Carla", "family_name": "Verdi",
               "email": "carla.verdi@example.org", "ext_user_username": "prof.verdi",
               "lis_person_sourcedid": "", "picture": "ignored, unknown field"}
    no_pii = {"status": "Inactive", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/"
                                              "membership#Learner"], "user_id": "50"}
    token_calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(token_calls))
    for url, chunk, following in ((first_url, members, second_url),
                                  (second_url, [teacher], third_url),
                                  (third_url, [no_pii], None)):
        answer = _membership_page(page, chunk, following)
        answer.url = url
        answer.match = [responses.matchers.query_string_matcher(url.split("?", 1)[1])]
        http_mock.add(answer)

    roster = list(services.memberships(first_url))

    assert [m.user_id for m in roster] == [m["user_id"] for m in members] + ["3", "50"]
    assert roster[0].name == "Riccardo Barbieri"
    assert roster[0].username == "learner18"
    assert roster[0].roles == ("Learner",)
    assert roster[-2].roles == ("Instructor",) and roster[-2].email == "carla.verdi@example.org"
    assert roster[-1].active is False and roster[-1].email is None and roster[-1].name == ""
    sent = [call.request for call in http_mock.calls if call.request.method == "GET"]
    assert [r.url for r in sent] == [first_url, second_url, third_url]
    for request in sent:
        assert request.headers["Accept"] == recorded["memberships_request"]["accept"]
        assert request.headers["Authorization"] == "Bearer access-1-1"
    assert len(token_calls) == 1
    assert parse_qs(token_calls[0].body)["scope"] == [recorded["token_request"]["scope"]]


def test_a_next_link_that_loops_is_an_error(http_mock, services):
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer([]))
    http_mock.add(responses.GET, MEMBERSHIPS, json={"members": []},
                  headers={"Link": f'<{MEMBERSHIPS}>; rel="next"'})
    with pytest.raises(ServiceError, match="paging does not end"):
        list(services.memberships(MEMBERSHIPS))


def test_line_items_are_listed_from_the_recorded_shape(http_mock, services, lti_fixture):
    recorded = lti_fixture("ags_score.json")
    token_calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(token_calls))
    http_mock.add(responses.GET, recorded["lineitems_request"]["url"],
                  json=recorded["lineitems_response"]["body"])

    items = services.line_items(recorded["lineitems_request"]["url"])

    assert items == [LineItem(id=recorded["lineitems_response"]["body"][0]["id"],
                              label="Community pane (capture)", score_maximum=100,
                              resource_link_id="1")]
    request = http_mock.calls[-1].request
    assert request.headers["Accept"] == recorded["lineitems_request"]["accept"]
    assert parse_qs(token_calls[0].body)["scope"] == [AGS_LINEITEM_SCOPE]


def test_a_line_item_is_created_with_the_lineitem_media_type(http_mock, services):
    container = f"{ISSUER}/mod/lti/services.php/2/lineitems?type_id=1"
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer([]))
    created = {"id": f"{ISSUER}/mod/lti/services.php/2/lineitems/9/lineitem?type_id=1",
               "label": "Participation", "scoreMaximum": 10, "tag": "circolo-participation",
               "resourceId": "circolo"}
    http_mock.add(responses.POST, container, json=created, status=201)

    item = services.create_line_item(container, LineItem(label="Participation", score_maximum=10,
                                                         tag="circolo-participation",
                                                         resource_id="circolo"))

    assert item.id == created["id"]
    request = http_mock.calls[-1].request
    assert request.headers["Content-Type"] == "application/vnd.ims.lis.v2.lineitem+json"
    assert json.loads(request.body) == {"label": "Participation", "scoreMaximum": 10,
                                        "tag": "circolo-participation", "resourceId": "circolo"}


def test_a_score_is_posted_as_moodle_accepted_it(http_mock, services, lti_fixture):
    recorded = lti_fixture("ags_score.json")
    lineitem = recorded["lineitems_response"]["body"][0]["id"]
    token_calls: list = []
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer(token_calls))
    http_mock.add(responses.POST, recorded["score_request"]["url"], body="", status=200)
    expected = recorded["score_request"]["body"]

    services.post_score(lineitem, Score(
        user_id="11", score_given=7, score_maximum=10, comment="Partecipazione alla comunità",
        timestamp=datetime(2026, 11, 23, 18, 54, 12, tzinfo=UTC)))

    request = http_mock.calls[-1].request
    assert request.url == recorded["score_request"]["url"]
    assert request.headers["Content-Type"] == recorded["score_request"]["content_type"]
    assert request.headers["Authorization"] == "Bearer access-1-1"
    assert json.loads(request.body) == expected
    assert parse_qs(token_calls[0].body)["scope"] == [AGS_SCORE_SCOPE]


def test_scores_url_keeps_the_query_string():
    assert scores_url("http://m/services.php/2/lineitems/3/lineitem?type_id=1") == (
        "http://m/services.php/2/lineitems/3/lineitem/scores?type_id=1")


def test_a_naive_score_timestamp_is_refused():
    with pytest.raises(ValueError):
        Score(user_id="1", score_given=1, score_maximum=1,
              timestamp=datetime(2026, 1, 1)).as_json()


@pytest.mark.parametrize("failure", [
    {"status": 401, "json": {"error": "invalid_client"}},
    {"status": 500, "body": "oops"},
    {"status": 302, "headers": {"Location": "http://elsewhere.example/"}},
    {"status": 200, "body": "<html>not json</html>"},
    {"status": 200, "json": {"token_type": "Bearer"}},
    {"status": 200, "json": {"access_token": "x", "token_type": "mac"}},
    {"body": requests.ConnectionError("refused")},
    {"body": requests.ReadTimeout("slow")},
])
def test_token_failures_become_one_service_error(http_mock, services, failure):
    http_mock.add(responses.POST, TOKEN_URL, **failure)
    with pytest.raises(ServiceError):
        services.access_token([NRPS_SCOPE])


@pytest.mark.parametrize("failure", [
    {"status": 403, "body": "forbidden"},
    {"status": 200, "body": "not json"},
    {"status": 200, "json": {"members": [{"roles": ["Learner"]}]}},
    {"status": 200, "json": {"id": "no members"}},
    {"body": requests.ConnectionError("refused")},
])
def test_membership_failures_become_one_service_error(http_mock, services, failure):
    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer([]))
    http_mock.add(responses.GET, MEMBERSHIPS, **failure)
    with pytest.raises(ServiceError):
        list(services.memberships(MEMBERSHIPS))


def test_every_call_has_a_timeout(http_mock, endpoints, tool_key, token_cache):
    seen: list = []

    class RecordingSession(requests.Session):
        def request(self, method, url, **kwargs):
            seen.append(kwargs.get("timeout"))
            return super().request(method, url, **kwargs)

    http_mock.add_callback(responses.POST, TOKEN_URL, callback=_token_answer([]))
    http_mock.add(responses.GET, MEMBERSHIPS, json={"members": []})
    client = PlatformServices(endpoints, lambda: tool_key, http=RecordingSession(),
                              token_cache=token_cache)
    list(client.memberships(MEMBERSHIPS))
    assert len(seen) == 2 and all(seen)
