"""Rupees and paise: the ledger counts integer paise; the wire carries Decimal rupee strings."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PAISA = Decimal("0.01")


def round_paise(amount: Decimal) -> Decimal:
    """Round half up to the paisa, as contract notes and Zerodha's calculator do."""
    return amount.quantize(PAISA, rounding=ROUND_HALF_UP)


def to_paise(amount: Decimal) -> int:
    """Exact conversion; an amount finer than a paisa is a bug upstream, so it raises."""
    paise = amount * 100
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of paise")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    return (Decimal(paise) / 100).quantize(PAISA)
