"""Every bridged topic fed bad input: each message lands in <topic>.dlq with its reason, whole,
while valid traffic sent after it still flows through real processes."""

from __future__ import annotations

import base64

import pytest

from alphapanda import dlq, envelope, topics
from alphapanda.log_reader import read_values
from portfolio import read_model
from portfolio.models import AppliedFill
from riskcheck.models import SignalDecision
from tests.support import builders
from tests.support.market import publish_raw
from tests.support.processes import wait_for
from trading.models import Order

pytestmark = pytest.mark.integration

VALID = {
    topics.MARKET_TICKS: (envelope.TICK, builders.tick(), None),
    "paper.signals.raw": (envelope.SIGNAL, builders.signal(strategy="dlq-raw"), "paper"),
    "paper.signals.validated": (
        envelope.SIGNAL_VALIDATED,
        builders.signal(strategy="dlq-validated"),
        "paper",
    ),
    "paper.orders.filled": (envelope.ORDER_FILLED, builders.fill(fill_id="dlq-fill"), "paper"),
}


def _bad_messages(topic: str) -> list[tuple[bytes, str]]:
    type_, payload, broker = VALID[topic]
    good = builders.encoded(type_, payload, broker=broker)
    if topic == topics.MARKET_TICKS:
        impossible = builders.mutated(good, payload={"ltp": "-1"})
        impossible_reason = "ltp -1 is not a possible price"
        absurd = builders.mutated(good, payload={"ltp": "1e12"})
    else:
        impossible = builders.mutated(good, payload={"quantity": -5})
        impossible_reason = "Expected `int` >= 1"
        field = "price" if topic.endswith("filled") else "reference_price"
        absurd = builders.mutated(good, payload={field: "99999999999"})
    return [
        (b'{"id": "x", "type":', "malformed envelope"),
        (b"\x00\xff\xfe binary garbage", "malformed envelope"),
        (b"", "empty message"),
        (builders.mutated(good, type="order.teleported"), "unknown event type 'order.teleported'"),
        (builders.mutated(good, broker="zerodha" if broker else "paper"), "wrong broker"),
        (builders.mutated(good, version=7), "unsupported schema version 7"),
        (builders.mutated(good, id=""), "Expected `str` of length >= 1"),
        (impossible, impossible_reason),
        (absurd, "is not a possible price"),
    ]


def _letters(topic: str) -> list:
    return [dlq.decode_dead_letter(v) for v in read_values(topics.dlq_topic(topic))]


def _at_least(letters: list, n: int) -> list | None:
    return letters if len(letters) >= n else None


def test_bad_input_goes_to_each_topics_dlq_with_reason_and_valid_traffic_flows(processes, instruments):
    processes.worker()
    processes.bridge()
    sent = {topic: _bad_messages(topic) for topic in VALID}
    messages = [(topic, b"k", value) for topic, bad in sent.items() for value, _ in bad]
    # Valid traffic after the poison, plus one well-formed signal for an instrument that does not exist.
    messages += [(t, b"k", builders.encoded(ty, p, broker=b)) for t, (ty, p, b) in VALID.items()]
    unknown = builders.signal(strategy="dlq-unknown", token=999_999, symbol="NOSUCH")
    messages.append(("paper.signals.raw", None, builders.encoded(envelope.SIGNAL, unknown, broker="paper")))
    publish_raw(messages)

    wait_for(
        lambda: read_model.snapshot("paper")["marks"].get(builders.RELIANCE), timeout=60, what="tick mark"
    )
    wait_for(
        lambda: SignalDecision.objects.filter(strategy="dlq-raw").exists(), timeout=30, what="raw signal"
    )
    wait_for(lambda: Order.objects.filter(strategy="dlq-validated").exists(), timeout=30, what="order")
    wait_for(lambda: AppliedFill.objects.filter(fill_id="dlq-fill").exists(), timeout=30, what="fill applied")
    wait_for(lambda: Order.objects.filter(strategy="dlq-raw").exists(), timeout=30, what="raw signal's order")

    for topic, bad in sent.items():
        letters = wait_for(
            lambda t=topic, b=bad: _at_least(_letters(t), len(b)), timeout=30, what=f"{topic}.dlq"
        )
        bridge_letters = [letter for letter in letters if letter.stage == "bridge"]
        assert len(bridge_letters) == len(bad), [letter.error for letter in letters]
        for (value, reason), letter in zip(bad, sorted(bridge_letters, key=lambda x: x.offset), strict=True):
            assert reason in letter.error, (topic, reason, letter.error)
            kept = (
                base64.b64decode(letter.value) if letter.value_encoding == "base64" else letter.value.encode()
            )
            assert kept == value, "the DLQ keeps the original bytes"
            assert letter.topic == topic

    worker_letters = [x for x in _letters("paper.signals.raw") if x.stage == "riskcheck"]
    assert [x.error for x in worker_letters] == ["unknown instrument token 999999"]
    processes.assert_alive()
