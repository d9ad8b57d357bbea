"""The envelope: build/encode/decode round trips, validation with actionable reasons, derived ids."""

from __future__ import annotations

import contextlib
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from alphapanda import envelope, events, topics
from alphapanda.envelope import InvalidMessage

D = Decimal
TOKEN = 738561
TS = 1_736_900_000_000_000_000


def level(price: str, quantity: int = 100) -> events.Level:
    return events.Level(D(price), quantity, 2)


def a_tick() -> events.Tick:
    return events.Tick(
        instrument_token=TOKEN,
        symbol="RELIANCE",
        exchange="NSE",
        ltp=D("1400.00"),
        volume=1200,
        bids=(level("1399.95"),),
        asks=(level("1400.05"),),
        ts=TS,
    )


def a_signal(**overrides: Any) -> events.Signal:
    fields: dict[str, Any] = {
        "strategy": "momentum",
        "instrument_token": TOKEN,
        "symbol": "RELIANCE",
        "exchange": "NSE",
        "side": events.Side.BUY,
        "quantity": 10,
        "reference_price": D("1400.00"),
        "bids": (level("1399.95"),),
        "asks": (level("1400.05"),),
        "reason": "breakout",
        "ts": TS,
    }
    fields.update(overrides)
    return events.Signal(**fields)


def an_order() -> events.Order:
    return events.Order(
        order_id="o-1",
        signal_id="s-1",
        strategy="momentum",
        instrument_token=TOKEN,
        symbol="RELIANCE",
        exchange="NSE",
        side=events.Side.BUY,
        quantity=10,
        order_type=events.OrderType.LIMIT,
        product=events.Product.MIS,
        price=D("1399.50"),
        status=events.OrderStatus.OPEN,
    )


def a_fill() -> events.Fill:
    return events.Fill(
        fill_id="f-1",
        order_id="o-1",
        strategy="momentum",
        instrument_token=TOKEN,
        symbol="RELIANCE",
        exchange="NSE",
        side=events.Side.SELL,
        quantity=10,
        price=D("1400.35"),
        product=events.Product.MIS,
        charges=events.Charges(brokerage=D("4.20"), stt=D("3.50"), gst=D("0.83")),
        ts=TS,
    )


def a_failure() -> events.OrderFailure:
    return events.OrderFailure(
        order_id=None, signal_id="s-1", strategy="momentum", instrument_token=TOKEN, reason="no margin"
    )


def a_rejection() -> events.SignalRejection:
    return events.SignalRejection(signal=a_signal(), rule="max_quantity", reason="10 > 5")


# (topic, event type, broker, payload)
CASES = [
    (topics.MARKET_TICKS, envelope.TICK, None, a_tick()),
    ("paper.signals.raw", envelope.SIGNAL, "paper", a_signal()),
    ("zerodha.signals.validated", envelope.SIGNAL_VALIDATED, "zerodha", a_signal()),
    ("paper.signals.rejected", envelope.SIGNAL_REJECTED, "paper", a_rejection()),
    ("paper.orders.placed", envelope.ORDER_PLACED, "paper", an_order()),
    ("zerodha.orders.filled", envelope.ORDER_FILLED, "zerodha", a_fill()),
    ("paper.orders.failed", envelope.ORDER_FAILED, "paper", a_failure()),
]


def build(type_: str, payload: Any, broker: str | None, **kw: Any) -> envelope.Envelope:
    return envelope.build(
        type=type_,
        payload=payload,
        broker=broker,
        correlation_id=kw.pop("correlation_id", "corr-1"),
        causation_id=kw.pop("causation_id", None),
        ts_event=kw.pop("ts_event", TS),
        **kw,
    )


def signal_bytes(**overrides: Any) -> bytes:
    return envelope.encode(build(envelope.SIGNAL, a_signal(**overrides), "paper"))


def as_json(value: bytes) -> dict[str, Any]:
    return json.loads(value)


def spoiled(change_envelope=None, change_payload=None) -> bytes:
    """A valid paper signal message with the envelope or payload dict changed in place."""
    doc = as_json(signal_bytes())
    if change_envelope:
        change_envelope(doc)
    if change_payload:
        change_payload(doc["payload"])
    return json.dumps(doc).encode()


def reason(topic: str, value: bytes | None) -> str:
    with pytest.raises(InvalidMessage) as info:
        envelope.decode(topic, value)
    return str(info.value)


