"""Shared fixtures for the integration tests: real stores, no mocks.

`store_at` (and so `store`, `small_world`, `run_cli`) runs each test twice: on SQLite files
under tmp_path, and on a fresh PostgreSQL database (when the suite has a server; see
tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Protocol

import pytest

from api.services import open_store
from api.settings import Settings
from domain.ledger import Ledger
from projections.storage.group_commit import GroupCommitter
from projections.store import Store, sqlite_env
from projections.tuning import Tuning
from tests.builders import claim as claim  # the integration tests import it from here
from tests.conftest import STORES
from tests.integration.verification_support import (  # noqa: F401 - fixtures, by name
    files,
    log_half,
    opened,
    template,
)
from tests.support.views import dump_views, rebuild_in_memory

ACTOR = "integration-test"
CLI = Path(sys.executable).with_name("claimledger")


def register_sources(store: Store, *slugs: str, kind: str = "outlet") -> None:
    for slug in slugs:
        store.ledger.register_source(slug, slug.title(), kind, None, None, ACTOR)


def define_metrics(store: Store, *slugs: str, unit: str = "people") -> None:
    for slug in slugs:
        store.ledger.define_metric(slug, slug.title(), unit, None, ACTOR)


def fresh_rebuild(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Project the whole event log into brand-new views (in memory) and dump them."""
    rebuilt = rebuild_in_memory(store.ledger, store.ledger.max_position())
    try:
        return dump_views(rebuilt)
    finally:
        rebuilt.close()


@dataclass
class StoreAt:
    """Where a test's store lives: `kind` is sqlite or postgres, `url` its database URL."""

    kind: str
    url: str
    make_sibling: Callable[[], str] = field(repr=False, default=lambda: "")
    opened: list[Store] = field(default_factory=list)

    def sibling(self) -> StoreAt:
        """Another empty store of the same kind (a file beside, or another database)."""
        return StoreAt(self.kind, self.make_sibling(), self.make_sibling, self.opened)

    @property
    def settings(self) -> Settings:
        return Settings(database_url=self.url)

    def open(self, tuning: Tuning | None = None) -> Store:
        """Open the store (again), as another process would; closed after the test."""
        store = open_store(self.settings, tuning)
        self.opened.append(store)
        return store

    def ledger_env(self) -> dict[str, str]:
        settings = self.settings
        if settings.is_postgres:
            return settings.postgres_env
        return sqlite_env(settings.sqlite_path, 5)

    def ledger(self) -> Ledger:
        """Another ledger application on the same event store."""
        return Ledger(env=self.ledger_env(), committer=GroupCommitter)


@pytest.fixture
def events_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture(params=STORES)
def store_at(request: pytest.FixtureRequest, events_path: Path) -> Iterator[StoreAt]:
    """An empty store of each kind: SQLite files, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        new_database = request.getfixturevalue("new_postgres_database")
        at = StoreAt("postgres", new_database(), new_database)
    else:
        siblings = (f"sqlite:///{events_path.parent / f'other-{n}' / 'ledger.db'}" for n in count())
        at = StoreAt("sqlite", f"sqlite:///{events_path}", lambda: next(siblings))
    yield at
    for each in at.opened:
        each.close()


@pytest.fixture
def store(store_at: StoreAt) -> Store:
    """The test's store, open; closed after the test."""
    return store_at.open()


@pytest.fixture
def small_world(store: Store) -> Store:
    """Four sources and two metrics, projected."""
    register_sources(store, "outlet-a", "outlet-b", "ministry", "agency")
    define_metrics(store, "war/killed", "war/wounded")
    store.runner.catch_up()
    return store


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


class RunCli(Protocol):
    def __call__(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> CliResult: ...


@pytest.fixture
def cli_env(store_at: StoreAt) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = store_at.url
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def run_cli(tmp_path: Path, cli_env: dict[str, str]) -> RunCli:
    """Run `claimledger ARGS` in a subprocess, in tmp_path, against the test store."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
        done = subprocess.run(
            [str(CLI), *args],
            cwd=tmp_path,
            env=env or cli_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)

    return run
