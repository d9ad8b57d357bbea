"""Kombu's Redis transport, with one fix: a channel used after its connection was torn down raises a
connection error, not an `AttributeError`.

When a worker loses Redis, Celery's consumer clears the connection's transport and then closes the
connection; a channel that still holds unacknowledged messages (a threaded worker's running tasks
hold theirs) tries to give them back through the transport, finds it cleared, and kombu's stock
transport raises `AttributeError` from `_connparams` (kombu #582, #970). That is not one of the
errors kombu and Celery treat as a lost connection, so the worker stopped ("Unrecoverable error")
instead of reconnecting. As a connection error it is ignored on close, logged on a late ack, and
the worker reconnects; the messages it could not give back are sent again by the bridge, and the
tasks are idempotent.
"""

from __future__ import annotations

from kombu.transport import redis as kombu_redis
from redis import exceptions


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict:
        if self.connection.client is None:
            raise exceptions.ConnectionError("the broker connection was closed; the worker reconnects")
        return super()._connparams(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    Channel = Channel
