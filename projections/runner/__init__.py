"""The runner that keeps the views up to date: batches of stored events applied once each,
the subscription that wakes it, and the two-process catch-up that prepares batches."""
