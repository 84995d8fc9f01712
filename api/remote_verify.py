"""`claimledger verify --url`: audit a server from its HTTP API alone, as an outsider would.

Checks the signed tree head, recomputes every leaf hash from the feed's fields, the root
from those leaves, that the log extends the head verified last time (kept in a state
file) both by recomputation and by the served consistency proof, one inclusion proof,
and that the served estimates equal a rebuild from the feed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
from eventsourcing.persistence import InfrastructureFactory
from rich.console import Console

from projections.events.feed_event import Applied
from projections.log.canonical import canonical_bytes
from projections.log.merkle import InMemoryTree, leaf_hash, verify_consistency, verify_inclusion
from projections.log.signing import TreeHead, verify_head
from projections.storage.ledger_views import SQLiteLedgerViews
from projections.storage.sqlite_factory import TOPIC as SQLITE_FACTORY

PAGE = 1000


class VerifyFailed(Exception):
    """The first divergence, named on one line; exit status 1."""


def default_state_path(url: str) -> Path:
    host = urlsplit(url).netloc.replace(":", "_") or "server"
    return Path.home() / ".claimledger" / f"verified-{host}.json"


def verify_remote(url: str, key: str | None, state_path: Path | None, console: Console) -> None:
    state_path = state_path or default_state_path(url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30) as client:
        public_key = fetch(client, "/v1/audit/public-key")
        raw_key = base64.b64decode(public_key["public_key"])
        if hashlib.sha256(raw_key).hexdigest()[:16] != public_key["key_id"]:
            raise VerifyFailed("the public key does not match its key_id")
        head = TreeHead(**fetch(client, "/v1/audit/tree-head"))
        if not verify_head(raw_key, head):
            raise VerifyFailed(f"the tree head of size {head.tree_size} has a bad signature")
        previous = load_state(state_path)
        if previous and previous["public_key"] != public_key["public_key"]:
            raise VerifyFailed("the server signs with another key than last time")
        if previous and previous["tree_size"] > head.tree_size:
            raise VerifyFailed(
                f"the log shrank from {previous['tree_size']} to {head.tree_size} leaves"
            )
        records, tree = read_feed(client, head.tree_size)
        if tree.root(head.tree_size).hex() != head.root_hash:
            raise VerifyFailed(
                f"the signed root of size {head.tree_size} is not the root of the served events"
            )
        if previous:
            check_extends(client, tree, previous, head)
        check_inclusion(client, head)
        check_estimates(client, records)
    save_state(state_path, public_key["public_key"], head)
    console.print(
        f"verified {url}: {head.tree_size} leaves, root {head.root_hash}, signed by "
        f"{head.key_id}"
        + (
            f"; extends the head of size {previous['tree_size']} verified before"
            if previous
            else ""
        )
        + f"; state in {state_path}",
        markup=False,  # the URL and the path are the user's text, not console markup
        emoji=False,
    )


def fetch(client: httpx.Client, path: str, **params: Any) -> Any:
    try:
        response = client.get(path, params=params)
    except httpx.HTTPError as error:
        raise VerifyFailed(f"cannot reach {client.base_url}{path}: {error}") from None
    if response.status_code != 200:
        raise VerifyFailed(f"{path} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def read_feed(client: httpx.Client, tree_size: int) -> tuple[list[Applied], InMemoryTree]:
    """Every event of the feed, each leaf hash recomputed from its fields."""
    tree = InMemoryTree()
    records: list[Applied] = []
    after: int | None = 0
    while after is not None:
        page = fetch(client, "/v1/audit/events", after=after, limit=PAGE)
        for event in page["events"]:
            where = (
                f"position {event['position']}, leaf index {event['leaf_index']}, "
                f"stream {event['stream']}, version {event['version']}"
            )
            if event["leaf_index"] != len(tree):
                raise VerifyFailed(f"{where}: expected leaf index {len(tree)}")
            record = Applied(
                position=event["position"],
                stream=event["stream"],
                version=event["version"],
                type=event["type"],
                recorded_at=event["recorded_at"],
                actor=event["actor"],
                data=event["data"],
            )
            leaf = leaf_hash(
                canonical_bytes(
                    record.stream,
                    record.version,
                    record.type,
                    record.recorded_at,
                    record.actor,
                    record.data,
                )
            )
            if leaf.hex() != event["leaf_hash"]:
                raise VerifyFailed(f"{where}: the event's fields do not hash to its leaf_hash")
            tree.append(leaf)
            records.append(record)
        after = page["next_after"]
    if len(tree) < tree_size:
        raise VerifyFailed(f"the feed has {len(tree)} events, the head claims {tree_size}")
    return records, tree


def check_extends(
    client: httpx.Client, tree: InMemoryTree, previous: dict[str, Any], head: TreeHead
) -> None:
    """Today's log keeps yesterday's leaves: recomputed, and by the served proof."""
    size, root = previous["tree_size"], previous["root_hash"]
    if tree.root(size).hex() != root:
        raise VerifyFailed(
            f"history rewritten: the first {size} leaves no longer give the root verified before"
        )
    proof = fetch(client, "/v1/audit/proofs/consistency", first=size, second=head.tree_size)
    path = [bytes.fromhex(h) for h in proof["consistency_path"]]
    if not verify_consistency(
        size, head.tree_size, bytes.fromhex(root), bytes.fromhex(head.root_hash), path
    ):
        raise VerifyFailed(
            f"the consistency proof from size {size} to {head.tree_size} does not verify"
        )


def check_inclusion(client: httpx.Client, head: TreeHead) -> None:
    if head.tree_size == 0:
        return
    index = head.tree_size - 1
    proof = fetch(client, "/v1/audit/proofs/inclusion", leaf_index=index, tree_size=head.tree_size)
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    if not verify_inclusion(
        index,
        head.tree_size,
        bytes.fromhex(proof["leaf_hash"]),
        path,
        bytes.fromhex(head.root_hash),
    ):
        raise VerifyFailed(f"the inclusion proof of leaf {index} does not verify")


def check_estimates(client: httpx.Client, records: list[Applied]) -> None:
    """The served current estimates equal those rebuilt from the served events."""
    if not records:
        return
    views = in_memory_views()
    for start in range(0, len(records), 500):
        views.apply_records(records[start : start + 500])
    position = records[-1].position
    rebuilt = {m["id"]: m["estimate"] for m in (views_metrics(views))}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        page = fetch(client, "/v1/metrics", **params)
        for metric in page["items"]:
            served = metric["estimate"]
            if served["position"] != position:
                continue  # the server moved on while we read; not comparable
            want = rebuilt.get(metric["id"])
            # A server from before open ends does not serve them: compare what it serves.
            got = {k: served[k] for k in COMPARED if k in served}
            if want is not None:
                want = {k: v for k, v in want.items() if k in got}
            if want is None or got != want:
                raise VerifyFailed(
                    f"view metrics, key id={metric['id']!r}: served estimate {got} differs "
                    f"from the rebuild {want}"
                )
        cursor = page["next_cursor"]
        if cursor is None:
            break
    views.datastore.close()


COMPARED = ("low", "best", "high", "low_open", "high_open", "included", "evidence")


def in_memory_views() -> SQLiteLedgerViews:
    name = f"file:remote-verify-{uuid4().hex}?mode=memory&cache=shared"
    factory = InfrastructureFactory.construct(
        env={"PERSISTENCE_MODULE": SQLITE_FACTORY, "SQLITE_DBNAME": name}
    )
    views = factory.tracking_recorder(SQLiteLedgerViews)
    assert isinstance(views, SQLiteLedgerViews)
    return views


def views_metrics(views: SQLiteLedgerViews) -> list[dict[str, Any]]:
    from projections.reads.queries import LedgerQueries

    result = []
    for metric in LedgerQueries(views).metrics(None, 10**9).items:
        summary = metric["estimate"]
        result.append(
            {
                "id": metric["id"],
                "estimate": {
                    "low": number(summary["low"]),
                    "best": number(summary["best"]),
                    "high": number(summary["high"]),
                    "included": summary["included"],
                    "evidence": summary["evidence"],
                    "low_open": summary["low_open"],
                    "high_open": summary["high_open"],
                },
            }
        )
    return result


def number(text: str | None) -> int | float | None:
    if text is None:
        return None
    value = float(text)
    return int(value) if value.is_integer() else value


def load_state(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise VerifyFailed(f"cannot read the state file {path}: {error}") from None
    return state


def save_state(path: Path, public_key: str, head: TreeHead) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "public_key": public_key,
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp": head.timestamp,
        "signature": head.signature,
    }
    path.write_text(json.dumps(state, indent=2) + "\n")
