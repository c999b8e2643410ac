"""The live feed: a workspace's new events, pushed to subscribers as they are committed."""
