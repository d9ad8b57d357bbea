"""The Redis read model: the one owner of every `<broker>:portfolio:*` key.

Values are set from the ledger's state, never incremented, and only when newer (a version from the
ledger), so a replay or two workers racing leave the latest state. Derived figures (equity,
unrealized P&L) are computed on read from positions and marks, so they are always consistent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from alphapanda import redis_conn
from alphapanda.money import to_paise
from portfolio.positions import Key, Position, Summary, equity_of, summarize

# Set `field` of hash KEYS[1] to ARGV[2] unless the stored JSON's version is already >= ARGV[3].
_SET_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and cjson.decode(current)['version'] >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# Set each instrument's totals (ARGV[2k], ARGV[2k+1] = token, "quantity,cost,version") in hash KEYS[1]
# unless the stored version is already >= ARGV[1]: two workers' mirrors may land out of order. A value
# without a version (written before totals had one) is replaced.
_TOTALS_IF_NEWER = """
local version = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local stored = current and tonumber(string.match(current, '^[^,]*,[^,]*,(%d+)$'))
  if not stored or stored < version then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1
"""


@dataclass(frozen=True)
class Book:
    """What a batch needs of the account, read in one round trip: equity, marks and each
    instrument's net quantity over all strategies (a few hundred fields, not every position)."""

    equity: int  # paise
    marks: dict[int, int]  # token -> last price, paise
    net: dict[int, int]  # token -> net quantity

    @property
    def open_positions(self) -> int:
        """Instruments with a non-zero net quantity, as the portfolio's summary counts them."""
        return sum(1 for quantity in self.net.values() if quantity)


def key(broker: str, name: str) -> str:
    return f"{broker}:portfolio:{name}"


def positions_key(broker: str) -> str:
    return key(broker, "positions")


def marks_key(broker: str) -> str:
    return key(broker, "marks")


def account_key(broker: str) -> str:
    return key(broker, "account")


def activity_key(broker: str) -> str:
    return key(broker, "activity")


def net_key(broker: str) -> str:
    """Per instrument, net quantity and cost over all strategies: equity without reading every position."""
    return key(broker, "net")


def all_keys(broker: str) -> list[str]:
    return [positions_key(broker), marks_key(broker), account_key(broker), activity_key(broker)]


_set_if_newer_script = None
_totals_if_newer_script = None


def _set_if_newer(target, hash_key: str, field: str, value: dict, version: int) -> None:
    """On a client or a pipeline (EVALSHA, loading the script once per process)."""
    global _set_if_newer_script
    if _set_if_newer_script is None:
        _set_if_newer_script = redis_conn.client().register_script(_SET_IF_NEWER)
    _set_if_newer_script(
        keys=[hash_key], args=[field, json.dumps(value | {"version": version}), version], client=target
    )


def _totals_set(target, broker: str, totals: Mapping[int, tuple[int, int]], version: int) -> None:
    global _totals_if_newer_script
    if _totals_if_newer_script is None:
        _totals_if_newer_script = redis_conn.client().register_script(_TOTALS_IF_NEWER)
    args: list = [version]
    for token, (quantity, cost) in totals.items():
        args += [token, f"{quantity},{cost},{version}"]
    _totals_if_newer_script(keys=[net_key(broker)], args=args, client=target)


def _position_set(target, broker: str, strategy: str, token: int, symbol: str, position: Position) -> None:
    value = position.amounts() | {"strategy": strategy, "token": token, "symbol": symbol}
    _set_if_newer(target, positions_key(broker), f"{strategy}|{token}", value, position.fills)


def _account_set(target, broker: str, starting_cash: int, cash: int, version: int) -> None:
    _set_if_newer(
        target, account_key(broker), "state", {"starting_cash": starting_cash, "cash": cash}, version
    )


def account_set(broker: str, *, starting_cash: int, cash: int, version: int) -> None:
    _account_set(redis_conn.client(), broker, starting_cash, cash, version)


def ledger_mirror(
    broker: str,
    positions: list[tuple[str, int, str, Position]],
    *,
    account: tuple[int, int, int] | None = None,
    totals: Mapping[int, tuple[int, int]] | None = None,
    counts: Mapping[str, int] | None = None,
) -> None:
    """Positions `(strategy, token, symbol, position)`, the account `(starting_cash, cash, version)`,
    instrument totals `token -> (net quantity, net cost)` (versioned by the account, so given with it)
    and activity counts to add, in one atomic
    round trip (MULTI/EXEC: a Redis dying midway leaves none of it, which the next task heals)."""
    pipe = redis_conn.client().pipeline(transaction=True)
    for strategy, token, symbol, position in positions:
        _position_set(pipe, broker, strategy, token, symbol, position)
    if account is not None:
        _account_set(pipe, broker, *account)
        if totals:
            _totals_set(pipe, broker, totals, version=account[2])
    for name, n in (counts or {}).items():
        if n:
            pipe.hincrby(activity_key(broker), name, n)
    pipe.execute()


