"""The `claimledger` command line: serve, worker, keys, estimate, diff, rebuild, import, export."""

from __future__ import annotations

import base64
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from api import claim_files
from api.claim_files import write_claims, write_events
from api.demo import load_demo
from api.diff_printout import print_diff
from api.estimate_printout import print_estimate
from api.integrity_commands import after_verify, rebuild_views
from api.remote_verify import VerifyFailed, verify_remote
from api.services import Services, open_services
from api.settings import Settings
from api.times import parse_end, parse_known_at, parse_valid_at
from domain.errors import DomainError
from domain.estimates import METHODS
from domain.values import Role
from projections.log.signing import verify_head
from projections.reads.diffs import MetricDiffs
from projections.store import StoreUnavailable
from projections.verify import Divergence, verify_store

CLI_ACTOR = "cli"
console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)
app = typer.Typer(help="claimledger: a ledger of reported claims about contested figures.")
keys_app = typer.Typer(help="Issue, list and revoke API keys.")
app.add_typer(keys_app, name="keys")


class CliError(Exception):
    """One clear line for the user, then a non-zero exit."""


@contextmanager
def opened(catch_up: bool = True) -> Iterator[Services]:
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        raise CliError(
            f"bad setting CLAIMLEDGER_{str(first['loc'][0]).upper()}: {first['msg']}"
        ) from None
    try:
        services = open_services(settings)
    except (StoreUnavailable, ValueError) as error:
        raise CliError(str(error)) from None
    try:
        if catch_up:
            services.store.runner.catch_up()
        yield services
    finally:
        services.store.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes (SQLite: 1; PostgreSQL: any).")
    ] = 1,
    demo: Annotated[bool, typer.Option(help="Load the §7 seed into an empty store.")] = False,
) -> None:
    """Run the HTTP API (and, in its processes, the projections unless
    CLAIMLEDGER_PROJECTIONS=worker leaves them to `claimledger worker`)."""
    import uvicorn

    from api.app import create_app
    from api.http_protocol import connection_limits

    try:
        settings = Settings()
    except ValidationError as error:
        raise CliError(f"bad setting: {error.errors()[0]['msg']}") from None
    if workers != 1 and not settings.is_postgres:
        raise CliError(
            "several API workers need a shared store (CLAIMLEDGER_DATABASE_URL=postgresql://…); "
            "on the embedded SQLite store use --workers 1"
        )
    try:
        services = open_services(settings)
    except (StoreUnavailable, ValueError) as error:
        raise CliError(str(error)) from None

    def started(active: Services) -> None:
        if demo:
            loaded = load_demo(active.store.ledger)
            console.print(
                "Demo data loaded." if loaded else "Store not empty: demo data not loaded."
            )
        announce(active, host, port)

    if workers > 1:
        # The parent loads the demo and prints the key once; each API process then opens
        # the store itself (`create_app` as a factory).
        try:
            started(services)
            services.store.runner.catch_up()  # the seed is projected before any answer
        finally:
            services.store.close()
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            timeout_graceful_shutdown=5,
            access_log=False,
            **connection_limits(settings),
        )
        return
    uvicorn.run(
        create_app(services=services, on_started=started),
        host=host,
        port=port,
        log_level="info",
        timeout_graceful_shutdown=5,
        access_log=False,
        **connection_limits(settings),
    )
    services.store.close()


