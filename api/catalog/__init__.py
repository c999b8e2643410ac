"""Traffic sources, offers and campaigns."""
