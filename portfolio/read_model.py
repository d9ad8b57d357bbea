"""The Redis read model: the one owner of every `<broker>:portfolio:*` key.

Values are set from the ledger's state, never incremented, and only when newer (a version from the
ledger), so a replay or two workers racing leave the latest state. Derived figures (equity,
unrealized P&L) are computed on read from positions and marks, so they are always consistent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
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


def _set_if_newer(target, hash_key: str, field: str, value: dict, version: int) -> None:
    """On a client or a pipeline (EVALSHA, loading the script once per process)."""
    global _set_if_newer_script
    if _set_if_newer_script is None:
        _set_if_newer_script = redis_conn.client().register_script(_SET_IF_NEWER)
    _set_if_newer_script(
        keys=[hash_key], args=[field, json.dumps(value | {"version": version}), version], client=target
    )


def _position_set(target, broker: str, strategy: str, token: int, symbol: str, position: Position) -> None:
    value = asdict(position) | {"strategy": strategy, "token": token, "symbol": symbol}
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
    instrument totals `token -> (net quantity, net cost)` and activity counts to add, in one atomic
    round trip (MULTI/EXEC: a Redis dying midway leaves none of it, which the next task heals)."""
    pipe = redis_conn.client().pipeline(transaction=True)
    for strategy, token, symbol, position in positions:
        _position_set(pipe, broker, strategy, token, symbol, position)
    if account is not None:
        _account_set(pipe, broker, *account)
    if totals:
        pipe.hset(net_key(broker), mapping={t: f"{q},{c}" for t, (q, c) in totals.items()})
    for name, n in (counts or {}).items():
        if n:
            pipe.hincrby(activity_key(broker), name, n)
    pipe.execute()


def marks_set(broker: str, last_prices: Mapping[int, Decimal]) -> None:
    if last_prices:
        redis_conn.client().hset(marks_key(broker), mapping={t: to_paise(p) for t, p in last_prices.items()})


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


def equity(broker: str) -> tuple[int, dict[int, int]]:
    """The account's equity in paise and the marks, from the account, totals and marks only: a few
    hundred fields however many strategies hold positions (the risk step and breakers run it per batch)."""
    pipe = redis_conn.client().pipeline(transaction=True)
    pipe.hget(account_key(broker), "state")
    pipe.hgetall(net_key(broker))
    pipe.hgetall(marks_key(broker))
    raw_account, raw_net, raw_marks = pipe.execute()
    cash = json.loads(raw_account)["cash"] if raw_account else 0
    totals = {int(t): tuple(map(int, v.split(","))) for t, v in raw_net.items()}
    marks = {int(t): int(p) for t, p in raw_marks.items()}
    return equity_of(cash=cash, totals=totals, last_prices=marks), marks


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
