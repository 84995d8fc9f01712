"""What `claimledger estimate` prints: the estimate, then its explanation a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from domain.estimates import ExplanationLine
from domain.values import Qualifier
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
    low_open = " (open below)" if e.low_open else ""
    high_open = " (open above)" if e.high_open else ""
    console.print(
        f"low {fmt(e.low)}{low_open}  best [bold]{fmt(e.best)}[/]  high {fmt(e.high)}{high_open}  "
        f"included {e.included}/{e.considered}  evidence {e.evidence.value}"
    )
    for d in answer.related.derived:
        console.print(
            f"derived through {d.relation}: low {fmt(d.low)}  best {fmt(d.best)}  "
            f"high {fmt(d.high)}  {d.status.value}"
        )
    for c in answer.related.checks:
        console.print(f"check {c.relation} ({c.kind}): {c.status.value}: {c.message}")
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
    table = Table(
        "claim", "said", "as of", "reported by", "origin", "point", "weight", "status", "reason"
    )
    for line in lines:
        table.add_row(
            line.claim,
            said(line),
            line.as_of.isoformat(),
            line.reported_by or "—",
            line.origin,
            fmt(line.point),
            fmt(line.weight),
            line.status.value,
            line.reason,
        )
    console.print(table)
    return len(lines)


def said(line: ExplanationLine) -> str:
    """The value as the source said it: "more than 10000", "1000 to 1500"."""
    if line.qualifier is Qualifier.RANGE:
        return f"{fmt(line.value)} to {fmt(line.value_high)}"
    if line.qualifier is Qualifier.EXACT:
        return fmt(line.value)
    return f"{line.qualifier.value.replace('_', ' ')} {fmt(line.value)}"


def fmt(value: Decimal | None) -> str:
    return "—" if value is None else format(value.normalize(), "f")
