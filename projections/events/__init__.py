"""What a stored event becomes for the views: the feed event shape (`Applied`, `FeedEvent`)
and the reading of stored events into it."""
