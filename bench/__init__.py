"""Benchmarks of claimledger: `python -m bench [--quick]` (or `make bench`, `make bench-full`).

Every figure is measured over several runs and reported as a median, next to a baseline
measured in the same runs (interleaved with it), so that a slow or noisy machine shows as
a slow baseline rather than as a slow ledger. Results go to `bench/results/<time>.json`;
the figures and what limits them are written up in `docs/benchmarks.md`.

The parts: `http_bench`, `ingest_bench`, `read_bench`, `projection_bench`, `audit_bench`
and `postgres/` (each `run_*` is called by `__main__`), on the workloads of `workloads`
and the stores of `audit_store`; `http_load` is the closed-loop client, `server` a
`claimledger serve` subprocess, `report` the table. Outside `make bench`:
`postgres.scale`, `estimate_bench` and the profilers in `profiling/`.

Runs from the repository's root: fresh PostgreSQL databases come from
tests/postgres_databases.py, which the tests use too. The application never imports
bench; the tests import only its plumbing (tests/bench/), and never time anything.
"""
