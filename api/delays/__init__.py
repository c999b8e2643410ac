"""Time to conversion: how long after their click events arrive, as a histogram."""
