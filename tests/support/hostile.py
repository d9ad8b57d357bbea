"""Hypothesis strategies for hostile input: garbage bytes, truncations, wrong types, impossible values.

Shared by the unit fuzz tests (decode alone) and the task-level fuzz test (real ledger and DLQs).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import strategies as st

from alphapanda import envelope, events, topics
from tests.support import builders

# Every topic whose messages a process parses: (event type, a valid payload, the envelope's broker).
TOPICS: dict[str, tuple[str, Any, str | None]] = {
    topics.MARKET_TICKS: (envelope.TICK, builders.tick(), None),
    **{
        topics.broker_topic(b, topics.SIGNALS_RAW): (envelope.SIGNAL, builders.signal(), b)
        for b in ("paper", "zerodha")
    },
    **{
        topics.broker_topic(b, topics.SIGNALS_VALIDATED): (envelope.SIGNAL_VALIDATED, builders.signal(), b)
        for b in ("paper", "zerodha")
    },
    **{
        topics.broker_topic(b, topics.ORDERS_FILLED): (envelope.ORDER_FILLED, builders.fill(), b)
        for b in ("paper", "zerodha")
    },
}
ENVELOPE_FIELDS = ("id", "type", "version", "broker", "correlation_id", "causation_id", "ts_event", "payload")

# Any JSON value, nested a little: what a confused or hostile producer may put in any field.
json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["NaN", "Infinity", "-1", "0", "1e15", "1E-999999999", "sNaN", "\x00", "\ud7ff"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
# Numbers that are well-formed but no market could produce.
absurd_quantities = st.sampled_from([0, -1, -(10**6), 10**12, 2**63, 2**64 + 1, events.MAX_QUANTITY + 1])
absurd_prices = st.sampled_from(
    ["0", "-0.05", "-1400", "1e15", "99999999999", "NaN", "-Infinity", "Infinity", "1E+999999"]
)


def valid(topic: str, **payload_overrides: Any) -> bytes:
    """A fresh, valid encoding for `topic` (new event id), with payload fields replaced."""
    type_, payload, broker = TOPICS[topic]
    if payload_overrides:
        payload = msgspec.structs.replace(payload, **payload_overrides)
    return builders.encoded(type_, payload, broker=broker)


def _with(value: bytes, field: str, new: Any, *, in_payload: bool) -> bytes:
    data = json.loads(value)
    (data["payload"] if in_payload else data)[field] = new
    return json.dumps(data).encode()


def payload_fields(topic: str) -> tuple[str, ...]:
    return TOPICS[topic][1].__struct_fields__


def hostile(topic: str) -> st.SearchStrategy[bytes]:
    """Bytes that must not be processed as a valid message on `topic` (or may be: see `mutated`)."""
    good = valid(topic)
    _, _, broker = TOPICS[topic]
    wrong_broker = st.sampled_from([b for b in (None, "paper", "zerodha", "PAPER", "") if b != broker])
    return st.one_of(
        st.binary(max_size=300),
        st.integers(min_value=0, max_value=len(good) - 1).map(lambda n: good[:n]),
        st.integers().filter(lambda v: v != envelope.SCHEMA_VERSION).map(lambda v: _with(good, "version", v, in_payload=False)),
        st.text(max_size=30).map(lambda t: _with(good, "type", t, in_payload=False)),
        wrong_broker.map(lambda b: _with(good, "broker", b, in_payload=False)),
        st.just(good + b" " * (envelope.MAX_MESSAGE_BYTES - len(good) + 1)),
        st.just(_with(good, "id", "x" * 1_000, in_payload=False)),
        st.sampled_from(["quantity", "ltp", "price", "reference_price"])
        .filter(lambda f: f in payload_fields(topic))
        .flatmap(lambda f: (absurd_quantities if f == "quantity" else absurd_prices).map(lambda v: _with(good, f, v, in_payload=True))),
    )  # fmt: skip


def mutated(topic: str) -> st.SearchStrategy[bytes]:
    """A valid message with one field, envelope or payload, set to any JSON value: may still be valid."""
    good = valid(topic)
    envelope_field = st.tuples(st.sampled_from(ENVELOPE_FIELDS), json_values).map(
        lambda fv: _with(good, fv[0], fv[1], in_payload=False)
    )
    payload_field = st.tuples(st.sampled_from(payload_fields(topic)), json_values).map(
        lambda fv: _with(good, fv[0], fv[1], in_payload=True)
    )
    return st.one_of(envelope_field, payload_field)


def storable_problems(value: Any, path: str = "$") -> list[str]:
    """What in a decoded payload the ledger could not keep: NUL in text, ints beyond bigint, prices
    beyond NUMERIC(14, 4). Empty for anything a handler may safely write."""
    problems: list[str] = []
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            problems += storable_problems(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, tuple | list):
        for n, item in enumerate(value):
            problems += storable_problems(item, f"{path}[{n}]")
    elif isinstance(value, str) and not path.endswith(".reason"):
        if any(ord(c) < 32 or c == "\x7f" for c in value):
            problems.append(f"{path}: control character in {value!r}")
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int) and not -(2**63) <= value < 2**63:
        problems.append(f"{path}: {value} beyond a bigint")
    elif isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= Decimal(10) ** 10):
        problems.append(f"{path}: {value} beyond NUMERIC(14, 4)")
    return problems
