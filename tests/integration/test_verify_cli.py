"""`claimledger verify` on real SQLite files, edited by hand with sqlite3 as an attacker
would: it names the first divergence, and keeps its signing key private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from api.services import open_services
from api.settings import Settings
from projections.log.merkle import root as merkle_root

from .verification_support import (
    DEPLOYED,
    KILLED,
    Files,
    edit_event,
    execute,
    named,
    run_verify,
    stored_events,
)

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------
# The CLI


def test_a_clean_store_verifies_naming_its_event_count_and_root(files: Files) -> None:
    with files.views_db() as db:
        leaves = [
            bytes.fromhex(h)
            for (h,) in db.execute("SELECT leaf_hash FROM event_index ORDER BY position")
        ]
    events = len(stored_events(files))

    run = run_verify(files)

    assert run.returncode == 0, run.stderr
    assert f"verified {events} events" in run.stdout
    assert merkle_root(leaves).hex() in run.stdout
    assert len(leaves) == events >= 40
    assert run.stderr.strip() == ""


@pytest.mark.parametrize(
    "edit",
    [
        "a recorded value changed",
        "a corrected value changed",
        "a byte flipped so it no longer decodes as JSON",
    ],
)
def test_an_edited_stored_event_fails_verify_naming_that_event(files: Files, edit: str) -> None:
    event = edit_event(files, edit)

    line = run_verify(files).failure_line()

    for part in named(event):
        assert part in line
    assert f"position {event.position}, leaf index {event.leaf_index}, " in line


def test_a_failure_line_names_the_event_exactly_as_the_feed_shows_it(files: Files) -> None:
    event = edit_event(files, "a corrected value changed")

    line = run_verify(files).failure_line()

    assert event.version == 2
    assert line == (
        f"claimledger verify: FAILED: position {event.position}, leaf index {event.leaf_index}, "
        f"stream {event.stream}, version 2: the stored event does not hash to its sealed leaf"
    )


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_deleted_stored_event_fails_verify_naming_its_position(files: Files, which: str) -> None:
    events = stored_events(files)
    event = {"first": events[0], "middle": events[len(events) // 2], "last": events[-1]}[which]
    execute(files.events, "DELETE FROM stored_events WHERE rowid=?", event.position)

    line = run_verify(files).failure_line()

    assert f"position {event.position}, leaf index {event.leaf_index}, " in line
    assert f"stream {event.stream}, version {event.version}" in line
    assert "missing from the event store" in line


def claim_of(files: Files, metric: str) -> str:
    with files.views_db() as db:
        row = db.execute("SELECT id FROM claims WHERE metric=? ORDER BY id LIMIT 1", (metric,))
        return str(row.fetchone()[0])


def last_timeline_position(files: Files, metric: str) -> int:
    with files.views_db() as db:
        row = db.execute("SELECT MAX(position) FROM timeline WHERE metric=?", (metric,))
        return int(row.fetchone()[0])


@pytest.mark.parametrize("view", ["timeline best", "source reliability", "deleted claim"], ids=str)
def test_an_edited_projection_row_fails_verify_naming_the_view_and_key(
    files: Files, view: str
) -> None:
    if view == "timeline best":
        position = last_timeline_position(files, KILLED)
        execute(
            files.views,
            "UPDATE timeline SET best='999999' WHERE metric=? AND position=?",
            KILLED,
            position,
        )
        expected = f"view timeline, key metric={KILLED!r}, position={position}: best is '999999'"
    elif view == "source reliability":
        execute(files.views, "UPDATE sources SET reliability='A' WHERE id='nyt'")
        expected = "view sources, key id='nyt': reliability is 'A', the events imply 'F'"
    else:
        claim = claim_of(files, DEPLOYED)
        execute(files.views, "DELETE FROM claims WHERE id=?", claim)
        expected = f"view claims, key id={claim!r}: missing from the stored view"

    line = run_verify(files).failure_line()

    assert expected in line


def test_an_edited_merkle_node_fails_verify(files: Files) -> None:
    execute(files.views, "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=3 AND start=8")

    line = run_verify(files).failure_line()

    assert "merkle_nodes, key level=3, start=8" in line


def test_a_view_text_that_looks_like_console_markup_is_printed_as_is(files: Files) -> None:
    claim = claim_of(files, DEPLOYED)
    execute(
        files.views,
        "UPDATE claims SET status='[/bold] [red]x :warning:' WHERE id=?",
        claim,
    )

    line = run_verify(files).failure_line()

    assert f"view claims, key id={claim!r}: status is '[/bold] [red]x :warning:'" in line


# ---------------------------------------------------------------------------
# The signing key


def test_the_signing_key_is_created_0600_beside_the_store_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("CLAIMLEDGER_"):
            monkeypatch.delenv(name)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")
    key_path = tmp_path / "data" / "signing-key.pem"
    assert not key_path.exists()

    first = open_services(settings)
    first_id = first.signer.key_id
    first.store.close()
    mode = stat.S_IMODE(key_path.stat().st_mode)
    content = key_path.read_bytes()
    second = open_services(settings)
    second_id = second.signer.key_id
    second.store.close()

    assert mode == 0o600
    assert second_id == first_id
    assert key_path.read_bytes() == content
    assert sorted(p.name for p in key_path.parent.iterdir() if p.suffix == ".pem") == [
        "signing-key.pem"
    ]


def test_a_corrupt_signing_key_makes_verify_fail_in_one_line(files: Files) -> None:
    (files.directory / "signing-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nxx\n")

    run = run_verify(files)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "signing key" in lines[0]
