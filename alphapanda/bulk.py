"""Set-based ledger writes that the ORM makes slowly.

`QuerySet.bulk_update` writes a `CASE WHEN id = ... THEN ...` per field over every row. Building those
expressions was 14% of the paper worker's samples under `make run` with 200-fill batches (py-spy), and
PostgreSQL then tests each row against every WHEN. One `UPDATE ... FROM (VALUES ...)` joins on the
key instead: one pass in Python, one hash join in the database.

`QuerySet.bulk_create` prepares every value through its field (`prepare_value`, `get_db_prep_save`):
a third of the paper trading step's time with 200-order batches (cProfile, `bench.stage_profile`),
49 conversions an order and its fill that give PostgreSQL's driver back what it was given. For
models of plain columns (text, integers, decimals, booleans, aware datetimes, foreign keys),
`insert_rows` sends the attributes as they are, all rows in one JSON parameter that PostgreSQL types
by the table's columns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

import msgspec
from django.db import connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.options import Options

M = TypeVar("M", bound=models.Model)
_json = msgspec.json.Encoder(decimal_format="string")
_PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,  # and the big, small and positive ones
    models.DecimalField,
    models.BooleanField,
    models.DateTimeField,
    models.ForeignKey,
)


@dataclass(frozen=True)
class Parent:
    """Parent rows inserted by the same statement, in the `WITH` query `name` that returned their `id`
    and `match`: each child's foreign key `field` is the id of the parent whose `match` equals the
    child's `by`. So a parent and its children are written in one statement, not a transaction of two."""

    field: str
    name: str
    match: str
    by: str


def new_row(model: type[M], **values: object) -> M:
    """A new, unsaved row of `model`: `values` by field, the rest at their defaults. Built without
    `Model.__init__`, which matches every keyword to its field: 22% of the paper trading step's time
    (cProfile, batches of 400) for an order and its fill, 12 µs a row where this takes 4. A foreign
    key may be given as its row, under the field's name. Models whose construction something
    listens to (`pre_init`, `post_init`) are built the usual way."""
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model(**values)
    constants, per_row, relations = _construction(model)
    row = model.__new__(model)
    row._state = ModelState()
    attributes = row.__dict__
    attributes.update(constants)
    for attname, default in per_row.items():
        attributes[attname] = default()
    for name, value in values.items():
        if name in relations:
            relations[name].set_cached_value(row, value)
            attributes[relations[name].attname] = None if value is None else value.pk
        elif name in constants or name in per_row:
            attributes[name] = value
        else:
            raise TypeError(f"{model.__name__} has no field {name}")
    return row


_IMMUTABLE = (type(None), bool, int, str, Decimal, date)  # date: datetimes too


@functools.cache
def _construction(
    model: type[models.Model],
) -> tuple[dict[str, object], dict[str, Callable[[], object]], dict[str, models.ForeignKey]]:
    """`model`'s defaults by attribute name: those all rows share, and the `get_default` of those each
    row needs its own (a callable default, or a mutable value no two rows may share); and its
    foreign keys by name."""
    constants: dict[str, object] = {}
    per_row: dict[str, Callable[[], object]] = {}
    for field in model._meta.concrete_fields:
        default = field.get_default()
        if (field.has_default() and callable(field.default)) or not isinstance(default, _IMMUTABLE):
            per_row[field.attname] = field.get_default
        else:
            constants[field.attname] = default
    relations = {f.name: f for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)}
    return constants, per_row, relations


