"""Cost updates through GraphQL: requested by a mutation, read back as a connection."""
