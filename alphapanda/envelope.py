"""The versioned JSON envelope every message travels in, and its validation on the way in.

`decode(topic, value)` either returns a typed `Message` or raises `InvalidMessage` with a reason a
person can act on; the reason is what the DLQ records. The topic decides which event type (and so
which payload schema) is acceptable, and the broker in the envelope must be the broker in the topic.
"""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from dataclasses import dataclass
from decimal import InvalidOperation
from typing import Annotated, Any

import msgspec

from alphapanda import events, topics

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})
MAX_MESSAGE_BYTES = 1_000_000

TICK = "tick"
SIGNAL = "signal"
SIGNAL_VALIDATED = "signal.validated"
SIGNAL_REJECTED = "signal.rejected"
ORDER_PLACED = "order.placed"
ORDER_FILLED = "order.filled"
ORDER_FAILED = "order.failed"
DEAD_LETTER = "dead_letter"

# stream -> (event type, payload type): the one type each topic carries.
STREAM_TYPES: dict[str, tuple[str, type]] = {
    topics.MARKET_TICKS: (TICK, events.Tick),
    topics.SIGNALS_RAW: (SIGNAL, events.Signal),
    topics.SIGNALS_VALIDATED: (SIGNAL_VALIDATED, events.Signal),
    topics.SIGNALS_REJECTED: (SIGNAL_REJECTED, events.SignalRejection),
    topics.ORDERS_PLACED: (ORDER_PLACED, events.Order),
    topics.ORDERS_FILLED: (ORDER_FILLED, events.Fill),
    topics.ORDERS_FAILED: (ORDER_FAILED, events.OrderFailure),
}
PAYLOAD_TYPES: dict[str, type] = {t: p for t, p in STREAM_TYPES.values()} | {DEAD_LETTER: events.DeadLetter}

EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=events.PRINTABLE)]


class Envelope(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: EventId
    type: str
    version: int
    broker: str | None = None
    correlation_id: EventId
    causation_id: EventId | None = None
    ts_event: events.Nanos  # when the thing happened (the tick's exchange time onwards)
    ts_produce: events.Nanos  # when this message was produced
    payload: msgspec.Raw


@dataclass(frozen=True)
class Message:
    """A decoded, validated message: the envelope and its typed payload."""

    envelope: Envelope
    payload: Any

    @property
    def id(self) -> str:
        return self.envelope.id


class InvalidMessage(ValueError):
    """Bad input: the message cannot be processed; the text says why."""


_envelope_decoder = msgspec.json.Decoder(Envelope)
_payload_decoders = {t: msgspec.json.Decoder(p) for t, p in PAYLOAD_TYPES.items()}
_encoder = msgspec.json.Encoder(decimal_format="string")


_NAMESPACE = uuid.NAMESPACE_OID.bytes


def new_id() -> str:
    return uuid.uuid4().hex


def derive_id(parent_id: str, purpose: str) -> str:
    """A deterministic child id, so a replayed step produces the same event and dedup catches it: the
    hex of `uuid.uuid5(NAMESPACE_OID, "parent/purpose")`, built without the `UUID` object (0.9 µs, not
    3.4; a signal derives a handful on its way to the portfolio)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + f"{parent_id}/{purpose}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return digest.hex()


def now_ns() -> int:
    return time.time_ns()


def decode(topic: str, value: bytes | None) -> Message:
    """Validate one message read from `topic`; raise `InvalidMessage` with the reason."""
    if not value:
        raise InvalidMessage("empty message")
    if len(value) > MAX_MESSAGE_BYTES:
        raise InvalidMessage(f"message of {len(value)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        if not value.isascii():  # msgspec checks only the strings it reads, not a field it skips
            value.decode("utf-8")
        envelope = _envelope_decoder.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"malformed envelope: {exc}") from None
    if envelope.version not in SUPPORTED_VERSIONS:
        raise InvalidMessage(f"unsupported schema version {envelope.version}")
    expected_type, topic_broker = _expected(topic)
    if envelope.type != expected_type:
        raise InvalidMessage(f"unknown event type {envelope.type!r} on {topic} (expected {expected_type!r})")
    if envelope.broker != topic_broker:
        raise InvalidMessage(f"wrong broker {envelope.broker!r} on {topic} (expected {topic_broker!r})")
    return Message(envelope, decode_payload(envelope))


@functools.cache
def _expected(topic: str) -> tuple[str | None, str | None]:
    """The event type and broker a topic's messages must carry, worked out once per topic name."""
    return STREAM_TYPES.get(topics.stream_of(topic), (None, None))[0], topics.broker_of(topic)


def decode_any(value: bytes) -> Message:
    """Decode by the envelope's own type, without topic checks: for readers of DLQs and tools."""
    try:
        env = _envelope_decoder.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"malformed envelope: {exc}") from None
    if env.type not in _payload_decoders:
        raise InvalidMessage(f"unknown event type {env.type!r}")
    return Message(env, decode_payload(env))


def decode_payload(envelope: Envelope) -> Any:
    try:
        return _payload_decoders[envelope.type].decode(envelope.payload)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"invalid {envelope.type} payload: {exc}") from None
    except (InvalidOperation, ArithmeticError):
        raise InvalidMessage(f"invalid {envelope.type} payload: a number is not a valid decimal") from None


def encode_payload(payload: Any) -> bytes:
    return _encoder.encode(payload)


def build(
    *,
    type: str,
    payload: Any,
    broker: str | None,
    correlation_id: str,
    causation_id: str | None,
    ts_event: int,
    event_id: str | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or new_id(),
        type=type,
        version=SCHEMA_VERSION,
        broker=broker,
        correlation_id=correlation_id,
        causation_id=causation_id,
        ts_event=ts_event,
        ts_produce=0,
        payload=msgspec.Raw(_encoder.encode(payload)),
    )


def encode(envelope: Envelope) -> bytes:
    """Stamp the produce time and serialise."""
    envelope.ts_produce = now_ns()
    return _encoder.encode(envelope)


def follow(parent: Envelope, *, type: str, payload: Any, purpose: str, broker: str | None) -> Envelope:
    """The envelope of an event caused by `parent`: same correlation, derived id, parent's event time."""
    return build(
        type=type,
        payload=payload,
        broker=broker,
        correlation_id=parent.correlation_id,
        causation_id=parent.id,
        ts_event=parent.ts_event,
        event_id=derive_id(parent.id, purpose),
    )
