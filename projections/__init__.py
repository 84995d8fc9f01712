"""Read models kept from the ledger's events: views, the runner that feeds them, replay."""
