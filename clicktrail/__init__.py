"""The `clicktrail` command: runs the services and administers an install."""
