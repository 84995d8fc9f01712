"""Which storage errors mean "the store cannot take this now" (503) and which are bugs."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
import pytest
from eventsourcing.persistence import (
    ConnectionUnavailableError,
    InternalError,
    OperationalError,
)

from projections.store_health import refusal_of

pytestmark = pytest.mark.unit


def wrapped(driver_error: Exception, library_error: type[Exception]) -> Exception:
    """The driver's error as the library raises it: its own class, the driver's as cause."""
    try:
        try:
            raise driver_error
        except Exception as error:
            raise library_error(str(error)) from error
    except Exception as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            wrapped(sqlite3.OperationalError("database or disk is full"), OperationalError),
            "disk full",
        ),
        (
            wrapped(
                sqlite3.OperationalError("attempt to write a readonly database"), OperationalError
            ),
            "read-only",
        ),
        (wrapped(psycopg.errors.ReadOnlySqlTransaction("ro"), InternalError), "read-only"),
        (wrapped(psycopg.errors.DiskFull("no space"), OperationalError), "disk full"),
        (wrapped(psycopg.errors.AdminShutdown("bye"), OperationalError), "unavailable"),
        (ConnectionUnavailableError("pool timed out"), "unavailable"),
        (OSError(errno.ENOSPC, "No space left on device"), "disk full"),
        (OSError(errno.EROFS, "Read-only file system"), "read-only"),
    ],
)
def test_a_store_that_cannot_take_a_write_now_is_a_refusal(error: Exception, reason: str) -> None:
    refused = refusal_of(error)
    assert refused is not None
    assert refused.reason == reason


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sqlite3.OperationalError("near 'SELEC': syntax error"), OperationalError),
        wrapped(psycopg.errors.UndefinedTable("no such table"), InternalError),
        OSError(errno.ENOENT, "No such file"),
        ValueError("not storage at all"),
    ],
)
def test_a_bug_is_no_refusal(error: Exception) -> None:
    assert refusal_of(error) is None
