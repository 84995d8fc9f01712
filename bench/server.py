"""A claimledger server in its own process, on 127.0.0.1, with a fresh SQLite store."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def claimledger_command() -> list[str]:
    """`claimledger` beside this interpreter (the venv's), else the module's entry point."""
    script = Path(sys.executable).with_name("claimledger")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import main; main()"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc (0.0 where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """`claimledger serve [--demo]` on a free port; a context manager that always stops it.

    By default the store is a new `ledger.db` in `workdir`, loaded with the demo seed;
    `database` serves an existing store instead (with `demo=False`, as it is);
    `database_url` any store by URL (PostgreSQL), with `workers` API processes and
    `extra_env` (e.g. CLAIMLEDGER_PROJECTIONS=worker) on top of the usual settings.
    """

    workdir: Path
    database: Path | None = None
    demo: bool = True
    database_url: str | None = None
    workers: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    admin_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_in: float = 0.0
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            CLAIMLEDGER_DATABASE_URL=self.database_url
            or f"sqlite:///{self.database or self.workdir / 'ledger.db'}",
            CLAIMLEDGER_ADMIN_KEY=self.admin_key,
            CLAIMLEDGER_PUBLIC_READS="false",
            **self.extra_env,
        )
        command = [*claimledger_command(), "serve", "--host", HOST]
        command += ["--demo"] if self.demo else []
        command += ["--workers", str(self.workers)] if self.workers != 1 else []
        command += ["--port", str(self.port)]
        self._log = self.log_path.open("wb")
        begun = time.perf_counter()
        self.process = subprocess.Popen(
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.perf_counter() - begun
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(base_url=self.base_url, trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the server exited with {self.process.returncode}:\n{self.tail()}"
                    )
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"the server did not answer /healthz in {START_TIMEOUT:g} s")

    def wait_caught_up(self, timeout: float = 120.0) -> tuple[float, int]:
        """Poll /readyz until the projections have caught up: (seconds waited, lag at start)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        begun = time.perf_counter()
        first_lag = -1
        with httpx.Client(base_url=self.base_url, trust_env=False, timeout=5.0) as client:
            while time.perf_counter() - begun < timeout:
                answer = client.get("/readyz", headers=headers)
                lag = int(answer.json().get("lag") or 0)
                if first_lag < 0:
                    first_lag = lag
                if answer.status_code == 200:
                    return time.perf_counter() - begun, first_lag
                time.sleep(0.02)
        raise RuntimeError(f"the projections did not catch up within {timeout:g} s")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop our server process (only it), politely first."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None
