from __future__ import annotations

import csv

from trading.instruments import KITE_CSV_FIELDS, SHIPPED_INSTRUMENTS, load_csv


def test_the_shipped_file_has_the_kite_header_and_parses() -> None:
    with SHIPPED_INSTRUMENTS.open(newline="") as handle:
        assert tuple(next(csv.reader(handle))) == KITE_CSV_FIELDS
    instruments = load_csv()
    assert 40 <= len(instruments) <= 60


def test_tokens_and_symbols_are_unique() -> None:
    instruments = load_csv()
    assert len({i.token for i in instruments}) == len(instruments)
    assert len({(i.exchange, i.symbol) for i in instruments}) == len(instruments)


def test_exchange_token_is_the_instrument_token_shifted_by_eight_bits() -> None:
    with SHIPPED_INSTRUMENTS.open(newline="") as handle:
        for row in csv.DictReader(handle):
            assert int(row["exchange_token"]) == int(row["instrument_token"]) >> 8, row["tradingsymbol"]


def test_every_row_is_a_walkable_nse_instrument() -> None:
    for instrument in load_csv():
        assert instrument.exchange == "NSE"
        assert instrument.lot_size == 1
        assert instrument.expiry is None
        assert instrument.last_price > 0
        assert instrument.last_price % instrument.tick_size == 0, instrument.symbol


def test_well_known_tokens_and_the_two_indices() -> None:
    by_symbol = {i.symbol: i for i in load_csv()}
    assert by_symbol["RELIANCE"].token == 738561
    assert by_symbol["INFY"].token == 408065
    assert by_symbol["M&M"].token == 519937
    indices = {i.symbol: i.token for i in by_symbol.values() if i.segment == "INDICES"}
    assert indices == {"NIFTY 50": 256265, "NIFTY BANK": 260105}
    assert all(
        i.segment == "NSE" and i.instrument_type == "EQ"
        for i in by_symbol.values()
        if i.token not in indices.values()
    )
