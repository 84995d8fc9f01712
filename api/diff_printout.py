"""What `claimledger diff` prints: both ends, then the events that moved the estimate."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from api.estimate_printout import fmt
from domain.diffs import Figures
from projections.reads.diffs import DiffPage, End, EndAsked, MetricDiffs


def print_diff(
    console: Console,
    diffs: MetricDiffs,
    metric: str,
    start: EndAsked,
    end: EndAsked | None,
    limit: int,
    every_page: bool,
) -> None:
    """The ends and the first page of changes (at most `limit` events looked at), then
    whether more follow; with `every_page`, every page in turn."""
    page = diffs.page(metric, start, end, limit)
    console.print(f"[bold]{metric}[/] ({page.unit}), default estimate")
    for label, at, figures in (
        ("from", page.start, page.estimate_from),
        ("to  ", page.end, page.estimate_to),
    ):
        console.print(f"{label} {describe(at)}: {figures_text(figures)}")
    console.print(f"consistency proof: {len(page.consistency_path)} hashes")
    table = changes_table()
    unchanged = add_rows(table, page)
    while page.next_cursor is not None and every_page:
        page = diffs.page(metric, None, None, limit, page.next_cursor)
        unchanged += add_rows(table, page)
    console.print(table)
    console.print(f"{unchanged} other events could have moved it and did not")
    for check in page.checks_changed:
        console.print(
            f"check {check.relation} ({check.kind}): {check.before or 'no relation'} → "
            f"{check.after or 'removed'}: {check.message}",
            markup=False,
        )
    if page.next_cursor is not None:
        console.print("… more events follow (--all prints them)")


def describe(end: End) -> str:
    return (
        f"position {end.position} ({end.known_at or 'the start'}), "
        f"tree size {end.tree_size}, root {end.root_hash}"
    )


def figures_text(figures: Figures) -> str:
    if figures.best is None:
        return "no estimate"
    low = fmt(figures.low) + (" (open below)" if figures.low_open else "")
    high = fmt(figures.high) + (" (open above)" if figures.high_open else "")
    return f"low {low}  best [bold]{fmt(figures.best)}[/]  high {high}"


def changes_table() -> Table:
    return Table(
        "position",
        "recorded at",
        "event",
        "claim / source",
        "best",
        "low",
        "high",
        "reason",
        "event's reason",
    )


def add_rows(table: Table, page: DiffPage) -> int:
    """One page's changes as rows; how many events moved nothing."""
    for change in page.changes:
        e = change.effect
        table.add_row(
            str(change.position),
            change.recorded_at,
            change.type,
            change.claim or change.source or "",
            signed(e.best),
            signed(e.low),
            signed(e.high),
            change.reason,
            change.event_reason or "",
        )
    return page.unchanged_events


def signed(value: Decimal | None) -> str:
    if value is None or value == 0:
        return "0"
    return ("+" if value > 0 else "") + fmt(value)