# --- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("topic", "type_", "broker", "payload"), CASES, ids=[c[1] for c in CASES])
def test_decode_when_encoded_on_its_topic_then_same_envelope_and_payload(
    topic: str, type_: str, broker: str | None, payload: Any
) -> None:
    built = build(type_, payload, broker, causation_id="cause-1", event_id="evt-1")
    message = envelope.decode(topic, envelope.encode(built))
    assert message.payload == payload
    assert type(message.payload) is type(payload)
    assert message.id == "evt-1"
    env = message.envelope
    assert (env.type, env.version, env.broker) == (type_, envelope.SCHEMA_VERSION, broker)
    assert (env.correlation_id, env.causation_id, env.ts_event) == ("corr-1", "cause-1", TS)
    assert env.ts_produce == built.ts_produce > 0


def test_decode_when_round_tripped_then_decimals_stay_decimals() -> None:
    fill = envelope.decode(
        "paper.orders.filled", envelope.encode(build(envelope.ORDER_FILLED, a_fill(), "paper"))
    )
    assert fill.payload.price == D("1400.35") and isinstance(fill.payload.price, Decimal)
    assert fill.payload.charges.total == D("8.53")


def test_encode_when_called_then_prices_are_json_strings() -> None:
    doc = as_json(signal_bytes())
    assert doc["payload"]["reference_price"] == "1400.00"
    assert doc["payload"]["bids"] == [["1399.95", 100, 2]]


def test_build_when_called_then_ts_produce_zero_and_version_current() -> None:
    env = build(envelope.SIGNAL, a_signal(), "paper")
    assert env.ts_produce == 0
    assert env.version == envelope.SCHEMA_VERSION == 1


def test_build_when_no_event_id_then_fresh_hex_id() -> None:
    first, second = build(envelope.SIGNAL, a_signal(), "paper"), build(envelope.SIGNAL, a_signal(), "paper")
    assert first.id != second.id
    assert len(first.id) == 32 and int(first.id, 16) >= 0


def test_encode_when_called_then_ts_produce_stamped_with_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "now_ns", lambda: 1_234_567)
    env = build(envelope.TICK, a_tick(), None)
    value = envelope.encode(env)
    assert env.ts_produce == 1_234_567
    assert as_json(value)["ts_produce"] == 1_234_567
    assert envelope.decode(topics.MARKET_TICKS, value).envelope.ts_produce == 1_234_567


def test_encode_when_no_causation_and_no_broker_then_fields_omitted() -> None:
    doc = as_json(envelope.encode(build(envelope.TICK, a_tick(), None)))
    assert "causation_id" not in doc and "broker" not in doc


# --- decode errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [b"", None])
def test_decode_when_empty_then_invalid_empty_message(value: bytes | None) -> None:
    assert reason("paper.signals.raw", value) == "empty message"


def test_decode_when_over_max_size_then_invalid_with_size() -> None:
    value = b" " * (envelope.MAX_MESSAGE_BYTES + 1)
    assert reason("paper.signals.raw", value) == (
        f"message of {envelope.MAX_MESSAGE_BYTES + 1} bytes exceeds {envelope.MAX_MESSAGE_BYTES}"
    )


def test_decode_when_padded_to_exactly_max_size_then_accepted() -> None:
    value = signal_bytes()
    value += b" " * (envelope.MAX_MESSAGE_BYTES - len(value))
    assert len(value) == envelope.MAX_MESSAGE_BYTES
    assert envelope.decode("paper.signals.raw", value).payload == a_signal()


@pytest.mark.parametrize("value", [b"{", b"not json", b"[1, 2]", b"null", b'{"id": "x"}', b"\xff\xfe\x00"])
def test_decode_when_malformed_json_or_envelope_then_malformed_envelope(value: bytes) -> None:
    assert reason("paper.signals.raw", value).startswith("malformed envelope: ")


def test_decode_when_required_envelope_field_missing_then_names_field() -> None:
    value = spoiled(change_envelope=lambda doc: doc.pop("correlation_id"))
    assert "correlation_id" in reason("paper.signals.raw", value)


def test_decode_when_empty_id_then_malformed_envelope_at_id() -> None:
    value = spoiled(change_envelope=lambda doc: doc.update(id=""))
    message = reason("paper.signals.raw", value)
    assert message.startswith("malformed envelope") and "$.id" in message


