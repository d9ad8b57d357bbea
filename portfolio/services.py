"""Portfolio writes: apply fills to the ledger (once each), mirror it into Redis, rebuild from the log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from alphapanda import bulk, envelope, events
from alphapanda.batches import Outgoing
from alphapanda.money import to_paise
from portfolio import read_model
from portfolio.log_audit import distinct_fills
from portfolio.models import Account, AppliedFill, PnlPoint
from portfolio.models import Position as PositionRow
from portfolio.positions import Position, apply_fill, fill_cash_flow, replay, token_totals
from riskcheck.models import SignalDecision
from trading.models import Fill, Order

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


def _mirror(
    broker: str,
    rows: Iterable[PositionRow],
    account: Account,
    totals: dict[int, tuple[int, int]] | None = None,
) -> None:
    """The ledger's positions, account and instrument totals (those of `rows` when not given: right
    when `rows` are all the broker's positions) into the read model, in one round trip."""
    rows = list(rows)
    read_model.ledger_mirror(
        broker,
        [(r.strategy, r.instrument_token, r.symbol, _domain(r)) for r in rows],
        account=(account.starting_cash, account.cash, account.version),
        totals=totals if totals is not None else token_totals((r.instrument_token, _domain(r)) for r in rows),
    )


def read_model_ensure(*, broker: str) -> bool:
    """Re-mirror the ledger into Redis when the read model lost its state (a Redis restarted empty).

    Returns whether it had to. Marks come back with the next ticks.
    """
    if read_model.has_account(broker):
        return False
    read_model_refresh(broker=broker)
    return True


def book_current(*, broker: str, marks: Mapping[int, Decimal] | None = None) -> read_model.Book:
    """The read model's book (equity, marks, net quantities) in one round trip, new `marks` recorded
    first; the ledger mirrored into Redis first if it lost the account (a Redis restarted empty)."""
    book = read_model.book(broker, marks=marks)
    if book is None:
        read_model_refresh(broker=broker)
        book = read_model.book(broker)
    assert book is not None, "the read model was refreshed"
    return book


def read_model_refresh(*, broker: str) -> None:
    """Mirror the whole ledger (positions, account, instrument totals, counts) into the read model."""
    _mirror(broker, PositionRow.objects.filter(broker=broker), account_ensure(broker=broker))
    _activity_recount(broker)


def _activity_recount(broker: str) -> None:
    """The read model's counts, which batches add to as they make things, recounted from the ledger."""
    decisions = SignalDecision.objects.filter(broker=broker)
    read_model.activity_set(
        broker,
        signals=decisions.count(),
        rejections=decisions.filter(outcome=SignalDecision.REJECTED).count(),
        orders=Order.objects.filter(broker=broker).count(),
        fills=Fill.objects.filter(broker=broker).count(),
    )


def fill_apply(*, broker: str, message: envelope.Message) -> list[Outgoing]:
    """Apply one fill exactly once (see `fills_apply`)."""
    return fills_apply(broker=broker, messages=[message])


def fills_apply(*, broker: str, messages: list[envelope.Message]) -> list[Outgoing]:
    """Apply a batch of fills, each exactly once and in order, in one transaction: the applied-fill
    rows, positions and cash together; then the read model in one round trip.

    The account row's lock comes first and serialises a broker's portfolio writes, so the
    applied-fill rows of one key are numbered in applied order and no two batches deadlock.
    """
    fills: list[events.Fill] = distinct_fills(m.payload for m in messages)
    if not fills:
        return []
    read_model_ensure(broker=broker)
    keys = {(f.strategy, f.instrument_token) for f in fills}
    with transaction.atomic():
        account = _account_locked(broker)
        now = timezone.now()
        fresh = _applied_record(broker, fills, now=now)
        rows = _positions_locked(
            broker, keys, symbols={(f.strategy, f.instrument_token): f.symbol for f in fresh}
        )
        changed: dict[tuple[str, int], PositionRow] = {}
        for fill in fresh:
            row = rows[(fill.strategy, fill.instrument_token)]
            price, charges = to_paise(fill.price), to_paise(fill.charges.total)
            position = apply_fill(
                _domain(row), side=fill.side, quantity=fill.quantity, price=price, charges=charges
            )
            for name, value in position.amounts().items():
                setattr(row, name, value)
            row.product, row.updated_at = fill.product.value, now
            changed[(fill.strategy, fill.instrument_token)] = row
            account.cash += fill_cash_flow(
                side=fill.side, quantity=fill.quantity, price=price, charges=charges
            )
        if fresh:
            bulk.update_rows(list(changed.values()), [*_FIELDS, "product", "updated_at"])
            account.version += 1
            account.save(update_fields=["cash", "version", "updated_at"])
        mirrored = changed or rows
        totals = _totals(broker, {token for _, token in mirrored})  # read under the account's lock
    # Durable first, read model second: a crash here is healed by the redelivery or a rebuild.
    _mirror(broker, mirrored.values(), account, totals)
    return []


