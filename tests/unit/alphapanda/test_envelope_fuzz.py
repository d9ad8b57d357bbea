"""Fuzzing `envelope.decode` on every topic a process parses: hostile bytes give `InvalidMessage` with a
reason (what the DLQ records), never another exception; what does decode is safe to store and re-emit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapanda import envelope
from tests.support import hostile

TOPICS = sorted(hostile.TOPICS)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_reason(topic: str, value: bytes | None) -> envelope.Message | str:
    """The message, or the reason it was refused; any other exception fails the test."""
    try:
        return envelope.decode(topic, value)
    except envelope.InvalidMessage as exc:
        assert str(exc).strip(), "a refusal must say why"
        return str(exc)


def assert_safe(topic: str, message: envelope.Message) -> None:
    """A decoded message can be written to the ledger and re-emitted as it is."""
    assert hostile.storable_problems(message.payload) == []
    assert hostile.storable_problems(message.envelope) == []
    again = envelope.decode(topic, envelope.encode(message.envelope))
    assert again.payload == message.payload


@pytest.mark.parametrize("topic", TOPICS)
@FUZZ
@given(value=st.binary(max_size=2_000))
def test_decode_when_arbitrary_bytes_then_refused_with_reason(topic: str, value: bytes) -> None:
    assert isinstance(decode_or_reason(topic, value), str)


@pytest.mark.parametrize("topic", TOPICS)
def test_decode_when_valid_encoding_truncated_at_any_length_then_refused(topic: str) -> None:
    good = hostile.valid(topic)
    assert_safe(topic, envelope.decode(topic, good))
    for n in range(len(good)):
        reason = decode_or_reason(topic, good[:n])
        assert isinstance(reason, str), f"a prefix of {n} bytes decoded"
        assert "empty message" in reason if n == 0 else "malformed envelope" in reason


@pytest.mark.parametrize("topic", TOPICS)
@FUZZ
@given(data=st.data())
def test_decode_when_hostile_then_refused_with_reason(topic: str, data: st.DataObject) -> None:
    value = data.draw(hostile.hostile(topic))
    assert isinstance(decode_or_reason(topic, value), str), value[:300]


@pytest.mark.parametrize("topic", TOPICS)
@FUZZ
@given(data=st.data())
def test_decode_when_one_field_is_any_json_value_then_refused_or_safe(
    topic: str, data: st.DataObject
) -> None:
    value = data.draw(hostile.mutated(topic))
    result = decode_or_reason(topic, value)
    if isinstance(result, envelope.Message):
        assert_safe(topic, result)


@pytest.mark.parametrize("topic", TOPICS)
@FUZZ
@given(
    field=st.sampled_from(["strategy", "symbol", "exchange", "id", "correlation_id"]),
    text=st.text(min_size=1, max_size=100),
)
def test_decode_when_names_carry_any_text_then_refused_or_storable(topic: str, field: str, text: str) -> None:
    """NUL and control characters (PostgreSQL refuses NUL) and over-long names are refused at the door."""
    in_payload = field not in ("id", "correlation_id")
    if in_payload and field not in hostile.payload_fields(topic):
        return
    value = hostile._with(hostile.valid(topic), field, text, in_payload=in_payload)
    result = decode_or_reason(topic, value)
    if isinstance(result, envelope.Message):
        assert_safe(topic, result)
        assert len(text) <= (8 if field == "exchange" else 64)


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("ts", [-1, 2**63, 2**70])
def test_decode_when_timestamp_beyond_a_bigint_or_negative_then_refused(topic: str, ts: int) -> None:
    good = hostile.valid(topic)
    assert "ts_event" in decode_or_reason(topic, hostile._with(good, "ts_event", ts, in_payload=False))
    if "ts" in hostile.payload_fields(topic):
        assert "$.ts" in decode_or_reason(topic, hostile._with(good, "ts", ts, in_payload=True))


@pytest.mark.parametrize("topic", TOPICS)
def test_decode_when_paper_event_on_zerodha_topic_or_the_reverse_then_wrong_broker(topic: str) -> None:
    _, _, broker = hostile.TOPICS[topic]
    for other in ("paper", "zerodha"):
        if other != broker:
            value = hostile._with(hostile.valid(topic), "broker", other, in_payload=False)
            assert "wrong broker" in decode_or_reason(topic, value)
