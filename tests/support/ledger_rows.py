"""Ledger rows for tests that write the ledger directly: a paper order numbered `n` (ids `o<n>`,
signal `s<n>`, a LIMIT buy of RELIANCE) and a fill of it numbered `n` (`f<n>`, charges of n paise each)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from trading.models import Fill, Order

T1 = datetime(2026, 1, 5, 4, 0, 7, 123456, tzinfo=UTC)


def order(n: int) -> Order:
    return Order(broker="paper", correlation_id=f"c{n}", strategy="mom", instrument_token=738561,
                 symbol="RELIANCE", exchange="NSE", side="BUY", quantity=n + 1, product="MIS",
                 ts_event=1_767_000_000_000_000_000 + n, order_id=f"o{n}", signal_id=f"s{n}",
                 order_type="LIMIT", price=Decimal("1410.05"), status="COMPLETE", last_tick_ts=n,
                 created_at=T1, updated_at=T1, triggered=bool(n % 2), reason="")  # fmt: skip


def fill(order: Order, n: int) -> Fill:
    money = Decimal("0.01") * n
    return Fill(broker="paper", correlation_id=order.correlation_id, strategy="mom", instrument_token=738561,
                symbol="RELIANCE", exchange="NSE", side="BUY", quantity=order.quantity, product="MIS",
                ts_event=order.ts_event, fill_id=f"f{n}", order=order, price=Decimal("1410.10"),
                brokerage=money, stt=money, exchange_charges=money, sebi=money, stamp=money, gst=money,
                charges=6 * money, source_event_id=order.signal_id, filled_at=T1)  # fmt: skip
