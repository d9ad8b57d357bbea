"""Every worker task's batch path fuzzed on real Tansu, Redis and PostgreSQL: hypothesis mixes valid
records with hostile ones (garbage, truncations, wrong types, wrong broker, impossible numbers,
unknown instruments) and replays (the same event again, an old signal).

The property: `run_batch` never raises; each refused record is in `<topic>.dlq` with exactly the
refusal's reason; every other record takes effect exactly once, however often it is replayed.
The batches run in this process, as the Celery task would run them, without a worker.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapanda import dlq, envelope, events, topics
from alphapanda.errors import BadInput
from alphapanda.log_reader import read_values
from alphapanda.money import to_paise
from portfolio import read_model
from portfolio.models import AppliedFill
from portfolio.models import Position as PositionRow
from portfolio.tasks import apply_fills_task
from riskcheck.models import SignalDecision
from riskcheck.tasks import validate_signals_task
from tests.support import hostile
from trading import selectors
from trading.models import Order
from trading.tasks import execute_signals_task, process_ticks_task

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
DAY_NS = 86_400 * 10**9
KINDS = ("valid", "valid", "hostile", "mutated", "impossible", "replay", "old")


@pytest.fixture
def infra(kafka_topics, instruments, redis_client):
    """Topics created once per test; hypothesis runs its examples against the same infrastructure."""
    return instruments


@dataclass
class Sent:
    """One record of a batch and what the oracle (decode + instrument lookup) says must happen to it."""

    offset: int
    value: str
    refusal: str | None  # the reason it must be dead-lettered with, or None: it must take effect
    message: envelope.Message | None


def _oracle(topic: str, value: str, *, checks_instrument: bool) -> tuple[str | None, envelope.Message | None]:
    try:
        message = envelope.decode(topic, value.encode("utf-8"))
    except envelope.InvalidMessage as exc:
        return str(exc), None
    token = message.payload.instrument_token
    if checks_instrument and selectors.instrument_get(token) is None:
        return str(BadInput(f"unknown instrument token {token}")), message
    return None, message


def _impossible(topic: str) -> st.SearchStrategy[bytes]:
    """Well-formed JSON, absurd numbers: zero, negative or huge quantities and prices, no such instrument."""
    fields = hostile.payload_fields(topic)
    price = "ltp" if "ltp" in fields else "price" if topic.endswith("filled") else "reference_price"
    good = hostile.valid(topic)
    mutations = [(price, p) for p in ("0", "-1400", "1e15", "-0.05")] + [("instrument_token", 999_999)]
    if "quantity" in fields:
        mutations += [("quantity", q) for q in (0, -1, 10**12)]
    return st.sampled_from(mutations).map(lambda fv: hostile._with(good, *fv, in_payload=True))


def _batch(data: st.DataObject, topic: str, offsets: itertools.count, sent_before: list[Sent]) -> list[Sent]:
    """A batch of records of every kind, in a random order; replays repeat earlier valid records."""
    records: list[Sent] = []
    fields = hostile.payload_fields(topic)
    for kind in data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=12), label="kinds"):
        if kind == "valid":  # a fresh event; a fresh fill id too, as fills count once by theirs
            raw = hostile.valid(topic, **({"fill_id": uuid.uuid4().hex} if "fill_id" in fields else {}))
        elif kind == "hostile":
            raw = data.draw(hostile.hostile(topic).filter(lambda v: len(v) < 100_000 or v.endswith(b" ")))
        elif kind == "mutated":
            raw = data.draw(hostile.mutated(topic))
        elif kind == "impossible":
            raw = data.draw(_impossible(topic))
        elif kind == "old":  # a week old, still valid as a message
            ts = time.time_ns() - 7 * DAY_NS
            raw = hostile.valid(topic, **({"ts": ts} if "ts" in fields else {}))
        else:
            earlier = [s for s in sent_before + records if s.refusal is None]
            if not earlier:
                continue
            pick = data.draw(st.integers(min_value=0, max_value=10**6), label="replay")  # stateless draw
            raw = earlier[pick % len(earlier)].value.encode()
        records.append(Sent(next(offsets), raw.decode("utf-8", "replace"), None, None))
    return records


def run_fuzzed(
    data: st.DataObject,
    *,
    topic: str,
    stage: str,
    offsets: itertools.count,
    history: list[Sent],
    checks_instrument: bool,
    task,
) -> list[Sent]:
    """Run one hypothesis batch through the Celery task's own function, in this process, as a worker
    would; check the DLQ got exactly the refused records."""
    records = _batch(data, topic, offsets, history)
    for record in records:
        record.refusal, record.message = _oracle(topic, record.value, checks_instrument=checks_instrument)
    valid = task.run(
        broker=topics.broker_of(topic) or "paper",
        topic=topic,
        parts=[[0, uuid.uuid4().hex, [[r.offset, "k", r.value] for r in records]]],
    )
    assert valid == sum(r.refusal is None for r in records)
    ours = {r.offset for r in records}
    letters = {
        letter.offset: letter
        for letter in map(dlq.decode_dead_letter, read_values(topics.dlq_topic(topic)))
        if letter.offset in ours
    }
    expected = {r.offset: r.refusal for r in records if r.refusal is not None}
    assert {o: letter.error for o, letter in letters.items()} == expected
    for record in records:
        if record.offset in letters:
            letter = letters[record.offset]
            assert (letter.stage, letter.topic) == (stage, topic)
            kept = (
                base64.b64decode(letter.value) if letter.value_encoding == "base64" else letter.value.encode()
            )
            original = record.value.encode("utf-8")
            assert kept == (original[: dlq.MAX_KEPT_BYTES] if letter.truncated_from else original)
            assert letter.truncated_from in (None, len(original))
    history.extend(records)
    return records


def _effects_once(history: list[Sent], count: Callable[[list[str]], dict[str, int]]) -> None:
    """Every id that took effect did so exactly once; refused-only ids left nothing behind."""
    applied = {r.message.id for r in history if r.refusal is None}
    refused_only = {r.message.id for r in history if r.refusal and r.message} - applied
    counts = count(sorted(applied | refused_only))
    assert {i: counts.get(i, 0) for i in applied} == dict.fromkeys(applied, 1)
    assert {i: counts.get(i, 0) for i in refused_only} == dict.fromkeys(refused_only, 0)


def _counts(model, field: str, **filters) -> Callable[[list[str]], dict[str, int]]:
    def count(ids: list[str]) -> dict[str, int]:
        rows = model.objects.filter(**{f"{field}__in": ids}, **filters).values_list(field, flat=True)
        out: dict[str, int] = {}
        for i in rows:
            out[i] = out.get(i, 0) + 1
        return out

    return count


@pytest.mark.parametrize(
    ("topic", "stage", "task", "model"),
    [
        ("paper.signals.raw", "riskcheck", validate_signals_task, SignalDecision),
        ("paper.signals.validated", "trading", execute_signals_task, Order),
    ],
    ids=["risk-decisions", "orders"],
)
def test_signal_batches_when_fuzzed_then_refusals_dead_lettered_and_effects_once(
    infra, topic, stage, task, model
) -> None:
    offsets, history = itertools.count(), []

    @FUZZ
    @given(data=st.data())
    def batch(data: st.DataObject) -> None:
        run_fuzzed(
            data,
            topic=topic,
            stage=stage,
            offsets=offsets,
            history=history,
            checks_instrument=True,
            task=task,
        )
        _effects_once(history, _counts(model, "signal_id", broker="paper"))

    batch()
    assert any(r.refusal is None for r in history) and any(r.refusal for r in history)


def test_risk_check_when_paper_events_on_zerodha_topic_then_wrong_broker_and_zerodha_flows(infra) -> None:
    topic = "zerodha.signals.raw"
    paper = [hostile.valid("paper.signals.raw") for _ in range(3)]
    good = hostile.valid(topic)
    records = [[n, "k", v.decode()] for n, v in enumerate([*paper, good])]
    valid = validate_signals_task.run(broker="zerodha", topic=topic, parts=[[1, uuid.uuid4().hex, records]])
    assert valid == 1
    letters = [dlq.decode_dead_letter(v) for v in read_values(topics.dlq_topic(topic))]
    assert sorted(x.offset for x in letters) == [0, 1, 2]
    assert all("wrong broker 'paper' on zerodha.signals.raw" in x.error for x in letters)
    assert SignalDecision.objects.filter(broker="zerodha").count() == 1
    assert not SignalDecision.objects.filter(broker="paper").exists()


def test_fill_batches_when_fuzzed_then_refusals_dead_lettered_and_fills_applied_once(infra) -> None:
    offsets, history = itertools.count(), []
    topic = "paper.orders.filled"

    @FUZZ
    @given(data=st.data())
    def batch(data: st.DataObject) -> None:
        run_fuzzed(
            data, topic=topic, stage="portfolio", offsets=offsets, history=history, checks_instrument=False,
            task=apply_fills_task,
        )  # fmt: skip
        # A fill counts once by its fill id, whichever event carried it first.
        first: dict[str, events.Fill] = {}
        for r in history:
            if r.refusal is None:
                first.setdefault(r.message.payload.fill_id, r.message.payload)
        assert sorted(AppliedFill.objects.filter(broker="paper").values_list("fill_id", flat=True)) == sorted(
            first
        )
        net: dict[tuple[str, int], int] = {}
        for f in first.values():
            key = (f.strategy, f.instrument_token)
            net[key] = net.get(key, 0) + f.side.sign * f.quantity
        rows = PositionRow.objects.filter(broker="paper").values_list(
            "strategy", "instrument_token", "quantity"
        )
        assert {(s, t): q for s, t, q in rows} == net

    batch()
    assert any(r.refusal is None for r in history) and any(r.refusal for r in history)


def test_tick_batches_when_fuzzed_then_refusals_dead_lettered_and_marks_are_the_last_valid(infra) -> None:
    offsets, history = itertools.count(), []
    topic = topics.MARKET_TICKS

    @FUZZ
    @given(data=st.data())
    def batch(data: st.DataObject) -> None:
        records = run_fuzzed(
            data, topic=topic, stage="ticks", offsets=offsets, history=history, checks_instrument=False,
            task=process_ticks_task,
        )  # fmt: skip
        last: dict[int, Decimal] = {}
        for r in records:
            if r.refusal is None:
                last[r.message.payload.instrument_token] = r.message.payload.ltp
        marks = read_model.snapshot("paper")["marks"]
        assert {t: marks.get(t) for t in last} == {t: to_paise(p) for t, p in last.items()}

    batch()
    assert any(r.refusal is None for r in history) and any(r.refusal for r in history)
    assert json.loads(json.dumps(read_model.snapshot("paper")["marks"]))  # the read model still reads
