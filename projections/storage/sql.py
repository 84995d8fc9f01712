"""One dialect of SQL for the views, run on SQLite or on PostgreSQL.

The view logic (writer, queries, idempotency, Merkle log, verification) is written once,
in the SQL both engines share, with `?` placeholders, against `SqlCursor`: the raw
`sqlite3.Cursor` on SQLite, or `PostgresCursor`, which turns `?` into psycopg's `%s`,
gives rows that index by position and by name (as `sqlite3.Row` does), and raises the
library's `IntegrityError` where psycopg raises its own, so callers can catch it inside
a transaction. Only the DDL differs (`projections.storage.schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError

SQLITE = "sqlite"
POSTGRES = "postgresql"


class SqlCursor(Protocol):
    """What the view code needs of a cursor; `sqlite3.Cursor` is one as it is."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...


class Row(tuple[Any, ...]):
    """A row that indexes by position and by column name, and converts with `dict()`."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - set once per subclass

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=256)
def row_class(names: tuple[str, ...]) -> type[Row]:
    index = {name: i for i, name in enumerate(names)}
    return type("Row", (Row,), {"__slots__": (), "_names": names, "_index": index})


def rows_by_position_and_name(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    """A psycopg row factory giving `Row`s."""
    description = cursor.description
    names = tuple(column.name for column in description) if description else ()
    cls = row_class(names)
    return cls


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (and a literal `%` as `%%`)."""
    return sql.replace("%", "%%").replace("?", "%s")


def storable(parameters: Sequence[Any]) -> tuple[Any, ...]:
    """Parameters PostgreSQL accepts: its text cannot hold NUL, so NUL becomes U+FFFD.

    A lookup by a value with NUL then matches nothing, as on SQLite (ids are slugs); a
    view row written with one (no API input carries NUL into a view column) differs from
    a rebuild on SQLite, so `verify` names it rather than the projection failing forever.
    """
    return tuple(
        p.replace("\x00", "\ufffd") if isinstance(p, str) and "\x00" in p else p for p in parameters
    )


class PostgresCursor:
    """A psycopg cursor that speaks the views' SQL; `raw` is the library's own cursor."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._cursor = raw.connection.cursor(row_factory=rows_by_position_and_name)

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> PostgresCursor:
        import psycopg

        try:
            self._cursor.execute(to_pyformat(sql), storable(parameters))
        except psycopg.IntegrityError as error:
            raise IntegrityError(str(error)) from error
        return self

    def executemany(self, sql: str, parameters: Any, /) -> PostgresCursor:
        import psycopg

        rows = [storable(p) for p in parameters]
        if rows:
            try:
                self._cursor.executemany(to_pyformat(sql), rows)
            except psycopg.IntegrityError as error:
                raise IntegrityError(str(error)) from error
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        rows: list[Any] = self._cursor.fetchall()
        return rows

    @property
    def rowcount(self) -> int:
        count: int = self._cursor.rowcount
        return count

    @property
    def description(self) -> Any:
        return self._cursor.description

    def close(self) -> None:
        self._cursor.close()
