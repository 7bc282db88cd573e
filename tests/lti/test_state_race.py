"""Two launches posting the same state (and so the same nonce) at once: only one passes."""

from __future__ import annotations

import threading
import time

import pytest

from lti.errors import LtiError
from middleware.db import database
from middleware.lti.operations import consume_login_state, start_login
from middleware.models import Platform


def test_a_state_is_consumed_once_under_concurrent_launches(app, registered_platform):
    with app.app_context(), database(app).transaction() as db:
        state = start_login(db, db.get(Platform, registered_platform),
                            target_link_uri="http://127.0.0.1:8090/launch", deployment_id="1",
                            user_agent="test").state
    outcome: dict[str, object] = {}

    def second_launch() -> None:
        with app.app_context(), database(app).session() as other:
            try:
                outcome["found"] = consume_login_state(other, state)
                other.commit()
            except LtiError as refused:
                outcome["refused"] = refused.code
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = repr(error)

    with app.app_context(), database(app).session() as first:
        assert consume_login_state(first, state).state == state  # not committed yet
        racer = threading.Thread(target=second_launch)
        racer.start()
        time.sleep(0.5)  # the second launch is now waiting on the first one's row lock
        first.commit()
        racer.join(timeout=30)
    assert not racer.is_alive()
    assert outcome == {"refused": "state_used"}


def test_a_spent_state_is_refused(app, registered_platform):
    with app.app_context(), database(app).transaction() as db:
        state = start_login(db, db.get(Platform, registered_platform),
                            target_link_uri="http://127.0.0.1:8090/launch", deployment_id="1",
                            user_agent="test").state
    with app.app_context(), database(app).transaction() as db:
        consume_login_state(db, state)
    with app.app_context(), database(app).session() as db, pytest.raises(LtiError) as refused:
        consume_login_state(db, state)
    assert refused.value.code == "state_used"
