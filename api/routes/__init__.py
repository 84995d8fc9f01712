"""One router per resource of the §5 table."""
