"""Read models kept from the ledger's events, by concern: `events` (what a stored event
becomes for the views), `storage` (schema, SQL dialects, the views databases), `writer`
(the view writer and what it keeps), `runner` (what feeds the writer), `log` (the Merkle
log, pure), `reads` (queries) and `verify` (the checks, through one entry). `store`
opens them all on one store: the composition root."""
