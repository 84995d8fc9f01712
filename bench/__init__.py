"""Benchmarks of claimledger: `python -m bench [--quick]` (or `make bench`, `make bench-full`).

Every figure is measured over several runs and reported as a median, next to a baseline
measured in the same runs (interleaved with it), so that a slow or noisy machine shows as
a slow baseline rather than as a slow ledger. Results go to `bench/results/<time>.json`;
the figures and what limits them are written up in `docs/benchmarks.md`.

Nothing here is imported by the application or the tests; tests never time anything.
"""