@pytest.mark.parametrize("version", [0, 2, 99])
def test_decode_when_unsupported_version_then_says_so(version: int) -> None:
    value = spoiled(change_envelope=lambda doc: doc.update(version=version))
    assert reason("paper.signals.raw", value) == f"unsupported schema version {version}"


def test_decode_when_type_not_the_topics_type_then_unknown_event_type() -> None:
    message = reason("paper.orders.filled", signal_bytes())
    assert message == "unknown event type 'signal' on paper.orders.filled (expected 'order.filled')"


def test_decode_when_made_up_type_then_unknown_event_type() -> None:
    value = spoiled(change_envelope=lambda doc: doc.update(type="signal.v2"))
    assert "unknown event type 'signal.v2'" in reason("paper.signals.raw", value)


def test_decode_when_topic_not_known_then_unknown_event_type() -> None:
    assert "unknown event type 'signal' on paper.nowhere" in reason("paper.nowhere", signal_bytes())


def test_decode_when_tick_carries_a_broker_then_wrong_broker() -> None:
    value = envelope.encode(build(envelope.TICK, a_tick(), "paper"))
    assert reason(topics.MARKET_TICKS, value) == "wrong broker 'paper' on market.ticks (expected None)"


def test_decode_when_paper_event_on_zerodha_topic_then_wrong_broker() -> None:
    assert reason("zerodha.signals.raw", signal_bytes()) == (
        "wrong broker 'paper' on zerodha.signals.raw (expected 'zerodha')"
    )


def test_decode_when_broker_event_has_no_broker_then_wrong_broker() -> None:
    value = envelope.encode(build(envelope.SIGNAL, a_signal(), None))
    assert reason("paper.signals.raw", value) == "wrong broker None on paper.signals.raw (expected 'paper')"


@pytest.mark.parametrize("price", ["NaN", "sNaN", "Infinity", "-Infinity", "-1", "0", "10000000.01", "1e30"])
def test_decode_when_impossible_reference_price_then_invalid_payload_names_field(price: str) -> None:
    value = spoiled(change_payload=lambda payload: payload.update(reference_price=price))
    message = reason("paper.signals.raw", value)
    assert message.startswith("invalid signal payload: ")
    assert "reference_price" in message and "not a possible price" in message


def test_decode_when_price_not_a_decimal_then_invalid_payload() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(reference_price="12,5"))
    message = reason("paper.signals.raw", value)
    assert message.startswith("invalid signal payload: ") and "reference_price" in message


def test_decode_when_depth_price_nan_then_invalid_payload_points_at_level() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(bids=[["NaN", 1, 1]]))
    message = reason("paper.signals.raw", value)
    assert "bids[0] depth price NaN" in message


@pytest.mark.parametrize("price", ["NaN", "sNaN", "Infinity", "-Infinity", "0", "-0.05", "100000001"])
@pytest.mark.parametrize("side", ["bids", "asks"])
def test_decode_when_any_depth_price_impossible_then_tick_and_signal_name_its_level(
    side: str, price: str
) -> None:
    good = [["1399.95", 10, 1], ["1399.90", 10, 1], ["1399.85", 10, 1]]
    book = [*good[:2], [price, 10, 1]]
    value = spoiled(change_payload=lambda payload: payload.update({side: book}))
    assert f"{side}[2] depth price {price} is not a possible price" in reason("paper.signals.raw", value)
    doc = as_json(envelope.encode(build(envelope.TICK, a_tick(), None)))
    doc["payload"][side] = book
    tick_reason = reason(topics.MARKET_TICKS, json.dumps(doc).encode())
    assert f"{side}[2] depth price {price} is not a possible price" in tick_reason
    with pytest.raises(ValueError, match=rf"{side}\[0\] depth price"):
        events.Tick(**{**msgspec_fields(a_tick()), side: (events.Level(D(price), 10, 1),)})


def msgspec_fields(struct: Any) -> dict[str, Any]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


def test_decode_when_tick_ltp_negative_then_invalid_tick_payload() -> None:
    doc = as_json(envelope.encode(build(envelope.TICK, a_tick(), None)))
    doc["payload"]["ltp"] = "-5"
    message = reason(topics.MARKET_TICKS, json.dumps(doc).encode())
    assert message.startswith("invalid tick payload: ") and "ltp -5" in message


@pytest.mark.parametrize("quantity", [1.5, 10.0])
def test_decode_when_float_quantity_then_invalid_expected_int(quantity: float) -> None:
    value = spoiled(change_payload=lambda payload: payload.update(quantity=quantity))
    message = reason("paper.signals.raw", value)
    assert "Expected `int`, got `float`" in message and "$.quantity" in message


