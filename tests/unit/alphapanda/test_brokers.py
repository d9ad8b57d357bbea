"""`ACTIVE_BROKERS` parsing: ordered, de-duplicated, case- and whitespace-insensitive, strict on names."""

from __future__ import annotations

import pytest

from alphapanda.brokers import KNOWN_BROKERS, UnknownBrokerError, parse_active_brokers


def test_known_brokers_when_listed_then_paper_and_zerodha() -> None:
    assert KNOWN_BROKERS == ("paper", "zerodha")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("paper", ("paper",)),
        ("zerodha", ("zerodha",)),
        ("paper,zerodha", ("paper", "zerodha")),
        ("zerodha,paper", ("zerodha", "paper")),
    ],
)
def test_parse_when_names_given_then_order_is_kept(raw: str, expected: tuple[str, ...]) -> None:
    assert parse_active_brokers(raw) == expected


def test_parse_when_name_repeated_then_first_occurrence_kept_once() -> None:
    assert parse_active_brokers("zerodha,paper,zerodha,paper") == ("zerodha", "paper")


def test_parse_when_mixed_case_then_lowercased() -> None:
    assert parse_active_brokers("PAPER,Zerodha") == ("paper", "zerodha")


def test_parse_when_case_variants_repeat_then_deduplicated() -> None:
    assert parse_active_brokers("Paper,PAPER,paper") == ("paper",)


def test_parse_when_whitespace_around_names_then_stripped() -> None:
    assert parse_active_brokers("  paper ,\tzerodha\n") == ("paper", "zerodha")


def test_parse_when_empty_items_between_commas_then_skipped() -> None:
    assert parse_active_brokers(",paper,, ,zerodha,") == ("paper", "zerodha")


def test_parse_when_result_then_is_tuple() -> None:
    assert isinstance(parse_active_brokers("paper"), tuple)


def test_parse_when_unknown_name_then_raises_naming_it_and_the_known_ones() -> None:
    with pytest.raises(UnknownBrokerError) as info:
        parse_active_brokers("paper,kite")
    message = str(info.value)
    assert "'kite'" in message
    assert "ACTIVE_BROKERS" in message
    assert "paper" in message and "zerodha" in message


def test_parse_when_typo_in_case_insensitive_name_then_lowercased_name_reported() -> None:
    with pytest.raises(UnknownBrokerError, match="'zerodah'"):
        parse_active_brokers("ZERODAH")


def test_parse_when_unknown_after_valid_names_then_still_raises() -> None:
    with pytest.raises(UnknownBrokerError):
        parse_active_brokers("paper,zerodha,upstox")


@pytest.mark.parametrize("raw", ["", " ", ",", " , ,\t", "\n"])
def test_parse_when_no_name_then_raises_names_no_broker(raw: str) -> None:
    with pytest.raises(UnknownBrokerError, match="ACTIVE_BROKERS names no broker"):
        parse_active_brokers(raw)


def test_unknown_broker_error_when_raised_then_is_a_value_error() -> None:
    assert issubclass(UnknownBrokerError, ValueError)
