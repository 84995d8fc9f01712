"""Connection-level limits: a half-sent request head is not held for ever, and a request
line past the server's size limit is answered as a problem."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.support import running_server

pytestmark = pytest.mark.e2e


def connect(base_url: str) -> socket.socket:
    url = urlsplit(base_url)
    return socket.create_connection((url.hostname, url.port), timeout=15)


def read_all(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def test_a_connection_that_sends_half_a_request_head_is_closed_by_the_server(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path, header_timeout="1") as server, connect(server.base_url) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
        assert read_all(conn) == b""  # closed (recv returned b""), not answered, within 15 s


def test_a_1_mb_query_string_is_a_400_problem(tmp_path: Path) -> None:
    with running_server(tmp_path) as server, connect(server.base_url) as conn:
        conn.sendall(b"GET /v1/claims?metric=" + b"x" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = read_all(conn)
        except ConnectionResetError:
            pytest.fail("the server reset the connection instead of answering")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body)["status"] == 400
