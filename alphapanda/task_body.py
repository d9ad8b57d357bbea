"""How the bridge's batches travel to the workers: the records wait in a Redis key of the broker's
(`<broker>:bridge:body:<id>`) and the Celery task carries only that key (a claim check).

Carried in the task message, a batch of 2,000 ticks (1.4 MB) cost kombu's Redis transport 8 ms to
send (JSON of the base64 of the body) and 7-10 ms to receive (base64 decoding, JSON), and kombu
wrote the whole message once more into its unacked hash on delivery: 40 ms p50 from the bridge's
send to the task's start on an idle worker at 20,000 ticks/s (docs/performance.md, "The batch
body"). Here the body is one msgspec JSON document, each record's Kafka message embedded raw. A
body is deleted with its task's done report (`bridge.report_done`); one whose task never ran (lost,
or sent again) expires after `TTL_S`.
"""

from __future__ import annotations

import msgspec
import redis

from alphapanda import envelope

TTL_S = 24 * 3600  # longer than any batch waits: the bridge sends again after its queue timeout (300 s)

# [offset, key, message]: the message is the record's value, already checked whole by the bridge.
RawRecord = tuple[int, str | None, msgspec.Raw]
Part = tuple[int, str, list[RawRecord]]  # [partition, batch id, records]

_decoder = msgspec.json.Decoder(list[Part])
_encoder = msgspec.json.Encoder()


def record(offset: int, key: str | None, value: bytes) -> list:
    """A record for the body: `value` must be one valid JSON document (the bridge decoded it)."""
    return [offset, key, msgspec.Raw(value)]


def encode(parts: list) -> bytes:
    return _encoder.encode(parts)


def decode(data: bytes | str) -> list[Part]:
    return _decoder.decode(data)


def key(broker: str, body_id: str) -> str:
    return f"{broker}:bridge:body:{body_id}"


def of_broker(broker: str, body_key: str) -> bool:
    return body_key.startswith(key(broker, ""))


def put(client: redis.Redis, broker: str, body: bytes) -> str:
    """Store an encoded body for `broker`'s task; returns the key the task carries."""
    body_key = key(broker, envelope.new_id())
    client.set(body_key, body, ex=TTL_S)
    return body_key


def take(client: redis.Redis, body_key: str) -> list[Part] | None:
    """The body's batches, or `None` when it is gone: its task finished already, or it expired."""
    data = client.get(body_key)
    return None if data is None else decode(data)


def value_bytes(value: str | bytes | msgspec.Raw) -> bytes:
    """A record's message as bytes, however the batch carried it (raw JSON from a body, or text
    when a task is called directly with its `parts`)."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)
