"""The PostgreSQL benchmark's plumbing (no server, no timing): it refuses to run without
a server named, and its table is built from a run's figures."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bench import __main__ as bench_main
from bench.postgres import part

# The benchmarks' own plumbing: no clock, no server, no file.
pytestmark = [pytest.mark.bench, pytest.mark.unit]

# The benchmarks' own plumbing: no clock, no server, no file.
pytestmark = [pytest.mark.bench, pytest.mark.unit]


def phase(rate: float, cpu: float) -> dict[str, Any]:
    return {
        "rate": rate,
        "p50_ms": 1000 * 32 / rate,
        "p99_ms": 3000 * 32 / rate,
        "cores": {"api": cpu, "client": 0.5, "other": 0.1},
        "cpu_ms_per_request": {"api": 1000 * cpu / rate, "client": 0.3, "other": 0.1},
    }


def fake_result() -> dict[str, Any]:
    run = {
        target: {
            "phases": {"healthz@32": phase(1500, 0.4), "post_claim@32": phase(400 * w, 0.8)},
            "post_projection_lag_events": 0,
            "post_projection_drain_s": 0.02,
        }
        for target, w in (("sqlite-w1", 1), ("postgres-w1", 1), ("postgres-w4", 2))
    }
    catch_up = {"catch_up_rate": 3000.0, "decode_rate": 60000.0}
    return {
        "server_settings": [{"name": "fsync", "setting": "on"}],
        "http_runs": [run, run],
        "catch_up": {
            "claims": 1000,
            "metrics": 20,
            "record_rate": 2000.0,
            "sqlite_record_rate": 8000.0,
            "postgres_runs": [catch_up, catch_up],
            "sqlite_runs": [catch_up, catch_up],
        },
    }


def test_rows_and_context_from_a_result() -> None:
    rows = part.postgres_rows(fake_result())
    assert all(math.isfinite(r.ratio) for r in rows)
    four = next(r for r in rows if r.baseline == "the same with 1 API process, same run")
    assert four.ratio == pytest.approx(2.0)
    assert any("fsync=on" in line for line in part.postgres_context(fake_result()))


def test_asking_for_postgres_without_a_server_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(part.URL_VARIABLE, raising=False)
    with pytest.raises(SystemExit) as stopped:
        bench_main.main(["--only", "postgres", "--no-save"])
    assert stopped.value.code == 2
    assert part.URL_VARIABLE in capsys.readouterr().err
