"""Fault tests: real processes killed, disks filled, stores made read-only or edited by hand."""