def marks_set(broker: str, last_prices: Mapping[int, Decimal], *, into=None) -> None:
    """Record last prices (paise), on `into` (a pipeline) when given."""
    if last_prices:
        (redis_conn.client() if into is None else into).hset(
            marks_key(broker), mapping={t: to_paise(p) for t, p in last_prices.items()}
        )


def activity_set(broker: str, **counts: int) -> None:
    redis_conn.client().hset(activity_key(broker), mapping=counts)


def activity_add(broker: str, **counts: int) -> None:
    """Add what a batch newly made (a redelivery makes nothing, so adds nothing)."""
    ledger_mirror(broker, [], counts=counts)


def has_account(broker: str) -> bool:
    return bool(redis_conn.client().hexists(account_key(broker), "state"))


def pnl_due(broker: str, *, every_s: int) -> bool:
    """True at most once per `every_s` across all workers (one P&L point per interval)."""
    return bool(redis_conn.client().set(key(broker, "pnl_due"), 1, nx=True, ex=every_s))


def clear_ledger_mirror(broker: str) -> None:
    """Drop what is copied from the ledger (positions, account, totals) before writing it anew."""
    redis_conn.client().delete(positions_key(broker), account_key(broker), net_key(broker))


def book(broker: str, *, marks: Mapping[int, Decimal] | None = None) -> Book | None:
    """The account's equity, marks and net quantities from the account, totals and marks only: the
    risk step, breakers and square-off read it once per batch however many strategies hold positions.
    New `marks` (last prices) are recorded first, in the same round trip (the tick step).
    None when the account is missing (a Redis that restarted empty): see `services.book_current`."""
    pipe = redis_conn.client().pipeline(transaction=True)
    marks_set(broker, marks or {}, into=pipe)
    pipe.hget(account_key(broker), "state")
    pipe.hgetall(net_key(broker))
    pipe.hgetall(marks_key(broker))
    raw_account, raw_net, raw_marks = pipe.execute()[-3:]
    if raw_account is None:
        return None
    cash = json.loads(raw_account)["cash"]
    totals = {}
    for token, value in raw_net.items():
        quantity, cost = value.split(",")[:2]  # then the version, where written with one
        totals[int(token)] = (int(quantity), int(cost))
    marks = {int(t): int(p) for t, p in raw_marks.items()}
    return Book(
        equity=equity_of(cash=cash, totals=totals, last_prices=marks),
        marks=marks,
        net={token: quantity for token, (quantity, _) in totals.items()},
    )


# -- reads -----------------------------------------------------------------------------------------
def _decode_position(raw: str) -> tuple[Key, str, Position]:
    data = json.loads(raw)
    fields = {k: data[k] for k in Position.__dataclass_fields__}
    return (data["strategy"], int(data["token"])), data["symbol"], Position(**fields)


def snapshot(broker: str) -> dict:
    """Positions, marks, account and activity read in one transaction, with the derived summary."""
    pipe = redis_conn.client().pipeline(transaction=True)
    for name in all_keys(broker):
        pipe.hgetall(name)
    raw_positions, raw_marks, raw_account, raw_activity = pipe.execute()
    positions: dict[Key, Position] = {}
    symbols: dict[Key, str] = {}
    for raw in raw_positions.values():
        k, symbol, position = _decode_position(raw)
        positions[k], symbols[k] = position, symbol
    marks = {int(t): int(p) for t, p in raw_marks.items()}
    account = json.loads(raw_account["state"]) if "state" in raw_account else {"starting_cash": 0, "cash": 0}
    summary = summarize(
        positions, starting_cash=account["starting_cash"], cash=account["cash"], last_prices=marks
    )
    return {
        "positions": positions,
        "symbols": symbols,
        "marks": marks,
        "summary": summary,
        "activity": {k: int(v) for k, v in raw_activity.items()},
    }


def strategy_summaries(snap: dict) -> dict[str, Summary]:
    """Per-strategy figures (cash is the account's; per-strategy P&L is realized + unrealized − charges)."""
    by_strategy: dict[str, dict[Key, Position]] = {}
    for (strategy, token), position in snap["positions"].items():
        by_strategy.setdefault(strategy, {})[(strategy, token)] = position
    return {
        name: summarize(group, starting_cash=0, cash=0, last_prices=snap["marks"])
        for name, group in sorted(by_strategy.items())
    }
