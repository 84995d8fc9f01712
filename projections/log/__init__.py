"""The Merkle log, pure: canonical bytes, the leaf hash, the tree, compact ranges and
signed tree heads. No database access here."""
