"""uvicorn's HTTP protocol (httptools) with two changes at the connection level, where no
ASGI middleware can reach:

- a request head must arrive whole within `CLAIMLEDGER_HEADER_TIMEOUT` seconds of its
  first byte (or of the connection opening): uvicorn arms its keep-alive timer only after
  a response, so a client that sends half a head and waits holds the connection for ever;
- a request the parser refuses (a malformed line, a head past httptools' size limit such as
  a 1 MB query string) is answered as an RFC 9457 problem, not uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from api.problems import PROBLEM_BASE, PROBLEM_TYPE
from api.settings import Settings


def connection_limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's options: this protocol, and how long an idle connection is kept."""
    return {"http": BoundedHeadProtocol, "timeout_keep_alive": settings.keep_alive_timeout}


@cache
def head_timeout() -> float:
    # Read here, once per process: with several workers uvicorn builds this class in each.
    return Settings().header_timeout


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self.head_timeout = head_timeout()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {
                "type": PROBLEM_BASE + "bad-request",
                "title": "Bad request",
                "status": 400,
                "detail": f"{msg} (a malformed request line or headers, or a request line "
                "or header past the server's size limit)",
            }
        ).encode()
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_TYPE.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self._cancel_head_timer()
        self.transport.write(b"".join(content))
        self.transport.close()
