"""Do the ledger and the Redis read model hold exactly what the fills log implies, to the paisa?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alphapanda.events import Fill
from portfolio.positions import Key, Position, replay


@dataclass(frozen=True, slots=True)
class PortfolioAudit:
    fills: int  # distinct fills in the log
    expected_cash: int
    ledger_cash: int
    read_model_cash: int
    ledger_mismatches: tuple[Key, ...]
    read_model_mismatches: tuple[Key, ...]

    @property
    def ok(self) -> bool:
        return (
            not self.ledger_mismatches
            and not self.read_model_mismatches
            and self.expected_cash == self.ledger_cash == self.read_model_cash
        )


def distinct_fills(fills: Iterable[Fill]) -> list[Fill]:
    """Each fill id once, at its first place in the log: a fill re-emitted on redelivery counts once."""
    unique: dict[str, Fill] = {}
    for fill in fills:
        unique.setdefault(fill.fill_id, fill)
    return list(unique.values())


def expected_from_log(fills: Iterable[Fill], *, starting_cash: int) -> tuple[dict[Key, Position], int, int]:
    """Positions and cash the log implies, counting each fill id once; also how many distinct fills."""
    unique = distinct_fills(fills)
    positions, cash_delta = replay(unique)
    return positions, starting_cash + cash_delta, len(unique)


def mismatches(expected: Mapping[Key, Position], actual: Mapping[Key, Position]) -> tuple[Key, ...]:
    """Keys whose position differs; a missing position equals an untouched one."""
    keys = sorted(set(expected) | set(actual))
    return tuple(k for k in keys if expected.get(k, Position()) != actual.get(k, Position()))


def audit(
    fills: Iterable[Fill],
    *,
    starting_cash: int,
    ledger: Mapping[Key, Position],
    ledger_cash: int,
    read_model: Mapping[Key, Position],
    read_model_cash: int,
) -> PortfolioAudit:
    expected, cash, count = expected_from_log(fills, starting_cash=starting_cash)
    return PortfolioAudit(
        fills=count,
        expected_cash=cash,
        ledger_cash=ledger_cash,
        read_model_cash=read_model_cash,
        ledger_mismatches=mismatches(expected, ledger),
        read_model_mismatches=mismatches(expected, read_model),
    )