@pytest.mark.parametrize("quantity", [0, -10])
def test_decode_when_zero_or_negative_quantity_then_invalid_at_quantity(quantity: int) -> None:
    value = spoiled(change_payload=lambda payload: payload.update(quantity=quantity))
    message = reason("paper.signals.raw", value)
    assert message.startswith("invalid signal payload: ") and "$.quantity" in message and ">= 1" in message


def test_decode_when_quantity_above_max_then_invalid() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(quantity=events.MAX_QUANTITY + 1))
    assert "$.quantity" in reason("paper.signals.raw", value)


def test_decode_when_limit_without_price_then_needs_a_price() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(order_type="LIMIT"))
    assert reason("paper.signals.raw", value) == "invalid signal payload: a LIMIT order needs a price"


def test_decode_when_sl_without_trigger_then_needs_a_trigger_price() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(order_type="SL", price="1401.00"))
    assert reason("paper.signals.raw", value) == "invalid signal payload: a SL order needs a trigger_price"


def test_decode_when_sl_m_without_trigger_then_needs_a_trigger_price() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(order_type="SL-M"))
    assert "a SL-M order needs a trigger_price" in reason("paper.signals.raw", value)


def test_decode_when_unknown_side_then_invalid_at_side() -> None:
    value = spoiled(change_payload=lambda payload: payload.update(side="HOLD"))
    assert "$.side" in reason("paper.signals.raw", value)


def test_decode_when_payload_not_an_object_then_invalid_payload() -> None:
    value = spoiled(change_envelope=lambda doc: doc.update(payload=[1, 2]))
    assert reason("paper.signals.raw", value).startswith("invalid signal payload: ")


def test_decode_when_negative_charge_on_fill_then_invalid_fill_payload() -> None:
    doc = as_json(envelope.encode(build(envelope.ORDER_FILLED, a_fill(), "paper")))
    doc["payload"]["charges"]["stt"] = "-0.01"
    message = reason("paper.orders.filled", json.dumps(doc).encode())
    assert message.startswith("invalid order.filled payload: ") and "charge stt" in message


def test_invalid_message_when_raised_then_is_value_error() -> None:
    assert issubclass(InvalidMessage, ValueError)


@pytest.mark.parametrize("field", [b'"RELIANCE"', b'"paper"'], ids=["payload-string", "envelope-string"])
def test_decode_when_non_utf8_inside_a_string_then_invalid_message(field: bytes) -> None:
    value = signal_bytes().replace(field, field[:3] + b"\xff" + field[3:], 1)
    assert reason("paper.signals.raw", value)


@pytest.mark.parametrize("where", ["envelope", "payload"])
def test_decode_when_non_utf8_in_a_field_no_schema_reads_then_invalid_message(where: str) -> None:
    """msgspec skips an unknown field without reading its text: the whole message is checked."""
    doc = as_json(signal_bytes())
    (doc if where == "envelope" else doc["payload"])["note"] = "MARKER"
    value = json.dumps(doc).encode().replace(b"MARKER", b"M\xffRKER")
    assert "malformed envelope" in reason("paper.signals.raw", value)


# --- ids and causation -----------------------------------------------------------------------------


def test_derive_id_when_same_inputs_then_same_id() -> None:
    assert envelope.derive_id("parent-1", "order") == envelope.derive_id("parent-1", "order")


def test_derive_id_when_purpose_differs_then_id_differs() -> None:
    ids = {envelope.derive_id("parent-1", purpose) for purpose in ("order", "fill", "fill/1", "dlq")}
    assert len(ids) == 4


def test_derive_id_when_parent_differs_then_id_differs() -> None:
    assert envelope.derive_id("parent-1", "order") != envelope.derive_id("parent-2", "order")


@given(parent=st.text(max_size=64), purpose=st.text(max_size=16))
@example(parent="0" * 32, purpose="fill/0")
def test_derive_id_is_the_hex_of_uuid5_so_ids_already_in_ledgers_are_derived_again(parent, purpose) -> None:
    assert envelope.derive_id(parent, purpose) == uuid.uuid5(uuid.NAMESPACE_OID, f"{parent}/{purpose}").hex


def test_derive_id_when_derived_then_fits_event_id_limits() -> None:
    child = envelope.derive_id("p" * 64, "order")
    assert len(child) == 32 and all(c in "0123456789abcdef" for c in child)


