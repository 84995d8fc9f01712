"""§5 through HTTP: the live event stream resumes without gaps or repeats, carries any
text intact and needs a reader key.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.audit.client import (
    leaf_of,
    new_source,
    whole_feed,
)
from tests.e2e.support import LedgerServer

pytestmark = pytest.mark.e2e


def sse(response: httpx.Response) -> Iterator[dict[str, str]]:
    """LedgerServer-Sent Events, one dict of fields per event (comments and retry-only skipped)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if "data" in fields:
                yield fields
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data" and "data" in fields:
                value = fields["data"] + "\n" + value
            fields[name] = value


def take(events: Iterator[dict[str, str]], count: int) -> list[dict[str, str]]:
    return [next(events) for _ in range(count)]


def stream_client(server: LedgerServer) -> httpx.Client:
    client = server.client()
    client.timeout = httpx.Timeout(20.0, read=10.0)
    return client


def test_the_stream_resumes_after_last_event_id_without_gaps_or_repeats_and_shows_writes_live(
    server: LedgerServer, admin: httpx.Client
) -> None:
    feed = whole_feed(admin)
    first = 10
    with stream_client(server) as client:
        with client.stream("GET", "/v1/audit/events/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            opening = take(sse(response), first)
        # disconnected; reconnect as a browser would, with the last id seen
        resume = {"Last-Event-ID": opening[-1]["id"]}
        with client.stream("GET", "/v1/audit/events/stream", headers=resume) as response:
            events = sse(response)
            rest = take(events, len(feed) - first)
            slug, position = new_source(admin)
            [live] = take(events, 1)

    seen = opening + rest
    assert [int(e["id"]) for e in seen] == [e["position"] for e in feed]
    assert [json.loads(e["data"]) for e in seen] == feed
    assert [e["event"] for e in seen] == [e["type"] for e in feed]
    assert int(live["id"]) == position
    body = json.loads(live["data"])
    assert (body["type"], body["data"]["slug"]) == ("Source.Registered", slug)
    assert leaf_of(body) == body["leaf_hash"]


def test_the_stream_starts_after_the_larger_of_after_and_last_event_id(
    server: LedgerServer, admin: httpx.Client
) -> None:
    feed = whole_feed(admin)
    with stream_client(server) as client:
        with client.stream("GET", "/v1/audit/events/stream", params={"after": 5}) as response:
            [from_after] = take(sse(response), 1)
        with client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 5},
            headers={"Last-Event-ID": "8"},
        ) as response:
            [from_header] = take(sse(response), 1)
        with client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 12},
            headers={"Last-Event-ID": "3"},
        ) as response:
            [from_larger_after] = take(sse(response), 1)

    assert int(from_after["id"]) == feed[5]["position"]
    assert int(from_header["id"]) == feed[8]["position"]
    assert int(from_larger_after["id"]) == feed[12]["position"]


@pytest.mark.parametrize(
    "last_event_id",
    [b"\xb2", b"1\xb9", b"-3", b"3.5", b"abc", b""],
    ids=["superscript two", "one superscript one", "negative", "decimal", "letters", "empty"],
)
def test_a_last_event_id_that_is_not_a_position_is_ignored(
    server: LedgerServer, admin: httpx.Client, last_event_id: bytes
) -> None:
    feed = whole_feed(admin)
    with (
        stream_client(server) as client,
        client.stream(
            "GET",
            "/v1/audit/events/stream",
            params={"after": 2},
            headers={b"Last-Event-ID": last_event_id},
        ) as response,
    ):
        assert response.status_code == 200
        [first] = take(sse(response), 1)

    assert int(first["id"]) == feed[2]["position"]


def test_text_with_unicode_line_separators_reaches_a_stream_client_intact(
    server: LedgerServer, admin: httpx.Client
) -> None:
    slug = f"separators-{secrets.token_hex(3)}"
    name = "first\u2028second\u2029third\x85fourth"
    response = admin.post("/v1/sources", json={"id": slug, "name": name, "kind": "outlet"})
    assert response.status_code == 201, response.text
    position = int(response.headers["X-Ledger-Position"])
    [fed] = whole_feed(admin, min_position=position)[-1:]

    with (
        stream_client(server) as client,
        client.stream("GET", "/v1/audit/events/stream", params={"after": position - 1}) as stream,
    ):
        [streamed] = take(sse(stream), 1)

    body = json.loads(streamed["data"])
    assert body == fed
    assert body["data"]["name"] == name
    assert leaf_of(body) == fed["leaf_hash"]


def test_the_stream_needs_a_reader_key(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/audit/events/stream")

    assert response.status_code == 401


def test_the_server_keeps_serving_after_streams_are_dropped(
    server: LedgerServer, admin: httpx.Client
) -> None:
    for _ in range(5):
        with (
            stream_client(server) as client,
            client.stream("GET", "/v1/audit/events/stream") as response,
        ):
            take(sse(response), 2)

    assert admin.get("/healthz").status_code == 200
    assert admin.get("/v1/audit/events", params={"limit": 1}).status_code == 200
