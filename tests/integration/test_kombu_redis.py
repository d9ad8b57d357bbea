"""The worker's Redis transport across a lost connection: a channel closed after its connection was
torn down, holding a message a threaded worker's task has not acknowledged yet, raises a connection
error that kombu ignores on close and Celery logs on a late ack, not the AttributeError that
stopped the worker (kombu's stock transport, kept here as the control)."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from kombu import Connection, Exchange, Queue

from alphapanda.celery import app
from alphapanda.kombu_redis import Transport

pytestmark = pytest.mark.integration


def _holding_an_unacked_message(transport: type | str) -> tuple[Connection, object]:
    """A connection whose channel has delivered one message and not had it acknowledged, then has had
    its transport torn down, as Celery's consumer leaves it when Redis goes away mid-task."""
    conn = Connection(settings.CELERY_BROKER_URL, transport=transport)
    queue = Queue(
        "kombu-redis-test", Exchange("kombu-redis-test", type="direct"), routing_key="kombu-redis-test"
    )
    with conn.Producer() as producer:
        producer.publish({"n": 1}, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])
    delivered = []
    consumer = conn.Consumer(
        queue, callbacks=[lambda body, message: delivered.append(message)], accept=["json"]
    )
    consumer.consume()
    conn.drain_events(timeout=5)
    assert len(delivered) == 1 and consumer.channel.qos._delivered, "one message held unacknowledged"
    conn._do_close_transport()  # what Connection.collect() does as Celery's consumer handles the loss
    return conn, delivered[0]


def test_the_workers_use_the_fixed_transport() -> None:
    with app.connection_for_write() as conn:
        assert type(conn.transport) is Transport


def test_a_torn_down_channel_raises_a_connection_error_that_close_ignores(redis_client) -> None:
    conn, message = _holding_an_unacked_message(Transport)
    conn.close()  # gives the message back, finds no transport: ignored as a lost connection
    with pytest.raises(redis.exceptions.ConnectionError, match="broker connection was closed"):
        message.ack()
    assert isinstance(redis.exceptions.ConnectionError(), conn.connection_errors), "Celery logs it, goes on"


def test_the_stock_transport_raises_attribute_error_there(redis_client) -> None:
    """The control: if kombu fixes this, the fix in alphapanda/kombu_redis.py can go."""
    conn, message = _holding_an_unacked_message("redis")
    with pytest.raises(AttributeError, match="hostname"):
        conn.close()
    with pytest.raises(AttributeError, match="hostname"):
        message.ack()
