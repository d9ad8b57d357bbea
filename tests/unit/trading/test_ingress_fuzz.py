"""Fuzzing what the trading side parses from outside: ticks on market.ticks (the strategy runner),
Kite's binary frames and parsed ticks (the feed) and postback bodies (the web server).

Each hostile input gets a clear refusal (DLQ with reason, 4xx, InvalidTick, a dropped frame) and
never an exception that would stop the process; valid input keeps flowing."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kiteconnect import KiteTicker

from alphapanda import dlq, envelope, topics
from tests.support import hostile
from trading.instruments import Instrument
from trading.kite.ticker import guarded_parser
from trading.kite.ticks import InvalidTick, to_tick
from trading.management.commands.run_strategies import Command as RunStrategies
from trading.runner import StrategyRunner, StrategySpec
from trading.views import kite_postback

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RELIANCE = Instrument(token=738561, symbol="RELIANCE", exchange="NSE")
PARSER = KiteTicker("api-key", "access-token")  # constructing does not connect


@dataclass
class Msg:
    """The parts of a confluent_kafka Message the runner reads."""

    val: bytes | None
    off: int
    _topic: str = topics.MARKET_TICKS

    def topic(self) -> str:
        return self._topic

    def value(self) -> bytes | None:
        return self.val

    def key(self) -> bytes:
        return b"k"

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self.off


@dataclass
class Producer:
    """Records what would have been produced."""

    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def produce(self, topic: str, *, value: bytes, key: bytes | None, on_delivery) -> None:
        self.sent.append((topic, value))

    def poll(self, timeout: float) -> int:
        return 0


def runner() -> StrategyRunner:
    specs = [
        StrategySpec(f"fuzz-{kind}", kind, {}, (RELIANCE,), ("paper", "zerodha"))
        for kind in ("sma_crossover", "bollinger", "rsi")
    ]
    return StrategyRunner(specs, active_brokers=("paper", "zerodha"))


sane_ticks = st.decimals(min_value=Decimal("0.05"), max_value=Decimal("10000000"), places=2).map(
    lambda ltp: hostile.valid(topics.MARKET_TICKS, ltp=ltp, bids=(), asks=())
)


@FUZZ
@given(
    values=st.lists(
        st.one_of(hostile.hostile(topics.MARKET_TICKS), hostile.mutated(topics.MARKET_TICKS), sane_ticks),
        min_size=1,
        max_size=40,
    )
)
def test_strategy_runner_when_ticks_hostile_then_dead_lettered_and_signals_valid(values: list[bytes]) -> None:
    runner_, producer, command = runner(), Producer(), RunStrategies()
    refused = 0
    out: list[tuple[str, bytes, bytes]] = []
    for offset, value in enumerate(values):
        try:
            envelope.decode(topics.MARKET_TICKS, value)
        except envelope.InvalidMessage:
            refused += 1
        command._on_message(Msg(value, offset), runner_, producer, out)

    letters = [
        dlq.decode_dead_letter(v) for t, v in producer.sent if t == topics.dlq_topic(topics.MARKET_TICKS)
    ]
    assert len(letters) == refused
    assert all(letter.error and letter.stage == "strategies" for letter in letters)
    assert all(t.endswith(".dlq") for t, _ in producer.sent)  # signals wait for the poll batch's end
    for topic, _, value in out:
        signal = envelope.decode(topic, value)  # what strategies emit passes every check downstream
        assert hostile.storable_problems(signal.payload) == []
    assert runner_.errors == {}, "a strategy raised on a valid tick"


def frame(packets: list[bytes]) -> bytes:
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(p)) + p for p in packets)


packets = st.sampled_from([8, 28, 32, 44, 184]).flatmap(lambda n: st.binary(min_size=n, max_size=n))


@FUZZ
@given(data=st.one_of(st.binary(max_size=400), st.lists(packets, max_size=4).map(frame)))
def test_kite_frame_when_random_bytes_then_dropped_or_ticks_or_invalid_tick(data: bytes) -> None:
    parsed = guarded_parser(PARSER._parse_binary)(data)  # struct.error would escape into the reactor
    for tick_data in parsed:
        try:
            tick = to_tick(tick_data, RELIANCE, received_ns=1)
        except InvalidTick as exc:
            assert "impossible tick for RELIANCE" in str(exc)
            continue
        if tick is not None:  # what the feed publishes, consumers accept
            encoded = envelope.encode(
                envelope.build(
                    type=envelope.TICK, payload=tick, broker=None, correlation_id="c", causation_id=None,
                    ts_event=tick.ts,
                )
            )  # fmt: skip
            assert envelope.decode(topics.MARKET_TICKS, encoded).payload == tick


def test_kite_frame_when_truncated_then_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    full = frame([bytes(184)])
    assert guarded_parser(PARSER._parse_binary)(full[:3]) == []
    assert "malformed tick frame of 3 bytes dropped" in caplog.text
    with pytest.raises(struct.error):
        PARSER._parse_binary(full[:3])  # the client's own parser, unguarded


def test_to_tick_when_price_beyond_any_instrument_then_invalid_tick_naming_it() -> None:
    with pytest.raises(InvalidTick, match=r"RELIANCE.*ltp 20000000.5 is not a possible price"):
        to_tick({"last_price": 20_000_000.5}, RELIANCE, received_ns=1)
    with pytest.raises(InvalidTick, match=r"Expected `int` <= 1000000000"):
        depth = {"buy": [{"price": 1400.0, "quantity": 4_000_000_000, "orders": 1}], "sell": []}
        to_tick({"last_price": 1400.0, "depth": depth}, RELIANCE, received_ns=1)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300),
        hostile.json_values.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(["order_id", "order_timestamp", "checksum", "status", "filled_quantity", "tag"]),
            hostile.json_values,
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_kite_postback_when_body_hostile_then_400_or_403_never_500(body: bytes) -> None:
    request = RequestFactory().post("/kite/postback", data=body, content_type="application/json")
    response = kite_postback(request)
    assert response.status_code in (400, 403), response.content
    assert json.loads(response.content)["status"] == "error"
