"""Verification (§6), the one entry the rest of claimledger uses: `verify_store` (replay the
events into private views and compare them, and check the Merkle log), the sealed rebuild
check (`check_before_rebuild`), and the check of the events a command loads (`LoadCheck`).

The algorithms behind it: `replay` (what every check shares), `verification` (the whole
check), `verify_fast_path` with `append_only_check`, `claims_check` and `log_half` (the
checks in write order), `view_comparison`, `sealed_rebuild` and `load_check`.
"""

from projections.verify.load_check import LoadCheck
from projections.verify.replay import Divergence
from projections.verify.sealed_rebuild import SealedLog, check_before_rebuild
from projections.verify.verification import verify_store

__all__ = ["Divergence", "LoadCheck", "SealedLog", "check_before_rebuild", "verify_store"]
