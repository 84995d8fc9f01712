"""Profilers, outside `make bench`: where the time goes, sampled with py-spy.

`python -m bench.profiling.http` (a server under load) and `python -m bench.profiling.verify`
(`claimledger verify` on a store). They print where the samples fall; they measure no figure.
"""