def _applied_record(broker: str, fills: list[events.Fill], *, now) -> list[events.Fill]:
    """Record the fills as applied, in one statement; those not applied before (the rest are
    redeliveries, already in the ledger), in the batch's order."""
    rows = [
        bulk.new_row(AppliedFill, broker=broker, fill_id=f.fill_id, strategy=f.strategy, instrument_token=f.instrument_token,
                    applied_at=now)
        for f in fills
    ]  # fmt: skip
    sql, params = bulk.insert_statement(rows, returning=["fill_id"], skip_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        recorded = {fill_id for (fill_id,) in cursor.fetchall()}
    return [f for f in fills if f.fill_id in recorded]


# A portfolio batch's reads under its lock, in SQL: the ORM compiled each anew each batch, about a
# millisecond of a small batch's fixed cost apiece. Keys go as arrays, so the statements stay the same.
_ACCOUNT_LOCKED = f"SELECT * FROM {Account._meta.db_table} WHERE broker = %s LIMIT 1 FOR UPDATE"
_POSITIONS_LOCKED = (
    f"SELECT * FROM {PositionRow._meta.db_table} "
    "WHERE broker = %s AND strategy = ANY(%s) AND instrument_token = ANY(%s) FOR UPDATE"
)
_TOTALS = (
    f"SELECT instrument_token, sum(quantity), sum(cost) FROM {PositionRow._meta.db_table} "
    "WHERE broker = %s AND instrument_token = ANY(%s) GROUP BY instrument_token"
)


def _account_locked(broker: str) -> Account:
    """The account row, locked: one query, as it exists after the broker's first use (the read model's
    mirror opens it); opened here otherwise."""
    account = next(iter(Account.objects.raw(_ACCOUNT_LOCKED, [broker])), None)
    if account is None:
        account_ensure(broker=broker)
        account = Account.objects.select_for_update().get(broker=broker)
    return account


def _positions_locked(
    broker: str, keys: set[tuple[str, int]], *, symbols: dict[tuple[str, int], str]
) -> dict[tuple[str, int], PositionRow]:
    """The positions of `keys`, locked, the missing ones created (under the account's lock)."""
    strategies, tokens = {s for s, _ in keys}, {t for _, t in keys}

    def locked() -> dict[tuple[str, int], PositionRow]:
        found = PositionRow.objects.raw(_POSITIONS_LOCKED, [broker, list(strategies), list(tokens)])
        return {
            (r.strategy, r.instrument_token): r for r in found if (r.strategy, r.instrument_token) in keys
        }

    rows = locked()
    missing = [k for k in keys if k not in rows and k in symbols]
    if missing:
        PositionRow.objects.bulk_create(
            PositionRow(broker=broker, strategy=s, instrument_token=t, symbol=symbols[(s, t)])
            for s, t in missing
        )
        rows = locked()
    return rows


def _totals(broker: str, tokens: set[int]) -> dict[int, tuple[int, int]]:
    """Net quantity and cost of these instruments over all the broker's strategies, summed by the
    database (fetching every strategy's row as a model to sum them cost more than this query)."""
    with connection.cursor() as cursor:
        cursor.execute(_TOTALS, [broker, list(tokens)])
        return {token: (int(quantity), int(cost)) for token, quantity, cost in cursor.fetchall()}


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
                **p.amounts(),
            )
            for (s, t), p in positions.items()
        )
        account.cash = account.starting_cash + cash_delta
        account.version += 1
        account.save()
    read_model.clear_ledger_mirror(broker)
    _mirror(broker, rows, account)
    return len(unique), len(rows)


PNL_EVERY_S = 5


def pnl_record(*, broker: str, now) -> int:
    """A point of the broker's and each strategy's P&L curve, at most every PNL_EVERY_S seconds.

    A strategy's point carries its net P&L (realized + unrealized - charges) as its equity.
    """
    if not read_model.pnl_due(broker, every_s=PNL_EVERY_S):
        return 0
    snap = read_model.snapshot(broker)
    total = snap["summary"]
    points = [PnlPoint(broker=broker, strategy="", at=now, equity=total.equity, realized=total.realized,
                       unrealized=total.unrealized, charges=total.charges)]  # fmt: skip
    for name, s in read_model.strategy_summaries(snap).items():
        net = s.realized + s.unrealized - s.charges
        points.append(PnlPoint(broker=broker, strategy=name, at=now, equity=net, realized=s.realized,
                               unrealized=s.unrealized, charges=s.charges))  # fmt: skip
    PnlPoint.objects.bulk_create(points)
    return len(points)