def test_follow_when_child_built_then_correlation_kept_and_caused_by_parent() -> None:
    parent = build(envelope.SIGNAL, a_signal(), "paper", event_id="sig-1", correlation_id="corr-9")
    child = envelope.follow(
        parent, type=envelope.SIGNAL_VALIDATED, payload=a_signal(), purpose="validate", broker="paper"
    )
    assert child.correlation_id == "corr-9"
    assert child.causation_id == "sig-1"
    assert child.ts_event == parent.ts_event == TS
    assert child.id == envelope.derive_id("sig-1", "validate")
    assert child.type == envelope.SIGNAL_VALIDATED and child.broker == "paper"


def test_follow_when_replayed_then_same_child_id() -> None:
    parent = build(envelope.SIGNAL, a_signal(), "paper", event_id="sig-1")
    make = lambda: envelope.follow(  # noqa: E731
        parent, type=envelope.ORDER_PLACED, payload=an_order(), purpose="order", broker="paper"
    )
    assert make().id == make().id


def test_follow_when_child_encoded_then_decodes_on_its_topic() -> None:
    parent = build(envelope.SIGNAL, a_signal(), "paper", event_id="sig-1")
    child = envelope.follow(
        parent, type=envelope.ORDER_FILLED, payload=a_fill(), purpose="fill", broker="paper"
    )
    message = envelope.decode("paper.orders.filled", envelope.encode(child))
    assert message.payload == a_fill()
    assert message.envelope.causation_id == "sig-1"


# --- decode_any ------------------------------------------------------------------------------------


def a_dead_letter() -> events.DeadLetter:
    return events.DeadLetter(
        topic="paper.signals.raw",
        partition=3,
        offset=42,
        stage="bridge",
        error="empty message",
        value="",
        key="momentum:738561",
    )


def test_decode_any_when_dead_letter_then_decoded_without_topic() -> None:
    value = envelope.encode(build(envelope.DEAD_LETTER, a_dead_letter(), "paper"))
    message = envelope.decode_any(value)
    assert message.envelope.type == envelope.DEAD_LETTER
    assert message.payload == a_dead_letter()
    assert message.payload.value_encoding == "utf-8"


@pytest.mark.parametrize(("topic", "type_", "broker", "payload"), CASES, ids=[c[1] for c in CASES])
def test_decode_any_when_any_stream_type_then_decoded_by_own_type(
    topic: str, type_: str, broker: str | None, payload: Any
) -> None:
    assert envelope.decode_any(envelope.encode(build(type_, payload, broker))).payload == payload


def test_decode_any_when_unknown_type_then_invalid() -> None:
    value = spoiled(change_envelope=lambda doc: doc.update(type="mystery"))
    with pytest.raises(InvalidMessage, match="unknown event type 'mystery'"):
        envelope.decode_any(value)


def test_decode_any_when_malformed_then_invalid() -> None:
    with pytest.raises(InvalidMessage, match="malformed envelope"):
        envelope.decode_any(b"{")


# --- fuzzing ---------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.binary(max_size=512),
    st.sampled_from([topics.MARKET_TICKS, "paper.signals.raw", "zerodha.orders.filled"]),
)
def test_decode_when_random_bytes_then_only_invalid_message(value: bytes, topic: str) -> None:
    with contextlib.suppress(InvalidMessage):
        envelope.decode(topic, value)


@settings(max_examples=300, deadline=None, database=None)
@given(st.data())
def test_decode_when_valid_message_has_one_byte_changed_then_decodes_or_invalid_message(data: Any) -> None:
    """ASCII-only mutations of a valid message: anything but InvalidMessage (or success) is a bug."""
    value = bytearray(signal_bytes())
    position = data.draw(st.integers(0, len(value) - 1))
    value[position] = data.draw(st.integers(0, 127))
    with contextlib.suppress(InvalidMessage):
        envelope.decode("paper.signals.raw", bytes(value))


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(min_size=1, max_size=4))
@example(b"\xff")
def test_decode_when_valid_message_has_bytes_spliced_into_a_string_then_only_invalid_message(
    junk: bytes,
) -> None:
    value = signal_bytes().replace(b'"RELIANCE"', b'"REL' + junk + b'IANCE"', 1)
    with contextlib.suppress(InvalidMessage):
        envelope.decode("paper.signals.raw", value)
