"""Shared fixtures for the integration tests: real SQLite files under tmp_path, no mocks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import pytest

from domain.claims import ClaimFields
from domain.values import Qualifier
from projections.store import Store, open_sqlite_store

ACTOR = "integration-test"
CLI = Path(sys.executable).with_name("claimledger")


def claim(
    metric: str,
    value: int | str,
    reported_by: str,
    *attributed_to: str,
    qualifier: Qualifier = Qualifier.EXACT,
    as_of: date = date(2025, 1, 15),
    published_at: date | None = date(2025, 1, 22),
    value_high: int | str | None = None,
) -> ClaimFields:
    """The fields of one claim, with sensible defaults."""
    return ClaimFields(
        metric=metric,
        value=Decimal(value),
        qualifier=qualifier,
        reported_by=reported_by,
        attributed_to=tuple(attributed_to),
        as_of=as_of,
        published_at=published_at,
        value_high=None if value_high is None else Decimal(value_high),
    )


def register_sources(store: Store, *slugs: str, kind: str = "outlet") -> None:
    for slug in slugs:
        store.ledger.register_source(slug, slug.title(), kind, None, None, ACTOR)


def define_metrics(store: Store, *slugs: str, unit: str = "people") -> None:
    for slug in slugs:
        store.ledger.define_metric(slug, slug.title(), unit, None, ACTOR)


def fresh_rebuild(events_path: Path, views_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Project the whole event log into a brand-new views file and dump it."""
    assert not views_path.exists()
    store = open_sqlite_store(str(events_path), str(views_path))
    try:
        store.runner.catch_up()
        return store.views.dump()
    finally:
        store.close()


@pytest.fixture
def events_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def store(events_path: Path) -> Iterator[Store]:
    """A store on real SQLite files; closed after the test."""
    opened = open_sqlite_store(str(events_path))
    yield opened
    opened.close()


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
def cli_env(events_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = f"sqlite:///{events_path}"
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
