"""A stored view compared with its rebuild: the first row, in key order, where they differ,
named as the event (for the feed) or as the view and key.

When both are SQLite files the comparison runs inside SQLite, the stored file attached
read-only to the rebuild's (`first_difference_attached`); otherwise both sides are read
in key order (`first_difference`).
"""

from __future__ import annotations

import itertools
import sqlite3
from contextlib import closing
from typing import Any

from projections.storage.ledger_views import BaseLedgerViews, sqlite_file_of
from projections.storage.schema import KEY_COLUMNS, VIEW_TABLES
from projections.storage.sql import SqlCursor
from projections.storage.sqlite_files import as_uri
from projections.verify.replay import Divergence, describe


def compare_views(
    stored: BaseLedgerViews, rebuilt: BaseLedgerViews, within: SqlCursor | None = None
) -> Divergence | None:
    """The first row, in key order, where a stored view differs from its rebuild; the
    stored views read in the caller's transaction when `within` is given."""
    in_sqlite = sqlite_file_of(stored), sqlite_file_of(rebuilt)
    for table in VIEW_TABLES:
        names = column_names(stored, table)
        if within is None and in_sqlite[0] is not None and in_sqlite[1] is not None:
            pair = first_difference_in_sqlite(in_sqlite[0], in_sqlite[1], table, names)
        else:
            pair = first_difference(stored, rebuilt, table, names, within)
        if pair is not None:
            return difference_message(table, names, *pair)
    return None


Pair = tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]  # (stored row, rebuilt row)


def first_difference(
    stored: BaseLedgerViews,
    rebuilt: BaseLedgerViews,
    table: str,
    names: list[str],
    within: SqlCursor | None = None,
) -> Pair | None:
    """Both sides read in key order, side by side (the stored one `within` the caller's
    transaction, if given)."""
    key_at = [names.index(k) for k in KEY_COLUMNS[table]]
    pairs = itertools.zip_longest(stored.rows(table, within=within), rebuilt.rows(table))
    for have, want in pairs:
        if have == want:
            continue
        if want is None or (have is not None and key(have, key_at) < key(want, key_at)):
            return have, None
        if have is None or key(have, key_at) > key(want, key_at):
            return None, want
        return have, want
    return None


def first_difference_in_sqlite(
    stored_file: str, rebuilt_file: str, table: str, names: list[str]
) -> Pair | None:
    """The same as `first_difference`, as two joins on the views' keys inside SQLite."""
    with closing(sqlite3.connect(as_uri(rebuilt_file), uri=True)) as db:
        db.execute("ATTACH DATABASE ? AS stored", (as_uri(stored_file, read_only=True),))
        return first_difference_attached(db, table, names)


def first_difference_attached(db: sqlite3.Connection, table: str, names: list[str]) -> Pair | None:
    """`first_difference_in_sqlite` on a connection to the rebuild (`main`) with the stored
    views attached as `stored`."""
    keys = KEY_COLUMNS[table]
    on = " AND ".join(f"r.{k} = s.{k}" for k in keys)
    differs = " OR ".join(f"r.{n} IS NOT s.{n}" for n in names)
    key_list = ", ".join(keys)
    implied = db.execute(  # a rebuilt row missing from the stored view, or different
        f"SELECT {', '.join('r.' + k for k in keys)} FROM main.{table} r "
        f"LEFT JOIN stored.{table} s ON {on} WHERE s.{keys[0]} IS NULL OR {differs} "
        f"ORDER BY {', '.join('r.' + k for k in keys)} LIMIT 1"
    ).fetchone()
    extra = db.execute(  # a stored row the rebuild does not have
        f"SELECT {key_list} FROM stored.{table} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM main.{table} r WHERE {on}) ORDER BY {key_list} LIMIT 1"
    ).fetchone()
    found = [tuple(k) for k in (implied, extra) if k is not None]
    if not found:
        return None
    first = min(found)
    where = " AND ".join(f"{k} IS ?" for k in keys)

    def row(schema: str) -> tuple[Any, ...] | None:
        got = db.execute(f"SELECT * FROM {schema}.{table} WHERE {where}", first).fetchone()
        return tuple(got) if got is not None else None

    return row("stored"), row("main")


def difference_message(
    table: str, names: list[str], have: tuple[Any, ...] | None, want: tuple[Any, ...] | None
) -> Divergence:
    if table == "event_index" and (have is None or want is None or have[8] != want[8]):
        return event_difference(have, want)
    if want is None:
        assert have is not None
        return Divergence(f"{row_place(table, names, have)}: a stored row the events do not imply")
    if have is None:
        return Divergence(f"{row_place(table, names, want)}: missing from the stored view")
    column = next(n for n, a, b in zip(names, have, want, strict=True) if a != b)
    i = names.index(column)
    return Divergence(
        f"{row_place(table, names, have)}: {column} is {have[i]!r}, the events imply {want[i]!r}"
    )


def event_difference(have: tuple[Any, ...] | None, want: tuple[Any, ...] | None) -> Divergence:
    """A feed row (position, leaf_index, stream, version, type, recorded_at, actor, data,
    leaf_hash) missing on one side, or whose leaf the stored event does not hash to,
    named as the event. (A row with the right leaf and another wrong column is an edited
    view row, named as any other.)"""
    if want is None:
        assert have is not None
        where = describe(have[0], have[1], have[2], have[3])
        return Divergence(f"{where}: sealed in the log but missing from the event store")
    if have is None:
        where = describe(want[0], None, want[2], want[3])
        return Divergence(f"{where}: stored but not sealed in the log")
    where = describe(want[0], have[1], want[2], want[3])
    if have[1] != want[1]:
        return Divergence(f"{where}: leaf index should be {want[1]}")
    return Divergence(f"{where}: the stored event does not hash to its sealed leaf")


def row_place(table: str, names: list[str], row: tuple[Any, ...]) -> str:
    named = ", ".join(f"{k}={row[names.index(k)]!r}" for k in KEY_COLUMNS[table])
    return f"view {table}, key {named}"


def key(row: tuple[Any, ...], key_at: list[int]) -> tuple[Any, ...]:
    return tuple(row[i] for i in key_at)


def column_names(views: BaseLedgerViews, table: str) -> list[str]:
    return views.column_names(table)
