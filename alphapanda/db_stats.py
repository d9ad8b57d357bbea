"""Planner statistics where nothing else keeps them: a PostgreSQL server with autovacuum off.

The ledger's lookups by event id (`broker = %s AND signal_id = ANY(%s)`, every risk, trading, tick
and portfolio batch) use the unique indexes only when the planner knows the tables are large. On
tables never analyzed it scans every row of the broker instead: 363 ms for 150 ids at 370,000 fills,
5.5 ms after `ANALYZE` (docs/performance.md). Autovacuum keeps the statistics on any server with
default settings; the one this machine kind provides runs with it off.
"""

from __future__ import annotations

from django.db import connections


def autovacuum_on(using: str = "default") -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "on"


def analyze_unless_autovacuum(using: str = "default") -> bool:
    """`ANALYZE` the database, as autovacuum would have, when autovacuum is off; whether it did."""
    if autovacuum_on(using):
        return False
    with connections[using].cursor() as cursor:
        cursor.execute("ANALYZE")
    return True
