"""The PostgreSQL figures.

Needs a PostgreSQL server whose user may create databases, named by
CLAIMLEDGER_BENCH_POSTGRES_URL (`postgresql://user:pass@127.0.0.1:port/db`); every run
gets a fresh database of its own, dropped afterwards (tests/postgres_databases.py, as the
tests do).

- `part`: the `postgres` part of `python -m bench`. HTTP: per run and per target, a fresh
  store and a fresh `claimledger serve` on 127.0.0.1, driven by bench/http_load.py's
  closed-loop clients: `GET /healthz` at 32 clients (the baseline, same server, same
  run), then `POST /v1/claims` at 32. The targets: SQLite (`--workers 1`, projections in
  the API process, as `make run` deploys it: the cross-store baseline), and PostgreSQL
  with `--workers 1` and `--workers 4`, `CLAIMLEDGER_PROJECTIONS=worker` and one
  `claimledger worker` process (docs/deployment.md). CPU is measured per group of
  processes from /proc (`common`): the API processes (the uvicorn parent and its
  workers), the projection worker, the PostgreSQL server (the backends of the run's
  database and the server's background processes), the client (this process), and
  everything else.
- `catch_up`: N claims recorded through `Ledger.record_claims` into one database, which
  then serves as the template of a fresh database per run; each run reads and decodes
  every event (the baseline, after an untimed warm-up read), then times
  `runner.catch_up()` into the empty views. The same workload on SQLite files, in the
  same invocation, is the cross-store baseline.
- `scale` (`python -m bench.postgres.scale`): the same figures at growing store sizes.

The profiler of the POST path on PostgreSQL is bench/profiling/postgres.py.
"""
