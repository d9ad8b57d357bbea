"""Rupees and paise: half-up rounding, exact conversion to integer paise, and back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphapanda.money import PAISA, from_paise, round_paise, to_paise

D = Decimal


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1.005", "1.01"),
        ("1.015", "1.02"),
        ("2.675", "2.68"),
        ("1.004999", "1.00"),
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("-1.005", "-1.01"),
        ("-0.004", "-0.00"),
        ("12.3", "12.30"),
        ("7", "7.00"),
        ("99.995", "100.00"),
    ],
)
def test_round_paise_when_amount_given_then_half_up_to_two_places(amount: str, expected: str) -> None:
    result = round_paise(D(amount))
    assert result == D(expected)
    assert result.as_tuple().exponent == -2


def test_round_paise_when_already_paise_then_unchanged() -> None:
    assert round_paise(D("1400.35")) == D("1400.35")


def test_round_paise_when_half_even_would_round_down_then_rounds_up() -> None:
    """0.125 goes to 0.12 with banker's rounding; contract notes round it up."""
    assert round_paise(D("0.125")) == D("0.13")


def test_paisa_when_read_then_one_hundredth() -> None:
    assert D("0.01") == PAISA


@pytest.mark.parametrize(
    ("amount", "paise"),
    [("0", 0), ("0.01", 1), ("1", 100), ("1.5", 150), ("1.50", 150), ("1.500", 150), ("1400.35", 140035)],
)
def test_to_paise_when_whole_paise_then_exact_int(amount: str, paise: int) -> None:
    result = to_paise(D(amount))
    assert result == paise
    assert type(result) is int


def test_to_paise_when_negative_whole_paise_then_negative_int() -> None:
    assert to_paise(D("-20.05")) == -2005


def test_to_paise_when_large_amount_then_exact() -> None:
    assert to_paise(D("12345678901.23")) == 1_234_567_890_123


@pytest.mark.parametrize("amount", ["0.001", "1.005", "-0.005", "1400.351", "0.0000001"])
def test_to_paise_when_finer_than_a_paisa_then_raises_naming_amount(amount: str) -> None:
    with pytest.raises(ValueError, match="is not a whole number of paise") as info:
        to_paise(D(amount))
    assert str(D(amount)) in str(info.value)


def test_to_paise_when_nan_then_raises_value_error() -> None:
    with pytest.raises(ValueError):
        to_paise(D("NaN"))


@pytest.mark.parametrize(
    ("paise", "expected"), [(0, "0.00"), (1, "0.01"), (150, "1.50"), (140035, "1400.35"), (-2005, "-20.05")]
)
def test_from_paise_when_int_then_rupees_with_two_places(paise: int, expected: str) -> None:
    result = from_paise(paise)
    assert result == D(expected)
    assert str(result) == expected


@settings(max_examples=200, database=None)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_from_paise_when_round_tripped_then_same_paise(paise: int) -> None:
    assert to_paise(from_paise(paise)) == paise


@settings(max_examples=200, database=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False, allow_infinity=False))
def test_round_paise_when_any_amount_then_convertible_and_within_half_paisa(amount: Decimal) -> None:
    rounded = round_paise(amount)
    assert abs(rounded - amount) <= D("0.005")
    assert from_paise(to_paise(rounded)) == rounded
