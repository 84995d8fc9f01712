"""SQLite store files are readable by their owner only: created so, and tightened when a
store made before is opened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from domain.values import Role
from projections.store import open_sqlite_store

from .conftest import ACTOR

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def store_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.startswith("ledger."))


def test_a_new_store_and_its_companion_files_are_created_0600(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # the common default, which would give 0644
    try:
        store = open_sqlite_store(str(tmp_path / "ledger.db"))
        try:
            store.ledger.issue_key("ops", Role.ADMIN, ACTOR)
            store.runner.catch_up()
            files = store_files(tmp_path)
            assert {p.name for p in files} >= {"ledger.db", "ledger.db-wal", "ledger.views.db"}
            assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
        finally:
            store.close()
    finally:
        os.umask(previous)


def test_opening_a_store_tightens_files_left_readable_by_others(tmp_path: Path) -> None:
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    store.close()
    for path in store_files(tmp_path):
        path.chmod(0o644)
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        files = store_files(tmp_path)
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        store.close()
