"""Code only the tests use: kept out of the production modules."""
