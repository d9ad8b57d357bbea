"""On a server with autovacuum off (this machine kind's), the bench and operators get statistics the
planner needs for the ledger's lookups by id; on any other server autovacuum keeps them."""

from __future__ import annotations

import pytest
from django.db import connection

from alphapanda import db_stats

pytestmark = pytest.mark.django_db


def _reltuples(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        return cursor.fetchone()[0]


def test_analyze_runs_exactly_when_autovacuum_is_off() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        on = cursor.fetchone()[0] == "on"

    assert db_stats.autovacuum_on() is on
    assert db_stats.analyze_unless_autovacuum() is (not on)
    if not on:
        assert _reltuples("trading_order") >= 0  # -1: never analyzed
