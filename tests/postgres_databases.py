"""Fresh PostgreSQL databases, made and dropped through an admin URL: the tests' (one per
test, tests/conftest.py) and the benchmarks' (one per run, bench/postgres/).

The admin URL names a database on a server where its user may create databases; a new
database's URL is the same URL with another database name.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def execute(admin_url: str, statement: str, retries: int = 10) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE), retried while the
    server says another session is in the way (a pool closing, autovacuum)."""
    import psycopg

    for attempt in range(retries):
        try:
            with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(statement)  # type: ignore[arg-type,unused-ignore]
            return
        except psycopg.errors.ObjectInUse:
            if attempt == retries - 1:
                raise
            time.sleep(0.3 * (attempt + 1))


def create_database(admin_url: str, prefix: str, template: str | None = None) -> str:
    """A fresh database (empty, or a copy of `template`); its URL."""
    name = f"{prefix}_{uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    execute(admin_url, f'CREATE DATABASE "{name}"{copy}')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    """Drop a database; a failure to clean up never fails the test or the benchmark."""
    import psycopg

    statement = f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)'
    for attempt in range(5):
        try:
            execute(admin_url, statement)
            return
        except psycopg.Error:  # e.g. an autovacuum worker it may not terminate: retry
            time.sleep(0.2 * (attempt + 1))


@contextlib.contextmanager
def fresh_database(admin_url: str, prefix: str, template: str | None = None) -> Iterator[str]:
    url = create_database(admin_url, prefix, template)
    try:
        yield url
    finally:
        drop_database(admin_url, url)