def announce(services: Services, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    console.print(f"[bold]claimledger[/] on {base}  (API docs: {base}/docs)")
    events, views = services.store.paths
    console.print(
        f"  events: {events}   views: {views}" if events != views else f"  store: {events}"
    )
    if services.settings.admin_key is not None:
        console.print("  admin key: the value of CLAIMLEDGER_ADMIN_KEY")
    elif services.store.queries.count_keys() == 0:
        issued = services.store.ledger.issue_key("bootstrap admin", Role.ADMIN, CLI_ACTOR)
        services.store.runner.catch_up()
        console.print(f"  admin key (shown once, keep it): [bold]{issued.secret}[/]")
    else:
        console.print(
            "  keys exist; issue another with: claimledger keys create --name N --role admin"
        )
    example = f"{base}/v1/metrics/dprk-in-russia/killed/estimate"
    console.print(f"  try: curl -H 'Authorization: Bearer <key>' {example}")


@app.command()
def worker(
    batch_size: Annotated[
        int, typer.Option(min=1, max=10000, help="Events per transaction.")
    ] = 500,
) -> None:
    """Run the projections alone, until interrupted. On PostgreSQL one worker is active at
    a time; others wait as hot standbys and take over when it stops or dies."""
    with opened(catch_up=False) as services:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        store = services.store
        runner = store.runner = type(store.runner)(store.ledger, store.views, batch_size=batch_size)
        runner.start()
        console.print(
            f"projecting (views at position {runner.position}; a standby until no other "
            "worker is active); Ctrl-C to stop"
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        runner.stop()


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what holds the key.")],
    role: Annotated[Role, typer.Option(help="reader, contributor, editor or admin.")],
) -> None:
    """Issue a key and print its secret once."""
    with opened() as services:
        issued = services.store.ledger.issue_key(name, role, CLI_ACTOR)
        services.store.runner.catch_up()
        console.print(f"id: {issued.key.id}")
        console.print(f"secret (shown once): {issued.secret}")


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    with opened() as services:
        table = Table("id", "name", "role", "created", "revoked")
        for row in services.store.queries.api_keys():
            table.add_row(
                row["id"], row["name"], row["role"], row["created_at"], row["revoked_at"] or ""
            )
        console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key."""
    try:
        stream = UUID(key_id)
    except ValueError:
        raise CliError(f"{key_id!r} is not a key id (a UUID)") from None
    with opened() as services:
        services.store.ledger.revoke_key(stream, None, CLI_ACTOR)
        services.store.runner.catch_up()
        console.print(f"revoked {key_id}")


@app.command()
def estimate(
    metric: Annotated[str, typer.Argument(help="Metric id, e.g. dprk-in-russia/killed.")],
    known_at: Annotated[str | None, typer.Option(help="RFC 3339 time or date.")] = None,
    valid_at: Annotated[str | None, typer.Option(help="Only claims as of this date.")] = None,
    method: Annotated[str, typer.Option(help=" or ".join(METHODS))] = "weighted-median",
    lines: Annotated[int, typer.Option(min=1, help="Explanation lines per page.")] = 100,
    every_line: Annotated[bool, typer.Option("--all", help="Print every page.")] = False,
) -> None:
    """Print a metric's estimate, now or as known at a moment, with its explanation."""
    if method not in METHODS:
        raise CliError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    try:
        cut_off = parse_known_at(known_at)
        valid = parse_valid_at(valid_at)
    except Exception as error:
        raise CliError(str(error)) from None
    with opened() as services:
        queries = services.store.queries
        print_estimate(console, queries, metric, method, cut_off, valid, lines, every_line)


@app.command()
def diff(
    metric: Annotated[str, typer.Argument(help="Metric id, e.g. dprk-in-russia/casualty-rate.")],
    from_: Annotated[str, typer.Option("--from", help="RFC 3339 time, date or @position.")],
    to: Annotated[
        str | None, typer.Option(help="RFC 3339 time, date or @position; default now.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Events per page.")] = 100,
    every_page: Annotated[bool, typer.Option("--all", help="Print every page.")] = False,
) -> None:
    """Print how a metric's estimate moved between two moments, event by event."""
    try:
        start, end = parse_end(from_, "from"), parse_end(to, "to")
    except Exception as error:
        raise CliError(str(error)) from None
    assert start is not None  # --from is required
    with opened() as services:
        diffs = MetricDiffs(services.store.queries, services.log)
        print_diff(console, diffs, metric, start, end, limit, every_page)


@app.command()
def rebuild() -> None:
    """Rebuild every projection from position 0 (stop the server first); never re-seals an
    edited event: exit 1 naming the first event that no longer hashes to its sealed leaf."""
    with opened(catch_up=False) as services:
        rebuild_views(services, console, errors)


@app.command()
def verify(
    url: Annotated[str | None, typer.Option(help="Check a server from its HTTP API only.")] = None,
    key: Annotated[
        str | None, typer.Option(help="A reader key for the audit feed (--url).")
    ] = None,
    state: Annotated[
        Path | None, typer.Option(help="Where --url keeps the last verified tree head.")
    ] = None,
) -> None:
    """Recompute every leaf, the root and every view; name the first divergence (exit 1)."""
    if url is not None:
        verify_remote(url, key, state, console)
        return
    with opened(catch_up=False) as services:
        store = services.store
        until = store.views.position()
        with Progress(console=errors, transient=True) as progress:
            task = progress.add_task("replaying every event", total=until or None)
            restart = partial(progress.reset, task, description="finding the first divergence")
            checked = verify_store(
                store.ledger, store.views, lambda n: progress.advance(task, n), restart
            )
        if isinstance(checked, Divergence):
            raise VerifyFailed(checked.message)
        head = services.signer.sign(checked.events, checked.root_hash)
        if not verify_head(base64.b64decode(services.signer.public_key_base64()), head):
            raise VerifyFailed("the signing key does not verify its own tree head")
        cleared = after_verify(services, head)  # VerifyFailed: the size was signed otherwise
        lag = store.ledger.max_position() - until
        console.print(
            f"verified {checked.events} events: every leaf, root {checked.root_hash}, "
            f"the signature (key {head.key_id}) and every view"
            + (f"; {lag} newer events are not projected yet" if lag > 0 else "")
        )
        if cleared is not None:
            console.print(f"cleared the write alarm: {cleared}")


@app.command("import")
def import_claims(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one claim per line.")],
    batch_size: Annotated[int, typer.Option(min=1, max=10000)] = 1000,
) -> None:
    """Record the claims of a JSON Lines file (as `export` writes them), batch by batch;
    run again (after a kill, or twice), it records only the claims not yet there."""
    if not file.is_file():
        raise CliError(f"{file}: no such file")
    try:
        claims = claim_files.read_claim_lines(file)
    except claim_files.BadFile as error:
        raise CliError(f"{error}; nothing imported") from None
    # The views are not needed to record; they are brought up to date afterwards, unless
    # CLAIMLEDGER_PROJECTIONS=worker leaves that to `claimledger worker`.
    with opened(catch_up=False) as services, Progress(console=console) as progress:
        task = progress.add_task("importing claims", total=len(claims))
        advance = partial(progress.advance, task)
        try:
            counts = claim_files.import_claim_lines(
                services.store.ledger, claims, batch_size, CLI_ACTOR, advance
            )
        except claim_files.BatchRefused as error:
            raise CliError(str(error)) from None
        if services.settings.projections == "api":
            services.store.runner.catch_up()
    console.print(f"imported {len(claims)} claims: {counts.new} new, {counts.there} already there")


@app.command()
def export(
    events: Annotated[bool, typer.Option("--events", help="Raw events instead of claims.")] = False,
) -> None:
    """Write claims (or every event) to standard output as JSON Lines."""
    with opened() as services:
        if events:
            export_events(services)
        else:
            write_claims(services.store.queries, sys.stdout)


def export_events(services: Services) -> None:
    total = services.store.ledger.max_position() or None
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("exporting events", total=total)
        write_events(services.store.ledger, sys.stdout, lambda n: progress.advance(task, n))


def main() -> None:
    try:
        app(standalone_mode=False)
    except CliError as error:
        errors.print(f"claimledger: {error}", highlight=False, markup=False, emoji=False)
        sys.exit(2)
    except VerifyFailed as error:
        errors.print(
            f"claimledger verify: FAILED: {error}", highlight=False, markup=False, emoji=False
        )
        sys.exit(1)
    except DomainError as error:
        errors.print(f"claimledger: {error}", highlight=False, markup=False, emoji=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as error:  # click usage errors and the unexpected: one line, no traceback
        code = getattr(error, "exit_code", None)
        if hasattr(error, "format_message") and isinstance(code, int):
            errors.print(
                f"claimledger: {error.format_message()}", highlight=False, markup=False, emoji=False
            )
            sys.exit(code)
        if type(error).__name__ == "Exit" and isinstance(code, int):
            sys.exit(code)
        errors.print(
            f"claimledger: {type(error).__name__}: {error}",
            highlight=False,
            markup=False,
            emoji=False,
        )
        sys.exit(1)
