"""One suite, two stores: the PostgreSQL half runs when CLAIMLEDGER_TEST_POSTGRES_URL is set.

The URL names a database on a server where its user may create databases
(`postgresql://user:pass@127.0.0.1:5432/db`); each test that asks for one gets a fresh
database of its own, dropped afterwards. Without the URL those tests are skipped, and
the run ends with one line saying the PostgreSQL half was not run. This is the only
place the tests read it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

from tests import postgres_databases as databases

POSTGRES_URL_VARIABLE = "CLAIMLEDGER_TEST_POSTGRES_URL"
POSTGRES_URL = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
NOT_RUN = f"PostgreSQL half not run: {POSTGRES_URL_VARIABLE} is not set"

# Parameters for fixtures that run on either store; the postgres one skips without a URL.
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

NewDatabase = Callable[[], str]


def admin_connection() -> object:
    import psycopg

    return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10)


def create_database() -> str:
    """A fresh, empty database; its URL."""
    return databases.create_database(POSTGRES_URL, "cl_test")


def drop_database(url: str) -> None:
    databases.drop_database(POSTGRES_URL, url)


@pytest.fixture
def new_postgres_database() -> Iterator[NewDatabase]:
    """Makes fresh PostgreSQL databases for this test (skips without a server)."""
    if not POSTGRES_URL:
        pytest.skip(NOT_RUN)
    made: list[str] = []

    def make() -> str:
        made.append(create_database())
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture(scope="session")
def session_postgres_databases() -> Iterator[NewDatabase]:
    """The same, for fixtures that outlive one test (servers shared by a module)."""
    if not POSTGRES_URL:
        pytest.skip(NOT_RUN)
    made: list[str] = []

    def make() -> str:
        made.append(create_database())
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


LAYERS = ("unit", "integration", "e2e")


def unmarked_files(items: list[pytest.Item]) -> list[str]:
    """Test files whose module-level `pytestmark` names no layer: `-m unit` would skip them."""
    unmarked: set[str] = set()
    for item in items:
        module = getattr(item, "module", None)
        marks = getattr(module, "pytestmark", [])
        marks = marks if isinstance(marks, list) else [marks]
        if not any(mark.name in LAYERS for mark in marks):
            unmarked.add(item.nodeid.split("::")[0])
    return sorted(unmarked)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = unmarked_files(items)
    if unmarked:
        raise pytest.UsageError(
            f"every test file says its layer (pytestmark = pytest.mark.{' / '.join(LAYERS)}); "
            "these do not: " + ", ".join(unmarked)
        )
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason=NOT_RUN)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    yield  # after the short summary of skips and failures: the last line before the counts
    postgres = [
        report
        for key in ("passed", "failed", "skipped", "error")
        for report in terminalreporter.stats.get(key, [])
        if "postgres" in getattr(report, "keywords", {})
    ]
    if not POSTGRES_URL:
        terminalreporter.write_line(
            f"NOTE: {NOT_RUN}; {len({r.nodeid for r in postgres})} PostgreSQL tests skipped "
            "(.ci/run starts a server and runs them).",
            yellow=True,
            bold=True,
        )
    else:
        passed = sum(1 for r in postgres if r.passed and r.when == "call")
        terminalreporter.write_line(f"PostgreSQL half run: {passed} PostgreSQL tests passed.")
