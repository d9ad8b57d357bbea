"""Portfolio writes: apply fills to the ledger (once each), mirror it into Redis, rebuild from the log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

from django.conf import settings
from django.db import transaction

from alphapanda import envelope, events
from alphapanda.batches import Outgoing
from alphapanda.money import to_paise
from portfolio import read_model
from portfolio.log_audit import distinct_fills
from portfolio.models import Account, AppliedFill, PnlPoint
from portfolio.models import Position as PositionRow
from portfolio.positions import Position, apply_fill, fill_cash_flow, replay

_FIELDS = tuple(Position.__dataclass_fields__)


def _domain(row: PositionRow) -> Position:
    return Position(**{f: getattr(row, f) for f in _FIELDS})


def starting_cash_for(broker: str) -> int:
    return to_paise(settings.CONFIG.paper_starting_cash) if broker == "paper" else 0


def account_ensure(*, broker: str, starting_cash: int | None = None) -> Account:
    """The broker's account, opened on first use with `starting_cash` paise (paper: its setting)."""
    cash = starting_cash_for(broker) if starting_cash is None else starting_cash
    account, created = Account.objects.get_or_create(
        broker=broker, defaults={"starting_cash": cash, "cash": cash}
    )
    if created:
        read_model.account_set(
            broker, starting_cash=account.starting_cash, cash=account.cash, version=account.version
        )
    return account


def _mirror(row: PositionRow, account: Account) -> None:
    read_model.position_set(
        row.broker,
        strategy=row.strategy,
        token=row.instrument_token,
        symbol=row.symbol,
        position=_domain(row),
    )
    read_model.account_set(
        row.broker, starting_cash=account.starting_cash, cash=account.cash, version=account.version
    )


def read_model_ensure(*, broker: str) -> bool:
    """Re-mirror the ledger into Redis when the read model lost its state (a Redis restarted empty).

    Returns whether it had to. Marks come back with the next ticks.
    """
    if read_model.has_account(broker):
        return False
    account = account_ensure(broker=broker)
    for row in PositionRow.objects.filter(broker=broker):
        _mirror(row, account)
    read_model.account_set(
        broker, starting_cash=account.starting_cash, cash=account.cash, version=account.version
    )
    return True


def fill_apply(*, broker: str, message: envelope.Message) -> list[Outgoing]:
    """Apply one fill exactly once: the applied-fill row, position and cash change in one transaction."""
    fill: events.Fill = message.payload
    account_ensure(broker=broker)
    read_model_ensure(broker=broker)
    with transaction.atomic():
        # The position's lock first: applied-fill rows of one key are then numbered in applied order.
        row, _ = PositionRow.objects.select_for_update().get_or_create(
            broker=broker,
            strategy=fill.strategy,
            instrument_token=fill.instrument_token,
            defaults={"symbol": fill.symbol},
        )
        _, created = AppliedFill.objects.get_or_create(
            broker=broker,
            fill_id=fill.fill_id,
            defaults={"strategy": fill.strategy, "instrument_token": fill.instrument_token},
        )
        account = Account.objects.select_for_update().get(broker=broker)
        if created:
            price, charges = to_paise(fill.price), to_paise(fill.charges.total)
            position = apply_fill(
                _domain(row), side=fill.side, quantity=fill.quantity, price=price, charges=charges
            )
            for name, value in asdict(position).items():
                setattr(row, name, value)
            row.product = fill.product.value
            row.save()
            account.cash += fill_cash_flow(
                side=fill.side, quantity=fill.quantity, price=price, charges=charges
            )
            account.version += 1
            account.save()
    # Durable first, read model second: a crash here is healed by the redelivery or a rebuild.
    _mirror(row, account)
    return []


def rebuild(*, broker: str, fills: Iterable[events.Fill]) -> tuple[int, int]:
    """Replace the broker's positions and cash with what the fills log implies; return (fills, positions).

    Duplicates in the log (a fill re-emitted on redelivery) count once, as in live processing.
    """
    unique = distinct_fills(fills)
    positions, cash_delta = replay(unique)
    symbols = {(f.strategy, f.instrument_token): f.symbol for f in unique}
    products = {(f.strategy, f.instrument_token): f.product.value for f in unique}
    with transaction.atomic():
        account = account_ensure(broker=broker)
        account = Account.objects.select_for_update().get(pk=account.pk)
        PositionRow.objects.filter(broker=broker).delete()
        AppliedFill.objects.filter(broker=broker).delete()
        AppliedFill.objects.bulk_create(
            AppliedFill(
                broker=broker, fill_id=f.fill_id, strategy=f.strategy, instrument_token=f.instrument_token
            )
            for f in unique
        )
        rows = PositionRow.objects.bulk_create(
            PositionRow(
                broker=broker,
                strategy=s,
                instrument_token=t,
                symbol=symbols[(s, t)],
                product=products[(s, t)],
                **asdict(p),
            )
            for (s, t), p in positions.items()
        )
        account.cash = account.starting_cash + cash_delta
        account.version += 1
        account.save()
    read_model.clear_ledger_mirror(broker)
    for row in rows:
        _mirror(row, account)
    read_model.account_set(
        broker, starting_cash=account.starting_cash, cash=account.cash, version=account.version
    )
    return len(unique), len(rows)


PNL_EVERY_S = 5


def pnl_record(*, broker: str, now, snap: dict | None = None) -> int:
    """A point of the broker's and each strategy's P&L curve, at most every PNL_EVERY_S seconds.

    A strategy's point carries its net P&L (realized + unrealized - charges) as its equity.
    """
    if not read_model.pnl_due(broker, every_s=PNL_EVERY_S):
        return 0
    snap = snap or read_model.snapshot(broker)
    total = snap["summary"]
    points = [PnlPoint(broker=broker, strategy="", at=now, equity=total.equity, realized=total.realized,
                       unrealized=total.unrealized, charges=total.charges)]  # fmt: skip
    for name, s in read_model.strategy_summaries(snap).items():
        net = s.realized + s.unrealized - s.charges
        points.append(PnlPoint(broker=broker, strategy=name, at=now, equity=net, realized=s.realized,
                               unrealized=s.unrealized, charges=s.charges))  # fmt: skip
    PnlPoint.objects.bulk_create(points)
    return len(points)
