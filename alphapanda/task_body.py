"""How the bridge's batches travel to the workers: one msgspec JSON body, each record's message
embedded as it came from Kafka (raw JSON), where kombu's JSON carried it as an escaped string.

A bridge profile (py-spy at 1,600 signals/s) had kombu's JSON encoding at 11% of the bridge and
base64 at 3%; in a worker, decoding the body was 6-7%. Encoding a record this way costs 1.35 µs
against 4.8, decoding 4.3 against 6.2 (docs/performance.md, "The task body").
The batch tasks still accept kombu's JSON body with records as text: a bridge of the release before
(or a test calling a task directly) keeps working.
"""

from __future__ import annotations

from typing import Any

import msgspec
from kombu.serialization import register

NAME = "alphapanda-batch"
CONTENT_TYPE = "application/x-alphapanda-batch"

# [offset, key, message]: the message is the record's value, already checked whole by the bridge.
RawRecord = tuple[int, str | None, msgspec.Raw]


class BatchKwargs(msgspec.Struct):
    """The keyword arguments of a batch task (`batches.batch_task`); an argument a later release
    adds is left out here, as the task's `**kwargs` would ignore it."""

    broker: str
    topic: str
    parts: list[tuple[int, str, list[RawRecord]]]  # [partition, batch id, records]


_decoder = msgspec.json.Decoder(tuple[list[Any], BatchKwargs, dict[str, Any]])
_encoder = msgspec.json.Encoder()


def record(offset: int, key: str | None, value: bytes) -> list:
    """A record for the body: `value` must be one valid JSON document (the bridge decoded it)."""
    return [offset, key, msgspec.Raw(value)]


def encode(body: tuple) -> bytes:
    """Celery's message body, (args, kwargs, embed)."""
    return _encoder.encode(body)


def decode(data: bytes | str) -> tuple[list, dict[str, Any], dict[str, Any]]:
    args, kwargs, embed = _decoder.decode(data)
    return args, {"broker": kwargs.broker, "topic": kwargs.topic, "parts": kwargs.parts}, embed


def value_bytes(value: str | bytes | msgspec.Raw) -> bytes:
    """A record's message as bytes, whichever body carried it (raw JSON, or text in kombu's JSON)."""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


register(NAME, encode, decode, content_type=CONTENT_TYPE, content_encoding="binary")
