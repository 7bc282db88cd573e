import os

import pytest
from huey import MemoryHuey, RedisHuey, SqliteHuey

from middleware.heartbeat import heartbeat, last_heartbeat
from middleware.queue import create_huey, huey


def test_queue_url_selects_the_backend(tmp_path):
    assert isinstance(create_huey(f"sqlite:///{tmp_path}/q.db"), SqliteHuey)
    assert isinstance(create_huey("redis://127.0.0.1:6379/0"), RedisHuey)
    assert isinstance(create_huey("memory://"), MemoryHuey)
    with pytest.raises(ValueError, match="CIRCOLO_QUEUE_URL"):
        create_huey("amqp://127.0.0.1")


def test_periodic_heartbeat_is_registered_every_minute():
    periodic = {task.__name__ for task in huey._registry._periodic_tasks}
    assert any(name.endswith("heartbeat") for name in periodic)


def test_heartbeat_task_records_its_run(app, db_session):
    assert last_heartbeat(db_session) is None
    heartbeat.call_local()
    db_session.expire_all()
    assert last_heartbeat(db_session) is not None


def _consume_one(queue, app):
    """Run one task off a real queue the way the consumer does."""
    task = queue.dequeue()
    assert task is not None
    queue.execute(task)


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_tasks_round_trip_through_a_real_queue(app, db_session, tmp_path, backend):
    if backend == "redis":
        url = os.environ.get("CIRCOLO_QUEUE_URL", "")
        if not url.startswith("redis://"):
            pytest.skip("runs in the scale-out CI pass (CIRCOLO_QUEUE_URL=redis://...)")
        queue = create_huey(url, name=f"circolo-test-{os.getpid()}")
    else:
        queue = create_huey(f"sqlite:///{tmp_path}/queue.db")
    from middleware.heartbeat import record_heartbeat
    from middleware.queue import _in_app_transaction

    task = queue.task()(_in_app_transaction(record_heartbeat))
    try:
        task()
        assert len(queue) == 1
        _consume_one(queue, app)
        db_session.expire_all()
        assert last_heartbeat(db_session) is not None
    finally:
        queue.flush()
