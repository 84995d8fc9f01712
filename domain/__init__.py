"""The claimledger domain: values, aggregates, events, estimate methods and the ledger."""
