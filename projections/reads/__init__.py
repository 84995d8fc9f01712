"""Reads from the views: queries behind the API, estimate pages, the audit log and its proofs,
idempotency records and the API keys as stored."""
