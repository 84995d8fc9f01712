"""The HTTP API, the CLI and settings: the edge of claimledger."""
