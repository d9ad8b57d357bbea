"""Valid payloads and envelopes for tests, and ways to spoil them."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from alphapanda import envelope, events

RELIANCE = 738561


def signal(*, strategy: str = "manual", token: int = RELIANCE, side=events.Side.BUY, quantity: int = 1, **kw):
    price = kw.pop("reference_price", Decimal("1400.00"))
    return events.Signal(
        strategy=strategy,
        instrument_token=token,
        symbol=kw.pop("symbol", "RELIANCE"),
        exchange="NSE",
        side=side,
        quantity=quantity,
        reference_price=price,
        bids=(events.Level(price - Decimal("0.05"), 10_000, 3),),
        asks=(events.Level(price + Decimal("0.05"), 10_000, 3),),
        ts=kw.pop("ts", time.time_ns()),
        **kw,
    )


def fill(
    *, fill_id: str = "f1", token: int = RELIANCE, side=events.Side.BUY, quantity: int = 1, price="1400.05"
):
    return events.Fill(
        fill_id=fill_id,
        order_id="o1",
        strategy="manual",
        instrument_token=token,
        symbol="RELIANCE",
        exchange="NSE",
        side=side,
        quantity=quantity,
        price=Decimal(price),
        product=events.Product.MIS,
        charges=events.Charges(brokerage=Decimal("0.42"), stt=Decimal("0")),
        ts=time.time_ns(),
    )


def tick(*, token: int = RELIANCE, ltp: str = "1400.00"):
    price = Decimal(ltp)
    return events.Tick(
        instrument_token=token,
        symbol="RELIANCE",
        exchange="NSE",
        ltp=price,
        bids=(events.Level(price - Decimal("0.05"), 500, 2),),
        asks=(events.Level(price + Decimal("0.05"), 500, 2),),
        ts=time.time_ns(),
    )


def envelope_for(
    type_: str, payload, *, broker: str | None, event_id: str | None = None
) -> envelope.Envelope:
    event_id = event_id or envelope.new_id()
    return envelope.build(
        type=type_,
        payload=payload,
        broker=broker,
        correlation_id=event_id,
        causation_id=None,
        ts_event=time.time_ns(),
        event_id=event_id,
    )


def encoded(type_: str, payload, *, broker: str | None, event_id: str | None = None) -> bytes:
    return envelope.encode(envelope_for(type_, payload, broker=broker, event_id=event_id))


def mutated(value: bytes, *, payload: dict | None = None, **fields) -> bytes:
    """The same message with envelope fields (or payload fields) replaced: for bad-input tests."""
    data = json.loads(value)
    data.update(fields)
    if payload:
        data["payload"].update(payload)
    return json.dumps(data).encode()