def insert_statement(
    rows: Sequence[models.Model],
    *,
    returning: Sequence[str],
    skip_conflicts: bool = False,
    parent: Parent | None = None,
    using: str = "default",
) -> tuple[str, list]:
    """`INSERT` of new rows of one model in one statement, returning the `returning` columns: for
    `insert_rows`, or to compose into a larger statement. Every column must be of a plain type
    (`_PLAIN`): its JSON value is what PostgreSQL reads. With `skip_conflicts`, rows that break a
    unique constraint are left out and return nothing; with `parent`, a foreign key comes from rows
    inserted alongside."""
    meta = type(rows[0])._meta
    fields = [
        f for f in meta.concrete_fields if f is not meta.pk and (parent is None or f.name != parent.field)
    ]
    _plain_only(meta, fields)
    related_keys_take(rows, [f for f in fields if isinstance(f, models.ForeignKey)])
    quote = connections[using].ops.quote_name
    table, names = quote(meta.db_table), [quote(f.column) for f in fields]
    # The rows as one JSON parameter, typed by the table's own columns: msgspec encodes it in C, where
    # psycopg quoted an array a column in Python (18% of the trading step under cProfile), and the
    # statement stays short, so the driver parses it once and caches it.
    source = f"SELECT {', '.join(names)} FROM json_populate_recordset(NULL::{table}, %s::json)"
    columns = ", ".join(names)
    if parent is not None:
        key, by = meta.get_field(parent.field).column, meta.get_field(parent.by).column
        columns += f", {quote(key)}"
        source = (
            f"SELECT {', '.join(f'u.{name}' for name in names)}, p.id "
            f"FROM json_populate_recordset(NULL::{table}, %s::json) AS u "
            f"JOIN {parent.name} AS p ON p.{quote(parent.match)} = u.{quote(by)}"
        )
    sql = (
        f"INSERT INTO {table} ({columns}) {source}"
        f"{' ON CONFLICT DO NOTHING' if skip_conflicts else ''} "
        f"RETURNING {', '.join(quote(meta.get_field(name).column) for name in returning)}"
    )
    return sql, [_rows_json(rows, fields)]


def _plain_only(meta: Options, fields: Sequence[models.Field]) -> None:
    odd = [f.name for f in fields if not isinstance(f, _PLAIN)]
    if odd:
        raise TypeError(f"bulk: {meta.label} has columns it does not convert: {', '.join(odd)}")


def _rows_json(rows: Sequence[models.Model], fields: Sequence[models.Field]) -> str:
    """The rows as a JSON array of objects keyed by column: decimals as strings (exact), datetimes in
    RFC 3339 with their offset, as PostgreSQL's input functions read them."""
    return _json.encode([{f.column: getattr(row, f.attname) for f in fields} for row in rows]).decode()


def insert_rows(rows: Sequence[models.Model], *, using: str = "default") -> None:
    """Insert new rows of one model in one statement and set their primary keys, as `bulk_create`
    does (see `insert_statement`)."""
    if not rows:
        return
    meta = type(rows[0])._meta
    sql, params = insert_statement(rows, returning=[meta.pk.name], using=using)
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    for row, (key,) in zip(rows, keys, strict=True):
        saved(row, key, using=using)


def saved(row: models.Model, key: int, *, using: str = "default") -> None:
    """A row one of these statements inserted: its key, and its state as the ORM leaves a saved row."""
    row.pk = key
    row._state.adding, row._state.db = False, using


def related_keys_take(rows: Sequence[models.Model], relations: Sequence[models.ForeignKey]) -> None:
    """Each foreign key of `relations` from its related row, saved since it was assigned (the row
    object itself kept: setting the key alone would drop it)."""
    for row in rows:
        for field in relations:
            related = field.get_cached_value(row, None)
            if related is not None and getattr(row, field.attname) is None:
                setattr(row, field.attname, related.pk)
                field.set_cached_value(row, related)


def update_rows(rows: Sequence[models.Model], fields: Sequence[str], *, using: str = "default") -> int:
    """Write `fields` of each saved row (all of one model) in one statement; returns rows updated."""
    if not rows:
        return 0
    meta = type(rows[0])._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    _plain_only(meta, columns)
    quote = connections[using].ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns[1:])
    # The rows as one JSON parameter (see `insert_statement`), where a VALUES list of rows x columns
    # placeholders was a new statement for the driver to parse each batch.
    sql = (
        f"UPDATE {table} AS t SET {assignments} "
        f"FROM json_populate_recordset(NULL::{table}, %s::json) AS v WHERE t.{pk} = v.{pk}"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [_rows_json(rows, columns)])
        return cursor.rowcount
