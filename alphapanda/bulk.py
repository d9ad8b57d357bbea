"""Set-based ledger writes that the ORM makes slowly.

`QuerySet.bulk_update` writes a `CASE WHEN id = ... THEN ...` per field over every row. Building those
expressions was 14% of the paper worker's samples under `make run` with 200-fill batches (py-spy), and
PostgreSQL then tests each row against every WHEN. One `UPDATE ... FROM (VALUES ...)` joins on the
key instead: one pass in Python, one hash join in the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models


def update_rows(rows: Sequence[models.Model], fields: Sequence[str], *, using: str = "default") -> int:
    """Write `fields` of each saved row (all of one model) in one statement; returns rows updated."""
    if not rows:
        return 0
    meta = type(rows[0])._meta
    connection = connections[using]
    quote = connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    # Each placeholder carries its column's type, so PostgreSQL never has to guess from the first row.
    row_sql = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    params: list[object] = []
    for row in rows:
        params.extend(field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns)
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    pk = quote(meta.pk.column)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v ({names}) WHERE t.{pk} = v.{pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
