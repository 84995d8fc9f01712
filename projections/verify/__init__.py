"""Verification: replaying the events into private views and comparing them, and the checks
of the Merkle log, the signed heads and the events a command loads."""
