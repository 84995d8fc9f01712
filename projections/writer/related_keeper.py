"""The current derived figures and checks (§9), kept as batches are applied.

At the end of a batch, after the estimates are written, the relations a changed estimate
or a changed relation touches are checked again, and every metric those relations tie
gets its `related_figures` row again: so a plain estimate GET reads one more row, not the
other metrics' claims. Each row is a function of the relations and estimates as they end
the batch, never of the order they came in, so a rebuild writes the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from domain.checks import Figure
from domain.related import figure_of, metrics_of, related, relation_check
from domain.relations import Terms, terms_from
from projections.log.canonical import loads
from projections.storage.sql import SqlCursor
from projections.writer.estimate_summary import decode_summary
from projections.writer.related_summary import check_row, encode_related

CHUNK = 500  # metrics named in one IN (...): well below every database's limit


class RelatedKeeper:
    """Keeps `relation_checks` and `related_figures` in step with relations and estimates."""

    def __init__(self) -> None:
        self.changed_relations: set[str] = set()  # streams defined, updated or removed

    def relation_changed(self, stream: str) -> None:
        self.changed_relations.add(stream)

    def finish(self, c: SqlCursor, changed_metrics: Iterable[str]) -> None:
        """Check again what the batch's changes touch (the estimates already written)."""
        changed = sorted(set(changed_metrics))
        slugs = slugs_of(c, sorted(self.changed_relations))
        self.changed_relations.clear()
        if not slugs and (not changed or not any_live_relation(c)):
            return
        slugs |= relations_touching(c, changed)
        ordered = sorted(slugs)
        live = live_relations(c, ordered)
        affected = metrics_ever_tied(c, ordered)
        # Every relation touching an affected metric: its row shows all of them.
        for slug, terms in live_relations(
            c, sorted(relations_touching(c, sorted(affected)))
        ).items():
            live.setdefault(slug, terms)
        figures, units = figures_of(c, sorted(metrics_of(live.items()) | affected))
        c.executemany("DELETE FROM relation_checks WHERE relation=?", [(s,) for s in ordered])
        c.executemany(
            "INSERT INTO relation_checks VALUES (?, ?, ?, ?, ?)",
            [check_row(relation_check(s, live[s], figures, units)) for s in ordered if s in live],
        )
        metrics = sorted(affected)
        c.executemany("DELETE FROM related_figures WHERE metric=?", [(m,) for m in metrics])
        rows = []
        for metric in metrics:
            answer = related(metric, live.items(), figures, units)
            if answer.checks:
                rows.append((metric, encode_related(answer)))
        c.executemany("INSERT INTO related_figures VALUES (?, ?)", rows)

    def forget(self) -> None:
        self.changed_relations.clear()


def any_live_relation(c: SqlCursor) -> bool:
    return c.execute("SELECT 1 FROM relations WHERE removed=0 LIMIT 1").fetchone() is not None


def slugs_of(c: SqlCursor, streams: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(streams):
        marks = ",".join("?" * len(part))
        rows = c.execute(f"SELECT id FROM relations WHERE stream IN ({marks})", tuple(part))
        found.update(row[0] for row in rows.fetchall())
    return found


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def relations_touching(c: SqlCursor, metrics: Sequence[str]) -> set[str]:
    """The live relations whose current version ties any of the metrics."""
    found: set[str] = set()
    for part in chunks(metrics):
        marks = ",".join("?" * len(part))
        rows = c.execute(
            "SELECT DISTINCT r.id FROM relation_metrics m JOIN relations r "
            f"ON r.id = m.relation AND r.version = m.version WHERE m.metric IN ({marks}) "
            "AND r.removed = 0",
            tuple(part),
        ).fetchall()
        found.update(row[0] for row in rows)
    return found


def live_relations(c: SqlCursor, slugs: Sequence[str]) -> dict[str, Terms]:
    live: dict[str, Terms] = {}
    for part in chunks(slugs):
        marks = ",".join("?" * len(part))
        rows = c.execute(
            f"SELECT id, kind, terms FROM relations WHERE id IN ({marks}) AND removed = 0",
            tuple(part),
        ).fetchall()
        live.update((row[0], terms_from(row[1], loads(row[2]))) for row in rows)
    return live


def metrics_ever_tied(c: SqlCursor, slugs: Sequence[str]) -> set[str]:
    """The metrics any version of the relations tied: a relation updated or removed leaves
    rows to correct where it no longer reaches."""
    found: set[str] = set()
    for part in chunks(slugs):
        marks = ",".join("?" * len(part))
        rows = c.execute(
            f"SELECT DISTINCT metric FROM relation_metrics WHERE relation IN ({marks})",
            tuple(part),
        ).fetchall()
        found.update(row[0] for row in rows)
    return found


def figures_of(c: SqlCursor, metrics: Sequence[str]) -> tuple[dict[str, Figure], dict[str, str]]:
    """The metrics' current estimates as figures (those with one) and their units."""
    figures: dict[str, Figure] = {}
    units: dict[str, str] = {}
    for part in chunks(metrics):
        marks = ",".join("?" * len(part))
        rows: list[Any] = c.execute(
            f"SELECT id, unit, estimate FROM metrics WHERE id IN ({marks})", tuple(part)
        ).fetchall()
        for slug, unit, stored in rows:
            units[slug] = unit
            figure = figure_of(decode_summary(stored))
            if figure is not None:
                figures[slug] = figure
    return figures, units
