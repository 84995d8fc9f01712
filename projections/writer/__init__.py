"""The view writer: one handler per event type, the rows it gathers, the claim state it keeps,
the estimates it updates and the feed log it appends."""
