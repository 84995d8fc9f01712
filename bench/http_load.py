"""A closed-loop HTTP load generator: C keep-alive clients, each sending its next request
as soon as the previous answer is read, for a fixed time. Only ever to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import ssl
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.server import HOST, cpu_seconds, machine_busy_seconds
from bench.stats import percentile

try:  # the client is Python too: give it the fastest event loop available
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvicorn[standard] brings uvloop
    LOOP_FACTORY = None

# One request: (client, sequence number) -> awaitable response.
Send = Callable[[httpx.AsyncClient, int], Coroutine[Any, Any, httpx.Response]]


@dataclass(frozen=True)
class Phase:
    """What one timed phase sends, with how many clients, and what answer counts as success."""

    name: str
    send: Send
    clients: int
    expect: int = 200


@dataclass(frozen=True)
class PhaseResult:
    name: str
    clients: int
    seconds: float
    requests: int
    errors: int
    rate: float  # successful requests per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    client_cpu: float  # share of one core used by this (benchmark) process
    server_cpu: float  # share of one core used by the server process
    other_cpu: float  # cores busy with anything else on the machine meanwhile

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def get(path: str) -> Send:
    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(path)

    return send


def post_json(path: str, body: Callable[[int], Any]) -> Send:
    async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post(path, json=body(n))

    return send


async def _drive(
    clients: list[httpx.AsyncClient], phase: Phase, seconds: float, server_pid: int | None
) -> tuple[PhaseResult, list[str]]:
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    deadline = 0.0

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            n = next(counter)
            begun = time.perf_counter()
            try:
                answer = await phase.send(client, n)
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - begun
            if answer.status_code == phase.expect:
                latencies.append(elapsed)
            else:
                errors.append(f"HTTP {answer.status_code}: {answer.text[:200]}")

    server_before = cpu_seconds(server_pid) if server_pid else 0.0
    machine_before = machine_busy_seconds()
    client_before = time.process_time()
    begun = time.perf_counter()
    deadline = begun + seconds
    await asyncio.gather(*(worker(client) for client in clients))
    wall = time.perf_counter() - begun
    client_cpu = (time.process_time() - client_before) / wall
    server_cpu = (cpu_seconds(server_pid) - server_before) / wall if server_pid else 0.0
    machine_cpu = (machine_busy_seconds() - machine_before) / wall
    ordered = sorted(latencies)
    return PhaseResult(
        name=phase.name,
        clients=phase.clients,
        seconds=wall,
        requests=len(latencies) + len(errors),
        errors=len(errors),
        rate=len(latencies) / wall,
        p50_ms=percentile(ordered, 50) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
        max_ms=(ordered[-1] * 1000) if ordered else float("nan"),
        client_cpu=client_cpu,
        server_cpu=server_cpu,
        other_cpu=max(0.0, machine_cpu - client_cpu - server_cpu),
    ), errors[:5]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client (plain HTTP never uses it): httpx otherwise
    builds one per client, about 14 ms each here, 0.4 s before each 32-client phase."""
    return ssl.create_default_context()


def run_phase(
    base_url: str,
    headers: dict[str, str],
    phase: Phase,
    seconds: float,
    warmup: float,
    server_pid: int | None = None,
) -> tuple[PhaseResult, list[str]]:
    """Open the clients' connections and warm up (untimed), then drive the phase for `seconds`.

    Each of the C clients is its own `httpx.AsyncClient` with one keep-alive connection:
    one shared client with a pool of C connections spends so much of this process's CPU
    managing the pool (about 390 against 1,350 /healthz per second here, with the server
    15 % busy) that it measures httpx rather than the server.
    """
    if httpx.URL(base_url).host != HOST:
        raise ValueError(f"the benchmark only sends load to {HOST}, not {base_url}")

    async def main() -> tuple[PhaseResult, list[str]]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(
                        base_url=base_url,
                        headers=headers,
                        limits=limits,
                        timeout=httpx.Timeout(30.0),
                        trust_env=False,  # never through a proxy
                        verify=tls_context(),
                    )
                )
                for _ in range(phase.clients)
            ]
            if warmup > 0:
                await _drive(clients, phase, warmup, None)
            return await _drive(clients, phase, seconds, server_pid)

    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(main())


def run_phases(
    base_url: str,
    headers: dict[str, str],
    phases: Iterable[Callable[[], Phase]],
    seconds: float,
    warmup: float,
    server_pid: int | None,
    on_result: Callable[[PhaseResult], None],
) -> dict[str, dict[str, Any]]:
    """`run_phase` for each phase in turn, on one server: each phase's figures by its
    name. A failed request fails the benchmark (a fast error must not pass as a rate)."""
    figures: dict[str, dict[str, Any]] = {}
    for make in phases:
        result, errors = run_phase(base_url, headers, make(), seconds, warmup, server_pid)
        if errors:
            raise RuntimeError(f"{result.name}: {result.errors} failed requests: {errors}")
        figures[result.name] = result.as_dict()
        on_result(result)
    return figures


def progress_line(label: str, result: PhaseResult, width: int = 14) -> str:
    return (
        f"  {label} {result.name:<{width}} {result.rate:8.0f} req/s  "
        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
        f"cpu: client {result.client_cpu:4.0%} server {result.server_cpu:4.0%} "
        f"others {result.other_cpu:4.0%}"
    )


def announce(
    say: Callable[[str], None], label: str, width: int = 14
) -> Callable[[PhaseResult], None]:
    """`run_phases`' `on_result` that says each phase's progress line under `label`."""
    return lambda result: say(progress_line(label, result, width))


def get_each(path_of: Callable[[int], str]) -> Send:
    async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get(path_of(n))

    return send
