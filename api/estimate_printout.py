"""What `claimledger estimate` prints: the estimate, then its explanation a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from domain.estimates import ExplanationLine
from projections.reads.queries import LedgerQueries


def print_estimate(
    console: Console,
    queries: LedgerQueries,
    metric: str,
    method: str,
    known_at: str | None,
    valid_at: date | None,
    lines: int,
    every_line: bool,
) -> None:
    """The estimate and the first `lines` lines of its explanation, then how many more;
    with `every_line`, every page in turn."""
    answer = queries.estimate(metric, method, known_at, valid_at, lines=lines)
    e = answer.estimate
    console.print(
        f"[bold]{metric}[/] ({answer.unit}), {e.method}, position {answer.position}"
        + (f", as known at {known_at}" if known_at else "")
    )
    console.print(
        f"low {fmt(e.low)}  best [bold]{fmt(e.best)}[/]  high {fmt(e.high)}  "
        f"included {e.included}/{e.considered}  evidence {e.evidence.value}"
    )
    shown = print_lines(console, e.explanation)
    cursor = answer.next_cursor
    while cursor is not None and every_line:
        page = queries.estimate(metric, method, known_at, valid_at, lines=lines, cursor=cursor)
        shown += print_lines(console, page.estimate.explanation)
        cursor = page.next_cursor
    if cursor is not None:
        console.print(f"… and {e.considered - shown} more lines (--all prints them)")


def print_lines(console: Console, lines: Sequence[ExplanationLine]) -> int:
    """One page of an explanation as a table; how many lines it held."""
    table = Table("claim", "origin", "point", "weight", "status", "reason")
    for line in lines:
        table.add_row(
            line.claim,
            line.origin,
            fmt(line.point),
            fmt(line.weight),
            line.status.value,
            line.reason,
        )
    console.print(table)
    return len(lines)


def fmt(value: Decimal | None) -> str:
    return "—" if value is None else format(value.normalize(), "f")
